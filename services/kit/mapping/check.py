"""Reading and checking mapping files: every error names file, line and reason, at once.

`load_mappings(files, vocabulary)` takes the files' bytes by name (reading the folder is the
caller's I/O) and returns the checked mappings by platform id, or raises `MappingInvalid`
carrying every error. A refused folder changes nothing: the caller keeps what it had.

Checked, beyond the shape of `model.py`: each record kind and each `from` is in the
vocabulary; a field has exactly one of `from` and `value`; a code list a field names exists;
a closed code list (check types, result categories) maps exactly the vocabulary's codes — a
code it does not know is a wrong value, a code it leaves out is a missing item; a date format
goes only on a date field and writes a date; HTTP transports have a URL, a file drop a folder,
a bearer token a source and a client certificate its file; a record maps the fields the
vocabulary requires of it; an inbound code list writes each code differently (it is read
back); `discloses` goes only on a platform sent results; a platform id has at most one file
each way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from services.kit.errors import Invalid
from services.kit.mapping.model import Direction, PlatformMapping
from services.kit.yamlpos import Located, Path, YamlError, load

Report = Callable[[Path, str, str], None]


@dataclass(frozen=True)
class Vocabulary:
    """What the using service offers: spotcheck's fields per record kind, and its codes."""

    records: Mapping[str, frozenset[str]]
    """Record kind → the fields a mapping may take values `from` (or fill, inbound)."""
    closed_codes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Code list → every spotcheck code: a mapping must translate exactly these."""
    open_codes: frozenset[str] = frozenset()
    """Code lists whose codes are the province's own (department codes): any keys."""
    dates: frozenset[str] = frozenset()
    """Fields holding a date or a time (ISO text), which a `date:` format may reformat."""
    required: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Record kind → the fields a mapping of it must map (what an inbound record cannot do
    without: a receipt's plan, ack id and date)."""


@dataclass(frozen=True)
class MappingError:
    """One reason a mapping file is refused, in English and in Chinese."""

    file: str
    line: int
    reason: str
    reason_zh: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"

    def as_dict(self) -> dict[str, str | int]:
        """The error as a JSON-able detail."""
        return {
            "file": self.file,
            "line": self.line,
            "reason": self.reason,
            "reason_zh": self.reason_zh,
        }


class MappingInvalid(Invalid):
    """Mapping files failed their check; `errors` holds every reason."""

    def __init__(self, errors: list[MappingError]) -> None:
        super().__init__(
            f"mapping refused: {len(errors)} error(s); first: {errors[0]}",
            code="mapping_invalid",
            details=[e.as_dict() for e in errors],
        )
        self.errors = errors


@dataclass(frozen=True)
class LoadedMapping:
    """A checked mapping with the file it came from and that file's SHA-256 (for audit)."""

    mapping: PlatformMapping
    file: str
    sha256: str


def load_mappings(
    files: Mapping[str, bytes], vocabulary: Vocabulary, *, direction: Direction | None = None
) -> dict[str, LoadedMapping]:
    """Check every file; the mappings by platform id, or `MappingInvalid` with every error.

    With `direction`, only the files of that direction are checked against `vocabulary` and
    returned: one folder may hold the publisher's outbound mappings and another service's
    inbound ones, each checked by the service that uses it (the others' shape is still
    checked). Inbound files are read by the service whose vocabulary has their record kinds
    (the planner the catalogue's, the publisher the 监督平台's receipts): an inbound file none
    of whose kinds the vocabulary knows is left to the other service. A platform id has at
    most one file per direction."""
    errors: list[MappingError] = []
    out: dict[str, LoadedMapping] = {}
    seen: dict[tuple[str, str], str] = {}
    for name in sorted(files):
        try:
            loaded = load_mapping(name, files[name], vocabulary, direction=direction)
        except MappingInvalid as exc:
            errors.extend(exc.errors)
            continue
        pid = loaded.mapping.platform
        # A platform has at most one file each way (the 监督平台: what it is sent, and its
        # receipts coming back).
        first = seen.get((pid, loaded.mapping.direction))
        if first is not None:
            errors.append(
                MappingError(
                    name,
                    1,
                    f"platform {pid!r} is already mapped by {first}",
                    f"平台 {pid} 已在 {first} 中配置，不能重复",
                )
            )
            continue
        seen[(pid, loaded.mapping.direction)] = name
        if direction is None or (
            loaded.mapping.direction == direction and _reads_for(loaded.mapping, vocabulary)
        ):
            out[pid] = loaded
    if errors:
        raise MappingInvalid(errors)
    return out


def load_mapping(
    file: str, content: bytes, vocabulary: Vocabulary, *, direction: Direction | None = None
) -> LoadedMapping:
    """Check one mapping file (UTF-8 YAML); the mapping, or `MappingInvalid`. A mapping of
    another `direction` than the one given is checked for its shape only."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MappingInvalid(
            [MappingError(file, 1, f"not UTF-8 text: {exc}", "文件须用 UTF-8 编码保存")]
        ) from None
    try:
        located = load(text)
    except YamlError as exc:
        raise MappingInvalid([MappingError(file, exc.line, exc.message, exc.message_zh)]) from None
    if not isinstance(located.data, dict):
        raise MappingInvalid(
            [
                MappingError(
                    file, 1, "a mapping file is a YAML mapping", "映射文件须是“字段: 值”的映射"
                )
            ]
        )
    try:
        mapping = PlatformMapping.model_validate(located.data)
    except ValidationError as exc:
        raise MappingInvalid([_shape_error(file, located, e) for e in exc.errors()]) from None
    if direction is not None and (
        mapping.direction != direction or not _reads_for(mapping, vocabulary)
    ):
        return LoadedMapping(mapping, file, hashlib.sha256(content).hexdigest())
    errors = _meaning_errors(mapping, vocabulary, file, located)
    if errors:
        raise MappingInvalid(errors)
    return LoadedMapping(mapping, file, hashlib.sha256(content).hexdigest())


def _reads_for(mapping: PlatformMapping, vocabulary: Vocabulary) -> bool:
    # Outbound files are all the publisher's; an inbound one belongs to whoever reads its kinds.
    return mapping.direction == "outbound" or any(k in vocabulary.records for k in mapping.records)


def claimed(mapping: PlatformMapping, vocabularies: Sequence[Vocabulary]) -> bool:
    """Whether some service's vocabulary reads this mapping (`spotcheck platforms check`
    refuses an inbound file nobody reads: a misspelt record kind would otherwise be ignored)."""
    return any(_reads_for(mapping, v) for v in vocabularies)


def _shape_error(file: str, located: Located, err: Any) -> MappingError:
    loc: Path = tuple(err["loc"])
    where = ".".join(str(p) for p in loc) or "(file)"
    kind = err["type"]
    if kind == "extra_forbidden":
        return MappingError(
            file, located.line_of(loc), f"unknown field {where}", f"未知字段 {where}（拼写有误？）"
        )
    if kind == "missing":
        return MappingError(
            file, located.line_of(loc), f"missing required item {where}", f"缺少必填项 {where}"
        )
    zh = {
        "literal_error": "取值不在允许的范围内",
        "string_type": "须是文本",
        "string_too_short": "不能为空",
        "too_short": "不能为空",
        "string_pattern_mismatch": "格式不对（小写字母开头，只含小写字母、数字、- 和 _）",
        "bool_type": "须是 true 或 false",
        "dict_type": "须是“字段: 值”的映射",
        "model_type": "须是“字段: 值”的映射",
        "list_type": "须是列表（每项以“- ”开头）",
    }.get(kind, err["msg"])
    return MappingError(file, located.line_of(loc), f"{where}: {err['msg']}", f"{where}：{zh}")


def _meaning_errors(
    m: PlatformMapping, vocab: Vocabulary, file: str, located: Located
) -> list[MappingError]:
    errors: list[MappingError] = []

    def err(path: Path, reason: str, reason_zh: str) -> None:
        errors.append(MappingError(file, located.line_of(path), reason, reason_zh))

    if m.direction == "outbound" and m.transport is None:
        err(("transport",), "missing required item transport", "缺少必填项 transport（如何送达）")
    if m.transport is not None:
        _check_transport(m, err)
    if m.discloses and (m.direction != "outbound" or "result" not in m.records):
        err(
            ("discloses",),
            "discloses: only a platform sent results discloses them",
            "discloses 只用于接收检查结果的平台（公示系统、执法服务网）",
        )
    _check_auth(m, err)
    _check_date_format(m.dates, ("dates",), err)
    for list_name, codes in m.codes.items():
        if m.direction == "inbound":
            # Read back, a word several codes share names none of them.
            by_word: dict[str, list[str]] = {}
            for code, word in codes.items():
                by_word.setdefault(word, []).append(code)
            for word, shared in by_word.items():
                if len(shared) > 1:
                    err(
                        ("codes", list_name, shared[-1]),
                        f"code list {list_name}: {word!r} stands for {', '.join(shared)}"
                        " (read back, it must name one code)",
                        f"代码表 {list_name}：“{word}”同时对应 {'、'.join(shared)}，读回时无法区分",
                    )
        if list_name in vocab.open_codes:
            continue
        known = vocab.closed_codes.get(list_name)
        if known is None:
            err(("codes", list_name), f"unknown code list {list_name}", f"未知代码表 {list_name}")
            continue
        for code in codes:
            if code not in known:
                err(
                    ("codes", list_name, code),
                    f"wrong code list value: {code!r} is not a code of {list_name}"
                    f" (one of {', '.join(sorted(known))})",
                    f"代码表 {list_name} 中没有代码 {code}（可用：{'、'.join(sorted(known))}）",
                )
        for code in sorted(known - set(codes)):
            err(
                ("codes", list_name),
                f"missing required item: code list {list_name} does not map {code!r}",
                f"代码表 {list_name} 缺少代码 {code} 的对应值",
            )
    for kind, record in m.records.items():
        fields = vocab.records.get(kind)
        if fields is None:
            err(
                ("records", kind),
                f"unknown record kind {kind} (one of {', '.join(sorted(vocab.records))})",
                f"未知的记录类型 {kind}（可用：{'、'.join(sorted(vocab.records))}）",
            )
            continue
        mapped = {f.from_ for f in record.fields if f.from_ is not None}
        for name in sorted(vocab.required.get(kind, frozenset()) - mapped):
            err(
                ("records", kind, "fields"),
                f"missing required item: record {kind} must map {name}",
                f"记录 {kind} 须写出字段 {name} 的对应",
            )
        seen: set[str] = set()
        for i, f in enumerate(record.fields):
            at: Path = ("records", kind, "fields", i)
            if f.name in seen:
                err((*at, "name"), f"field {f.name} written twice", f"字段 {f.name} 写了两次")
            seen.add(f.name)
            if (f.from_ is None) == (f.value is None):
                err(
                    at,
                    f"field {f.name}: give exactly one of from and value",
                    f"字段 {f.name}：from 与 value 须且只须写一个",
                )
            if f.from_ is not None and f.from_ not in fields:
                err(
                    (*at, "from"),
                    f"unknown field {f.from_} of record {kind}"
                    f" (one of {', '.join(sorted(fields))})",
                    f"记录 {kind} 没有字段 {f.from_}（可用：{'、'.join(sorted(fields))}）",
                )
            if f.codes is not None and f.codes not in m.codes:
                err(
                    (*at, "codes"),
                    f"field {f.name}: code list {f.codes} is not defined under codes",
                    f"字段 {f.name}：代码表 {f.codes} 未在 codes 下定义",
                )
            if f.date is not None:
                if f.from_ not in vocab.dates:
                    err(
                        (*at, "date"),
                        f"field {f.name}: date format on a field that is no date",
                        f"字段 {f.name} 不是日期，不能写 date",
                    )
                _check_date_format(f.date, (*at, "date"), err)
    return errors


def _check_transport(m: PlatformMapping, err: Report) -> None:
    t = m.transport
    assert t is not None
    if t.kind in ("http-json", "http-form"):
        if (t.url is None) == (t.url_env is None):
            err(
                ("transport",),
                f"transport {t.kind}: give exactly one of url and url_env",
                f"传输 {t.kind}：url 与 url_env 须且只须写一个",
            )
        elif t.url is not None and not t.url.startswith(("http://", "https://")):
            err(
                ("transport", "url"),
                f"transport.url is not an http(s) URL: {t.url}",
                f"transport.url 不是 http(s) 地址：{t.url}",
            )
        if t.folder is not None:
            err(
                ("transport", "folder"),
                "transport.folder is for file-drop only",
                "folder 只用于 file-drop",
            )
    else:
        if t.folder is None:
            err(
                ("transport",),
                "missing required item transport.folder",
                "缺少必填项 transport.folder（投放文件的目录）",
            )
        if t.url is not None or t.url_env is not None:
            err(("transport",), "a file drop has no url", "file-drop 不用 url")
    if t.wrap is not None and (t.kind == "http-form" or t.file_format == "csv"):
        err(("transport", "wrap"), "transport.wrap is for JSON only", "wrap 只用于 JSON")


def _check_auth(m: PlatformMapping, err: Report) -> None:
    a = m.auth
    if a.kind == "bearer" and (a.token_env is None) == (a.token_file is None):
        err(
            ("auth",),
            "auth bearer: give exactly one of token_env and token_file",
            "bearer 认证：token_env 与 token_file 须且只须写一个",
        )
    if a.kind == "client-cert" and a.cert_file is None:
        err(
            ("auth",),
            "missing required item auth.cert_file",
            "缺少必填项 auth.cert_file（客户端证书）",
        )
    if a.kind != "none" and m.transport is not None and m.transport.kind == "file-drop":
        err(("auth", "kind"), "a file drop has no authentication", "file-drop 不用认证")


def _check_date_format(fmt: str, path: Path, err: Report) -> None:
    if "%" not in fmt:
        err(
            path,
            f"date format {fmt!r} has no % directive",
            f"日期格式 {fmt} 里没有 % 占位（如 %Y-%m-%d）",
        )
        return
    try:
        datetime(2027, 3, 4, 5, 6, 7).strftime(fmt)
    except ValueError as exc:
        err(path, f"date format {fmt!r}: {exc}", f"日期格式 {fmt} 无效")
