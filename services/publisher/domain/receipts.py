"""The 监督平台's receipts (回执) of the plans we sent, read with its inbound mapping (pure).

The platform acknowledges each plan it took: its ack id, the date, and whether the date is the
plan's entry into the platform (录入, `entered`) or its filing with the government (备案,
`filed`). A receipt file (CSV or JSON, in the mapping's encoding; UTF-8 with a BOM is always
understood) is read whole or not at all: every bad row is reported at once with file, line
(the physical line: the header is line 1; in JSON the line where the receipt's object starts),
field (the platform's name of it) and reason, in English and Chinese, and nothing is taken
from a refused file.
"""

from __future__ import annotations

import csv
import io
import json
import json.scanner
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from contracts.planner import PLAN_ID_PATTERN
from services.kit.errors import Invalid
from services.kit.located_json import load_with_lines
from services.kit.mapping import FieldMap, PlatformMapping
from services.publisher.domain.platforms import RECEIPT_KIND

MAX_RECEIPTS = 10_000
FilingKind = Literal["entered", "filed"]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ACK_ID = re.compile(r"^[^\s]{1,128}$")
_LISTS = ("data", "items", "records", "rows", "list")


@dataclass(frozen=True)
class Receipt:
    """One receipt, as spotcheck's planner takes it (`PlanFilingRequest`)."""

    line: int
    plan_id: str
    ack_id: str
    acknowledged_on: date
    kind: FilingKind = "entered"


@dataclass(frozen=True)
class ReceiptError:
    """One reason a receipt file is refused."""

    file: str
    line: int
    field: str
    reason: str
    reason_zh: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"

    def as_dict(self) -> dict[str, str | int]:
        """The error as a JSON-able detail."""
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "reason": self.reason,
            "reason_zh": self.reason_zh,
        }


class ReceiptsInvalid(Invalid):
    """A receipt file was refused; `errors` holds every reason."""

    def __init__(self, errors: list[ReceiptError]) -> None:
        super().__init__(
            f"receipt file refused: {len(errors)} error(s); first: {errors[0]}",
            code="receipts_invalid",
            details=[e.as_dict() for e in errors],
        )
        self.errors = errors

    def why(self) -> str:
        """The reasons as the `.why` file beside a refused file says them: a line each, with
        the Chinese reason below it."""
        return "".join(f"{e}\n    {e.reason_zh}\n" for e in self.errors)


def read_receipts(
    mapping: PlatformMapping, data: bytes, *, file: str, fmt: Literal["csv", "json"]
) -> list[Receipt]:
    """Every receipt of a file, or `ReceiptsInvalid` naming each bad row."""
    record = mapping.records.get(RECEIPT_KIND)
    if record is None:
        raise ReceiptsInvalid(
            [ReceiptError(file, 1, "records", "the mapping reads no receipts", "映射文件未写回执")]
        )
    text = _decode(data, mapping.encoding, file)
    header, rows = _csv_rows(text, file) if fmt == "csv" else (None, _json_rows(text, file))
    errors: list[ReceiptError] = []
    out: list[Receipt] = []
    columns = {f.from_: f for f in record.fields if f.from_ is not None}
    if header is not None:
        for f in record.fields:
            if f.from_ is not None and f.required and f.name not in header:
                errors.append(ReceiptError(file, 1, f.name, "missing column", f"缺少列“{f.name}”"))
        if errors:
            raise ReceiptsInvalid(errors)
    seen: dict[str, tuple[int, Receipt]] = {}
    for line, row in rows:
        values: dict[str, Any] = {}
        for name, f in columns.items():
            value, error = _field(mapping, f, row.get(f.name), file=file, line=line)
            if error is not None:
                errors.append(error)
            values[name] = value
        if any(e.line == line for e in errors):
            continue
        receipt = Receipt(
            line=line,
            plan_id=values["plan_id"],
            ack_id=values["ack_id"],
            acknowledged_on=values["acknowledged_on"],
            kind=values.get("kind") or "entered",
        )
        first = seen.get(receipt.ack_id)
        if first is not None:
            same = (first[1].plan_id, first[1].acknowledged_on, first[1].kind) == (
                receipt.plan_id,
                receipt.acknowledged_on,
                receipt.kind,
            )
            if not same:
                name = columns["ack_id"].name
                errors.append(
                    ReceiptError(
                        file,
                        line,
                        name,
                        f"ack {receipt.ack_id!r} is on line {first[0]} with other content",
                        f"回执编号 {receipt.ack_id} 已在第 {first[0]} 行出现，内容不同",
                    )
                )
            continue
        seen[receipt.ack_id] = (line, receipt)
        out.append(receipt)
    if len(rows) > MAX_RECEIPTS:
        errors.append(
            ReceiptError(file, 1, "rows", f"more than {MAX_RECEIPTS} receipts", "回执条数过多")
        )
    if errors:
        raise ReceiptsInvalid(errors)
    return out


def _field(
    mapping: PlatformMapping, f: FieldMap, raw: Any, *, file: str, line: int
) -> tuple[Any, ReceiptError | None]:
    def bad(reason: str, zh: str) -> tuple[Any, ReceiptError]:
        return None, ReceiptError(file, line, f.name, reason, zh)

    if raw is not None and not isinstance(raw, str | int):
        return bad("not a text", "须是文本")
    text = "" if raw is None else str(raw).strip()
    if _CONTROL.search(text):
        return bad("contains a control character", "含有控制字符")
    if not text:
        if f.required or f.from_ in ("plan_id", "ack_id", "acknowledged_on"):
            return bad("is empty", "不能为空")
        return None, None
    if f.codes is not None:
        codes = [k for k, v in mapping.codes[f.codes].items() if v == text]
        if len(codes) != 1:
            words = "、".join(mapping.codes[f.codes].values())
            return bad(f"{text!r} is not in code list {f.codes}", f"“{text}”不是 {words} 之一")
        text = codes[0]
    if f.from_ == "acknowledged_on":
        fmt = f.date or mapping.dates
        try:
            return datetime.strptime(text, fmt).date(), None
        except ValueError:
            return bad(f"{text!r} is not a date written {fmt}", f"“{text}”不是 {fmt} 格式的日期")
    if f.from_ == "plan_id" and not re.match(PLAN_ID_PATTERN, text):
        return bad(f"{text!r} is not a plan id", f"“{text}”不是计划编号")
    if f.from_ == "ack_id" and not _ACK_ID.match(text):
        return bad(
            "an ack id is 1–128 characters without spaces", "回执编号须为 1–128 个非空白字符"
        )
    return text, None


def _decode(data: bytes, encoding: str, file: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data, encoding = data[3:], "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReceiptsInvalid(
            [
                ReceiptError(
                    file, line, "file", f"not {encoding} text", f"不是 {encoding} 编码的文本"
                )
            ]
        ) from None


Rows = list[tuple[int, Mapping[str, Any]]]


def _csv_rows(text: str, file: str) -> tuple[set[str], Rows]:
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: Rows = []
    try:
        header = [h.strip() for h in next(reader, [])]
        line = reader.line_num + 1
        for values in reader:
            if any(v.strip() for v in values):
                rows.append((line, dict(zip(header, values, strict=False))))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ReceiptsInvalid(
            [ReceiptError(file, reader.line_num, "row", f"not valid CSV: {exc}", "不是有效的 CSV")]
        ) from None
    return set(header), rows


def _json_rows(text: str, file: str) -> Rows:
    try:
        doc, lines = load_with_lines(text)
    except json.JSONDecodeError as exc:
        raise ReceiptsInvalid(
            [ReceiptError(file, exc.lineno, "json", exc.msg, f"不是有效的 JSON：{exc.msg}")]
        ) from None
    if isinstance(doc, dict):
        doc = next((doc[k] for k in _LISTS if isinstance(doc.get(k), list)), None)
    if not isinstance(doc, list):
        raise ReceiptsInvalid(
            [ReceiptError(file, 1, "json", "not a list of receipts", "须是回执对象的列表")]
        )
    rows: Rows = []
    errors = []
    for n, item in enumerate(doc, start=1):
        if not isinstance(item, dict):
            # A bare value has no line of its own: the list's, and its place in it.
            errors.append(
                ReceiptError(
                    file,
                    lines.get(id(doc), 1),
                    f"receipt {n}",
                    "not an object",
                    f"第 {n} 条回执须是对象",
                )
            )
            continue
        line = lines.get(id(item), 1)
        rows.append((line, item))
    if errors:
        raise ReceiptsInvalid(errors)
    return rows
