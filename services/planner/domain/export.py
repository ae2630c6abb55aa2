"""Reading a supervision-item catalogue exported from 互联网+监管 (a CSV or JSON file).

The export is the province's list of 监管事项 (事项编码, 事项名称, 实施部门, 检查类别/方式,
设定依据). Its column names and code lists differ between provinces, so they come from an
`ExportMapping` (export_mapping.py: the default, or a province's mapping file); nothing here
knows a column name.

Every bad row is reported at once, each with file, line, field and reason (English and
Chinese): an export with one bad row is refused whole, so a half-read catalogue never becomes a
proposed rule change. CSV is read as UTF-8 or, failing that, as GB18030 (what many government
systems export), a byte-order mark allowed in either; the line is the physical line in the
file, so a quoted field that spans lines still points at the row's first line.
"""

from __future__ import annotations

import csv
import io
import json
import json.decoder
import json.scanner
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from contracts.rules import CODE_PATTERN, ItemKind, Method
from services.kit.errors import Invalid
from services.kit.located_json import load_with_lines
from services.planner.domain.export_mapping import (
    DEFAULT_MAPPING,
    FIELD_ZH,
    FIELDS,
    REQUIRED,
    ExportMapping,
)

Format = Literal["csv", "json"]
# U+FEFF as GB18030 writes it: some exports start with it as UTF-8 ones start with EF BB BF.
GB18030_BOM = b"\x84\x31\x95\x33"
MAX_ROWS = 20_000
_CODE = re.compile(CODE_PATTERN)
_SPLIT = re.compile(r"[、，,；;/|\s]+")


@dataclass(frozen=True)
class ExportedItem:
    """One supervision item of the export, its department resolved to a rule-set code."""

    line: int
    code: str
    name: str
    department: str
    legal_basis: str
    kind: ItemKind | None = None
    methods: tuple[Method, ...] = ()


@dataclass(frozen=True)
class ExportError:
    """One reason an export is refused: file, line (1-based), field and reason."""

    file: str
    line: int
    field: str
    reason: str
    reason_zh: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"

    def as_dict(self) -> dict[str, str | int]:
        """The error as a JSON-able detail (the one error shape's `details`)."""
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "reason": f"{self.field}: {self.reason}",
            "reason_zh": self.reason_zh,
        }


class ExportInvalid(Invalid):
    """The export was refused; `errors` holds every reason."""

    def __init__(self, errors: list[ExportError]) -> None:
        super().__init__(
            f"catalogue export refused: {len(errors)} error(s); first: {errors[0]}",
            code="catalogue_invalid",
            details=[e.as_dict() for e in errors],
        )
        self.errors = errors


def detect_format(name: str, data: bytes) -> Format:
    """`json` for a `.json` name or a body starting with `[`/`{`, else `csv`."""
    if name.lower().endswith(".json"):
        return "json"
    head = data.removeprefix(GB18030_BOM).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" if head in (b"[", b"{") else "csv"


def decode(data: bytes) -> tuple[str, str]:
    """The text and its encoding: UTF-8 when it is valid UTF-8, else GB18030 (either's BOM
    dropped, or it would glue onto the first column's name)."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.removeprefix(GB18030_BOM).decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ExportInvalid(
            [
                ExportError(
                    "",
                    line,
                    "encoding",
                    "neither UTF-8 nor GB18030",
                    "文件编码既不是 UTF-8 也不是 GB18030",
                )
            ]
        ) from None


def read_export(
    data: bytes,
    *,
    name: str,
    departments: Mapping[str, str],
    mapping: ExportMapping = DEFAULT_MAPPING,
    fmt: Format | None = None,
) -> tuple[list[ExportedItem], str]:
    """Every item of an export and the encoding it was read in; `ExportInvalid` with every bad
    row. `departments`: the rule set's department codes → names (实施部门 may be either)."""
    fmt = fmt or detect_format(name, data)
    try:
        text, encoding = decode(data)
    except ExportInvalid as exc:
        raise ExportInvalid([_named(e, name) for e in exc.errors]) from None
    rows = _csv_rows(text, name, mapping) if fmt == "csv" else _json_rows(text, name, mapping)
    items, errors = _items(rows, name, departments, mapping)
    if errors:
        raise ExportInvalid(errors)
    return items, encoding


def _named(e: ExportError, name: str) -> ExportError:
    return ExportError(name, e.line, e.field, e.reason, e.reason_zh)


Row = tuple[int, dict[str, Any]]


def _csv_rows(text: str, name: str, mapping: ExportMapping) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ExportInvalid(
            [ExportError(name, 1, "header", str(exc), f"表头无法读取：{exc}")]
        ) from None
    if header is None:
        raise ExportInvalid([ExportError(name, 1, "header", "the file is empty", "文件为空")])
    header = [h.strip() for h in header]
    missing = [f for f in REQUIRED if mapping.fields[f] not in header]
    if missing:
        raise ExportInvalid(
            [
                ExportError(
                    name,
                    1,
                    mapping.fields[f],
                    f"the header has no column {mapping.fields[f]!r}",
                    f"表头缺少“{mapping.fields[f]}”列",
                )
                for f in missing
            ]
        )
    rows: list[Row] = []
    line = reader.line_num + 1
    try:
        for values in reader:
            if any(v.strip() for v in values):
                rows.append((line, dict(zip(header, values, strict=False))))
            line = reader.line_num + 1
            if len(rows) > MAX_ROWS:
                raise ExportInvalid(
                    [ExportError(name, line, "rows", f"more than {MAX_ROWS} rows", "行数过多")]
                )
    except csv.Error as exc:
        raise ExportInvalid(
            [ExportError(name, line, "row", f"not valid CSV: {exc}", f"不是有效的 CSV：{exc}")]
        ) from None
    return rows


def _json_rows(text: str, name: str, mapping: ExportMapping) -> list[Row]:
    try:
        data, lines = load_with_lines(text)
    except json.JSONDecodeError as exc:
        raise ExportInvalid(
            [ExportError(name, exc.lineno, "json", exc.msg, f"不是有效的 JSON：{exc.msg}")]
        ) from None
    records = data
    if isinstance(data, dict):
        key = next((k for k in mapping.records if isinstance(data.get(k), list)), None)
        records = data[key] if key is not None else None
    if not isinstance(records, list):
        raise ExportInvalid(
            [
                ExportError(
                    name,
                    1,
                    "json",
                    f"expected a list of items (or an object with one of {list(mapping.records)})",
                    "应为事项的列表（或含事项列表的对象）",
                )
            ]
        )
    rows: list[Row] = []
    errors: list[ExportError] = []
    for record in records[: MAX_ROWS + 1]:
        line = lines.get(id(record), 1)
        if not isinstance(record, dict):
            errors.append(ExportError(name, line, "item", "not an object", "每个事项应是一个对象"))
            continue
        rows.append((line, record))
    if len(records) > MAX_ROWS:
        errors.append(ExportError(name, 1, "rows", f"more than {MAX_ROWS} items", "事项过多"))
    if errors:
        raise ExportInvalid(errors)
    return rows


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):  # JSON may list several methods: one word each
        return "、".join(_clean(v) for v in value)
    text = str(value) if not isinstance(value, str) else value
    return unicodedata.normalize("NFC", text).strip()


def _control(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def _items(
    rows: list[Row], name: str, departments: Mapping[str, str], mapping: ExportMapping
) -> tuple[list[ExportedItem], list[ExportError]]:
    by_name = {**{n: c for c, n in departments.items()}, **mapping.departments}
    seen: dict[str, int] = {}
    items: list[ExportedItem] = []
    errors: list[ExportError] = []
    for line, record in rows:
        values = {f: _clean(record.get(mapping.fields[f])) for f in FIELDS}
        bad = len(errors)

        def refuse(f: str, reason: str, zh: str, line: int = line) -> None:
            errors.append(ExportError(name, line, mapping.fields[f], reason, zh))

        for f in REQUIRED:
            if not values[f]:
                refuse(f, "empty", f"{FIELD_ZH[f]}为空")
        for f in FIELDS:
            if _control(values[f]):
                refuse(f, "contains a control character", f"{FIELD_ZH[f]}含有控制字符")
        code = values["code"]
        if code and not (_CODE.match(code) and len(code) <= 64):
            refuse(
                "code",
                f"{code!r} is not a code (ASCII letters, digits and . _ : -, at most 64)",
                f"事项编码“{code}”只能由字母、数字和 . _ : - 组成（不超过64个字符）",
            )
        elif code in seen:
            refuse(
                "code",
                f"{code!r} is listed twice (first on line {seen[code]})",
                f"事项编码“{code}”重复（第 {seen[code]} 行已有）",
            )
        if code:
            seen.setdefault(code, line)
        dept = values["department"]
        dept_code = by_name.get(dept, dept if dept in departments else None)
        if dept and dept_code is None:
            refuse(
                "department",
                f"unknown department {dept!r} (the rule set has {sorted(departments)})",
                f"实施部门“{dept}”不是规则集中的部门（{'、'.join(departments.values())}）",
            )
        kind = None
        if values["kind"]:
            kind = mapping.kinds.get(values["kind"])
            if kind is None and values["kind"] in ("general", "priority"):
                kind = ItemKind(values["kind"])
            if kind is None:
                refuse(
                    "kind",
                    f"unknown kind {values['kind']!r} (known: {sorted(mapping.kinds)})",
                    f"检查类别“{values['kind']}”无法识别（可写：{'、'.join(mapping.kinds)}）",
                )
        methods: list[Method] = []
        for word in filter(None, _SPLIT.split(values["methods"])):
            method = mapping.methods.get(word)
            if method is None and word in {m.value for m in Method}:
                method = Method(word)
            if method is None:
                refuse(
                    "methods",
                    f"unknown method {word!r} (known: {sorted(mapping.methods)})",
                    f"检查方式“{word}”无法识别（可写：{'、'.join(mapping.methods)}）",
                )
            elif method not in methods:
                methods.append(method)
        if len(errors) == bad and dept_code is not None:
            items.append(
                ExportedItem(
                    line=line,
                    code=code,
                    name=values["name"],
                    department=dept_code,
                    legal_basis=values["legal_basis"],
                    kind=kind,
                    methods=tuple(methods),
                )
            )
    if not rows:
        errors.append(ExportError(name, 1, "rows", "the export has no items", "导出文件中没有事项"))
    return items, errors
