"""Applying a checked mapping: spotcheck's record → the platform's record → the bytes sent,
and (inbound) the platform's record → spotcheck's fields.

Pure and deterministic: the same record and mapping give the same bytes on every attempt, so
a platform that deduplicates by content or by idempotency key sees a repeat, never a change.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from services.kit.mapping.model import FieldMap, PlatformMapping


class RenderError(Exception):
    """This record cannot be written under this mapping (a required value is missing, a code
    has no translation): retrying cannot help, the mapping or the record must change."""


def render(mapping: PlatformMapping, kind: str, source: Mapping[str, Any]) -> dict[str, str]:
    """The platform's record for one of spotcheck's: field name → text, in the file's order."""
    record = mapping.records.get(kind)
    if record is None:
        raise RenderError(f"{mapping.platform} takes no {kind} records")
    out: dict[str, str] = {}
    for f in record.fields:
        text = f.value if f.value is not None else _text(mapping, f, source.get(f.from_ or ""))
        if f.required and not text:
            raise RenderError(f"{mapping.platform}: {kind} field {f.name} ({f.from_}) is empty")
        out[f.name] = text or ""
    return out


def _text(mapping: PlatformMapping, f: FieldMap, value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, list | tuple):
        return f.join.join(t for t in (_text(mapping, f, v) for v in value) if t)
    raw = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if f.codes is not None:
        table = mapping.codes[f.codes]
        if raw not in table:
            raise RenderError(
                f"{mapping.platform}: code {raw!r} of field {f.name} is not in code list {f.codes}"
            )
        return table[raw]
    if f.date is not None or _looks_dated(raw):
        return _date_text(raw, f.date or mapping.dates)
    return raw


def _looks_dated(raw: str) -> bool:
    # ISO dates and times (2027-03-04, 2027-03-04T05:06:07+08:00) take the file's format.
    return len(raw) >= 10 and raw[4] == "-" and raw[7] == "-" and raw[:4].isdigit()


def _date_text(raw: str, fmt: str) -> str:
    try:
        moment: date = datetime.fromisoformat(raw) if len(raw) > 10 else date.fromisoformat(raw)
    except ValueError:
        return raw
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
            back = {v: k for k, v in mapping.codes[f.codes].items()}
            if text not in back:
                raise RenderError(
                    f"{mapping.platform}: {f.name} value {text!r} is not in code list {f.codes}"
                )
            text = back[text]
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
