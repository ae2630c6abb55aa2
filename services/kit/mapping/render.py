"""Applying a checked mapping: spotcheck's record → the platform's record → the bytes sent,
and (inbound) the platform's record → spotcheck's fields.

Pure and deterministic: the same record and mapping give the same bytes on every attempt, so
a platform that deduplicates by content or by idempotency key sees a repeat, never a change.
Dates and times are ISO text in spotcheck's records; a time with an offset is written in
Beijing time (UTC+8), the time every platform of the notice shows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence, Set
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from services.kit.mapping.model import FieldMap, PlatformMapping

BEIJING = timezone(timedelta(hours=8), "CST")


class RenderError(Exception):
    """This record cannot be written under this mapping (a required value is missing, a code
    has no translation): retrying cannot help, the mapping or the record must change."""


def render(
    mapping: PlatformMapping,
    kind: str,
    source: Mapping[str, Any],
    *,
    date_fields: Set[str] = frozenset(),
) -> dict[str, str]:
    """The platform's record for one of spotcheck's: field name → text, in the file's order.
    Fields `from` one of `date_fields` (the vocabulary's `dates`) take the date format."""
    record = mapping.records.get(kind)
    if record is None:
        raise RenderError(f"{mapping.platform} takes no {kind} records")
    out: dict[str, str] = {}
    for f in record.fields:
        dated = f.from_ in date_fields
        value = source.get(f.from_ or "")
        text = f.value if f.value is not None else _text(mapping, f, value, dated)
        if f.required and not text:
            raise RenderError(f"{mapping.platform}: {kind} field {f.name} ({f.from_}) is empty")
        out[f.name] = text or ""
    return out


def _text(mapping: PlatformMapping, f: FieldMap, value: Any, dated: bool) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, list | tuple):
        return f.join.join(t for t in (_text(mapping, f, v, dated) for v in value) if t)
    raw = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if f.codes is not None:
        table = mapping.codes[f.codes]
        if raw not in table:
            raise RenderError(
                f"{mapping.platform}: code {raw!r} of field {f.name} is not in code list {f.codes}"
            )
        return table[raw]
    if dated:
        return _date_text(raw, f.date or mapping.dates)
    return raw


def _date_text(raw: str, fmt: str) -> str:
    try:
        if len(raw) <= 10:
            return date.fromisoformat(raw).strftime(fmt)
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise RenderError(f"not an ISO date or time: {raw!r}") from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(BEIJING)
    return moment.strftime(fmt)


def read(mapping: PlatformMapping, kind: str, row: Mapping[str, str]) -> dict[str, str]:
    """Inbound: spotcheck's fields from one platform record (code lists read backwards)."""
    record = mapping.records.get(kind)
    if record is None:
        raise RenderError(f"{mapping.platform} gives no {kind} records")
    out: dict[str, str] = {}
    for f in record.fields:
        if f.from_ is None:
            continue
        text = (row.get(f.name) or "").strip()
        if f.required and not text:
            raise RenderError(f"{mapping.platform}: {kind} field {f.name} is empty")
        if text and f.codes is not None:
            codes = [k for k, v in mapping.codes[f.codes].items() if v == text]
            if len(codes) != 1:
                # Several of spotcheck's codes written alike cannot be read back: say so.
                why = "is not in" if not codes else f"stands for {', '.join(codes)} in"
                raise RenderError(f"{mapping.platform}: {f.name} value {text!r} {why} {f.codes}")
            text = codes[0]
        out[f.from_] = text
    return out


def encode(mapping: PlatformMapping, record: Mapping[str, str]) -> tuple[bytes, str]:
    """The bytes of one record as the transport sends them, and their content type."""
    t = mapping.transport
    charset = "GB18030" if mapping.encoding == "gb18030" else "utf-8"
    kind = t.kind if t is not None else "http-json"
    if kind == "http-form":
        body = urlencode(record, encoding=mapping.encoding).encode("ascii")
        return body, f"application/x-www-form-urlencoded; charset={charset}"
    if t is not None and t.file_format == "csv" and kind == "file-drop":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(record.keys())
        writer.writerow(record.values())
        return out.getvalue().encode(mapping.encoding), f"text/csv; charset={charset}"
    doc: Any = {t.wrap: dict(record)} if t is not None and t.wrap else dict(record)
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return text.encode(mapping.encoding), f"application/json; charset={charset}"


def encode_rows(
    mapping: PlatformMapping, records: Sequence[Mapping[str, str]]
) -> tuple[bytes, str]:
    """The bytes of several records sent together (a summary's counts): one CSV with a header
    and a line per record, or one JSON list (wrapped as `wrap` asks). A form carries one
    record only: `RenderError`."""
    t = mapping.transport
    charset = "GB18030" if mapping.encoding == "gb18030" else "utf-8"
    if t is not None and t.kind == "http-form":
        raise RenderError(f"{mapping.platform}: a form carries one record, not {len(records)}")
    if t is not None and t.file_format == "csv" and t.kind == "file-drop":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        if records:
            writer.writerow(records[0].keys())
        for record in records:
            writer.writerow(record.values())
        return out.getvalue().encode(mapping.encoding), f"text/csv; charset={charset}"
    rows = [dict(r) for r in records]
    doc: Any = {t.wrap: rows} if t is not None and t.wrap else rows
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return text.encode(mapping.encoding), f"application/json; charset={charset}"
