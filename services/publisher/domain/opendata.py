"""Open data of the results notice: JSON, CSV (UTF-8 with BOM, for Excel) and an Atom feed.

Pure functions. CSV cells that a spreadsheet would run as a formula (starting with = + - @,
tab or carriage return) get a leading apostrophe: entity names are user input. Atom text goes
through XML escaping.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from services.publisher.domain.notices import DrawNotice, ResultNotice

BOM = "\ufeff"
CSV_COLUMNS = (
    "result_id",
    "version",
    "uscc",
    "entity_name",
    "authority",
    "check_date",
    "items",
    "categories",
    "violation",
    "published_at",
    "due_date",
    "due_date_provisional",
)
"""New columns are added at the end: readers that take the first ones keep working."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def result_dict(r: ResultNotice) -> dict[str, Any]:
    """One result as open-data JSON."""
    return {
        "result_id": r.result_id,
        "version": r.version,
        "task_id": r.task_id,
        "uscc": r.uscc,
        "entity_name": r.entity_name,
        "authority": list(r.authority),
        "check_date": r.check_date.isoformat(),
        "published_at": r.published_at.isoformat(),
        "due_date": None if r.due_date is None else r.due_date.isoformat(),
        "due_date_provisional": r.due_date_provisional,
        "violation": r.violation,
        "correction_reason": r.correction_reason,
        "items": [
            {
                "item_code": i.item_code,
                "category": i.category_code,
                "category_name": i.category_name,
                "problems": i.problems,
            }
            for i in r.items
        ],
        "history": [
            {
                "version": h.version,
                "published_at": h.published_at.isoformat(),
                "categories": list(h.categories),
                "correction_reason": h.correction_reason,
            }
            for h in r.history
        ],
    }


def draws_json(draws: Sequence[DrawNotice]) -> str:
    """The draws as a JSON document; a superseded draw carries `superseded_by` and its reason."""

    def at(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return json.dumps(
        {
            "count": len(draws),
            "draws": [
                {
                    "draw_id": d.draw_id,
                    "plan_id": d.plan_id,
                    "completed_at": at(d.completed_at),
                    "tasks": d.tasks,
                    "unstaffed": d.unstaffed,
                    "seed": d.seed,
                    "seed_source": d.seed_source,
                    "commitment_sha256": d.commitment_sha256,
                    "supersedes": d.supersedes,
                    "superseded": d.superseded,
                    "superseded_by": d.superseded_by,
                    "superseded_reason": d.superseded_reason,
                    "superseded_at": at(d.superseded_at),
                    "superseded_requested_by": d.superseded_requested_by,
                    "superseded_confirmed_by": d.superseded_confirmed_by,
                }
                for d in draws
            ],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def results_json(results: Sequence[ResultNotice]) -> str:
    """The results as a JSON document (UTF-8 text, Chinese kept readable)."""
    return json.dumps(
        {"count": len(results), "results": [result_dict(r) for r in results]},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def results_csv(results: Sequence[ResultNotice]) -> str:
    """The results as CSV text starting with a BOM so that Excel reads it as UTF-8."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in results:
        writer.writerow(
            [
                _cell(r.result_id),
                r.version,
                _cell(r.uscc),
                _cell(r.entity_name),
                _cell("、".join(r.authority)),
                r.check_date.isoformat(),
                _cell(";".join(i.item_code for i in r.items)),
                _cell(";".join(i.category_name for i in r.items)),
                "是" if r.violation else "否",
                r.published_at.isoformat(),
                "" if r.due_date is None else r.due_date.isoformat(),
                "是" if r.due_date_provisional else "否",
            ]
        )
    return out.getvalue()


def _ts(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def results_atom(
    results: Sequence[ResultNotice], *, base_url: str, updated: datetime | None = None
) -> str:
    """An Atom feed of results, newest first."""
    ordered = sorted(results, key=lambda r: r.published_at, reverse=True)
    when = updated or (ordered[0].published_at if ordered else datetime(1970, 1, 1, tzinfo=UTC))
    base = base_url.rstrip("/")
    entries = []
    for r in ordered:
        summary = "；".join(f"{i.item_code}：{i.category_name}" for i in r.items)
        link = f"{base}/public/results?q={r.uscc}"
        entries.append(
            "<entry>"
            f"<id>{xml_escape(f'urn:spotcheck:result:{r.result_id}:v{r.version}')}</id>"
            f"<title>{xml_escape(f'{r.entity_name}（{r.uscc}）检查结果')}</title>"
            f"<updated>{_ts(r.published_at)}</updated>"
            f"<link href={quoteattr(link)}/>"
            f"<summary>{xml_escape(summary)}</summary>"
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>“双随机、一公开”检查结果公告</title>"
        f"<id>{xml_escape(base + '/public/feed.atom')}</id>"
        f'<link rel="self" href={quoteattr(base + "/public/feed.atom")}/>'
        f"<updated>{_ts(when)}</updated>"
        "<author><name>spotcheck</name></author>" + "".join(entries) + "</feed>\n"
    )
