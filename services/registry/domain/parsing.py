"""Streaming readers for bulk files: CSV (UTF-8 with or without BOM, GB18030) and JSON Lines.

The readers take an open text stream and yield one item per record, so a file of any size is
read in constant memory. Each item carries the line number where its record starts, so that a
rejects file can point at it. Opening the file and choosing its encoding is the caller's job:
`detect_encoding` looks at the first bytes only.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final, TextIO

from services.registry.domain.rows import HEADER_ALIASES, FieldError

SAMPLE_BYTES: Final = 1 << 16
LIST_FIELDS: Final = frozenset(
    {"tags", "key_supervision", "region_codes", "expertise", "recusal_usccs"}
)


class FileProblem(Exception):
    """The file as a whole cannot be read (bad header, unknown encoding); nothing is imported."""

    def __init__(self, zh: str, en: str) -> None:
        # both texts in args, so that the error survives pickling out of a worker process
        super().__init__(zh, en)
        self.zh = zh
        self.en = en

    def __str__(self) -> str:
        return self.en


@dataclass(frozen=True, slots=True)
class RawRow:
    """One record's values in field order, and where it starts in the file."""

    line: int
    values: list[Any]


@dataclass(frozen=True, slots=True)
class BadRow:
    """A record that could not even be split into fields."""

    line: int
    errors: list[FieldError]
    raw: str


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file from its first bytes: "utf-8-sig", "utf-8" or "gb18030".

    A UTF-8 byte-order mark decides at once. Otherwise the sample must decode as UTF-8 (a
    character cut at the end of the sample is allowed); Chinese Excel writes CSV in GB18030
    (a superset of GBK/GB2312), whose Chinese text is almost never valid UTF-8.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def map_header(header: list[str], fields: tuple[str, ...], required: frozenset[str]) -> list[int]:
    """Positions in a row of each of `fields` (-1 when absent), from a file's header row.

    Headers may be the field names or their Chinese aliases. An unknown, repeated or missing
    required column refuses the whole file: a typo in a header would otherwise silently drop
    a column for millions of rows.
    """
    positions = {}
    for i, raw in enumerate(header):
        name = raw.strip().lstrip("\ufeff")
        key = HEADER_ALIASES.get(name, name)
        if key not in fields:
            raise FileProblem(f"未知列“{name}”", f"unknown column {name!r}")
        if key in positions:
            raise FileProblem(f"列“{name}”重复", f"column {name!r} appears twice")
        positions[key] = i
    missing = sorted(required - positions.keys())
    if missing:
        raise FileProblem(
            f"缺少必需列：{'、'.join(missing)}", f"missing columns: {', '.join(missing)}"
        )
    return [positions.get(f, -1) for f in fields]


def read_csv(
    stream: TextIO, fields: tuple[str, ...], required: frozenset[str]
) -> Iterator[RawRow | BadRow]:
    """Records of a CSV file with a header row; `stream` must be opened with newline=""."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise FileProblem("文件为空", "the file is empty") from None
    positions = map_header(header, fields, required)
    width = len(header)
    # Columns already in field order (as the generator and most exports write them): the
    # parsed row is used as it is, without a copy per row.
    identity = positions == list(range(len(fields)))
    last = reader.line_num
    for row in reader:
        start = last + 1
        last = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != width:
            yield BadRow(
                start,
                [
                    FieldError(
                        "_row",
                        f"列数为{len(row)}，表头为{width}列",
                        f"{len(row)} fields, the header has {width}",
                    )
                ],
                ",".join(row),
            )
            continue
        yield RawRow(start, row if identity else [row[p] if p >= 0 else "" for p in positions])


def read_jsonl(lines: Iterable[str], fields: tuple[str, ...]) -> Iterator[RawRow | BadRow]:
    """Records of a JSON Lines file: one object per line, keys are field names or aliases."""
    known = frozenset(fields)
    for number, line in enumerate(lines, start=1):
        text = line.strip().lstrip("\ufeff")
        if not text:
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield BadRow(
                number,
                [FieldError("_row", f"不是有效的JSON：{exc}", f"not valid JSON: {exc}")],
                text,
            )
            continue
        if not isinstance(obj, dict):
            yield BadRow(
                number,
                [FieldError("_row", "每行应为一个JSON对象", "each line must be a JSON object")],
                text,
            )
            continue
        record: dict[str, Any] = {}
        errors: list[FieldError] = []
        for key, value in obj.items():
            name = HEADER_ALIASES.get(key, key)
            if name not in known:
                errors.append(FieldError(str(key), "未知字段", "unknown field"))
            elif name in LIST_FIELDS and value is not None and not isinstance(value, list | str):
                errors.append(FieldError(name, "应为列表或字符串", "must be a list or a string"))
            elif name not in LIST_FIELDS and isinstance(value, list | dict):
                errors.append(FieldError(name, "应为单个值", "must be a single value"))
            else:
                record[name] = value
        if errors:
            yield BadRow(number, errors, text)
            continue
        yield RawRow(number, [record.get(f) for f in fields])


def duplicate_groups(pairs: Iterable[tuple[str, int]]) -> Iterator[tuple[str, list[int]]]:
    """Keys that occur more than once, with all their line numbers.

    `pairs` must be sorted by key (as `ORDER BY uscc` delivers them from the staging table), so
    this runs in constant memory however large the file is.
    """
    current: str | None = None
    lines: list[int] = []
    for key, line in pairs:
        if key != current:
            if len(lines) > 1 and current is not None:
                yield current, lines
            current, lines = key, [line]
        else:
            lines.append(line)
    if len(lines) > 1 and current is not None:
        yield current, lines


def reject_entry(line: int, errors: list[FieldError], raw: Any = None) -> dict[str, Any]:
    """A rejects-file entry: where (the file line), which fields, why (中文 and English), and
    the row as read when there is one."""
    entry: dict[str, Any] = {"line": line, "errors": [e.as_dict() for e in errors]}
    if raw is not None:
        entry["raw"] = raw
    return entry


def duplicate_error(key_field: str, key: str, lines: list[int]) -> FieldError:
    """The reason given to every row of a duplicated key: none of them is applied."""
    shown = ", ".join(str(n) for n in lines[:20]) + (" …" if len(lines) > 20 else "")
    return FieldError(
        key_field,
        f"“{key}”在文件中出现多次（第{shown}行），均未导入",
        f"{key!r} occurs more than once in the file (lines {shown}); none was imported",
    )
