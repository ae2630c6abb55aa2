"""What the outside platforms are sent (pure): spotcheck's records, their vocabulary, and the
outbox rows that carry them.

The notice names the platforms a bureau works through: the provincial 双随机、一公开 监督平台
(plans when approved, tasks, results), the national 企业信用信息公示系统 and the provincial
行政执法服务网 (each published result and correction). Each configured platform is one more
destination of the outbox, `platform:<id>`, delivered by the same relay (at least once, under
an idempotency key, backoff, dead letters, replay). A row carries spotcheck's record — the
fields below, under spotcheck's names and codes — and the relay writes it in the platform's
names, codes, dates and encoding with the platform's mapping file (services/kit/mapping) when
it delivers: a province's mapping changes what a platform receives without code.

The vocabulary is what a mapping file may name: the record kinds and their fields, the closed
code lists (every code spotcheck writes, each of which a mapping must translate) and the open
ones (the province's own codes, such as its departments).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from typing import Any

from contracts.draw import TaskAssigned
from contracts.planner import PlanApproved
from contracts.publisher import ResultPublished
from contracts.registry import DirectorySummary
from contracts.triggered import Trigger
from services.kit.envelope import event_id
from services.kit.mapping import Vocabulary
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.validation import TaskView

PREFIX = "platform:"

Row = tuple[str, str, str | None, dict[str, Any]]  # destination, key, subject, body

_COMMON = frozenset(
    {"uscc", "entity_name", "region_code", "department", "departments", "check_type"}
)
RESULT_FIELDS = _COMMON | {
    "result_id",
    "version",
    "task_id",
    "plan_id",
    "check_date",
    "published_at",
    "result",
    "result_name",
    "results",
    "item_codes",
    "item_names",
    "problems",
    "method",
    "violation",
    "correction",
    "supersedes",
    "correction_reason",
}
TASK_FIELDS = _COMMON | {
    "task_id",
    "draw_id",
    "plan_id",
    "batch",
    "period_start",
    "period_end",
    "item_codes",
    "item_names",
    "inspectors",
    "inspector_ids",
    "joint",
}
PLAN_FIELDS = frozenset(
    {
        "plan_id",
        "year",
        "title",
        "department",
        "departments",
        "check_type",
        "period_start",
        "period_end",
        "approved_at",
        "batches",
        "item_codes",
        "item_names",
        "joint",
        "filed_late",
    }
)
SUMMARY_KIND = "directory_summary"
SUMMARY_FIELDS = frozenset(
    {"summary_date", "computed_at", "directory", "dimension", "code", "count", "total"}
)
"""A 两库 summary goes as one record per count (a CSV line each, or a JSON list)."""
DATE_FIELDS = frozenset(
    {
        "check_date",
        "published_at",
        "period_start",
        "period_end",
        "approved_at",
        "summary_date",
        "computed_at",
    }
)
CHECK_TYPES = frozenset({"random", *(t.value for t in Trigger)})
"""Drawn (`random`, 双随机抽查) or the trigger a triggered check was opened on."""


def vocabulary(categories: CategoryTable) -> Vocabulary:
    """What the publisher's mapping files may name."""
    return Vocabulary(
        records={
            "result": RESULT_FIELDS,
            "task": TASK_FIELDS,
            "plan": PLAN_FIELDS,
            SUMMARY_KIND: SUMMARY_FIELDS,
        },
        closed_codes={
            "check_types": CHECK_TYPES,
            "result_categories": frozenset(categories.by_code),
            "yes_no": frozenset({"true", "false"}),
            "directories": frozenset({"entities", "inspectors"}),
            "dimensions": DIMENSIONS,
        },
        open_codes=frozenset({"departments", "regions", "methods"}),
        dates=DATE_FIELDS,
    )


DIMENSIONS = frozenset(
    {"region", "entity_type", "industry", "risk_class", "department", "qualification"}
)

RECEIPT_KIND = "plan_receipt"
RECEIPT_FIELDS = frozenset({"plan_id", "ack_id", "acknowledged_on", "kind"})
RECEIPT_VOCABULARY = Vocabulary(
    records={RECEIPT_KIND: RECEIPT_FIELDS},
    closed_codes={"filing_kinds": frozenset({"entered", "filed"})},
    open_codes=frozenset(),
    dates=frozenset({"acknowledged_on"}),
    required={RECEIPT_KIND: frozenset({"plan_id", "ack_id", "acknowledged_on"})},
)
"""What an inbound 监督平台 mapping may name: a receipt (回执) of a plan we sent — the plan's
id, the platform's ack id and date, and whether it acknowledges the entry (录入, `entered`) or
the filing (备案, `filed`)."""


def check_type(kind: str, trigger: str | None) -> str:
    """A task's check type code: `random` when drawn, else its trigger."""
    return trigger if kind == "triggered" and trigger else "random"


def headline(codes: Sequence[str], categories: CategoryTable) -> str:
    """The one result of a check as a platform shows it: the first item's category that is a
    violation, else the first item's (an entity checked on several items has one line)."""
    for code in codes:
        if categories.by_code[code].violation:
            return code
    return codes[0] if codes else ""


def result_record(
    published: ResultPublished, task: TaskView, categories: CategoryTable
) -> dict[str, Any]:
    """Spotcheck's record of one published result version (or correction)."""
    codes = [i.category for i in published.items]
    top = headline(codes, categories)
    return {
        "result_id": published.result_id,
        "version": published.version,
        "task_id": published.task_id,
        "plan_id": published.plan_id,
        "uscc": published.uscc,
        "entity_name": published.entity_name,
        "region_code": published.region_code,
        "department": task.lead_department,
        "departments": list(published.departments),
        "check_type": check_type(task.kind, task.trigger),
        "check_date": published.check_date.isoformat(),
        "published_at": published.published_at.isoformat(),
        "result": top,
        "result_name": categories.by_code[top].name if top else "",
        "results": codes,
        "item_codes": [i.item_code for i in published.items],
        "item_names": [task.item_names.get(i.item_code, "") for i in published.items],
        "problems": [i.problems for i in published.items if i.problems],
        "method": published.method,
        "violation": published.violation,
        "correction": published.supersedes is not None,
        "supersedes": published.supersedes,
        "correction_reason": published.correction_reason or "",
    }


def task_record(task: TaskAssigned) -> dict[str, Any]:
    """Spotcheck's record of one task (as assigned; a re-assignment is a new record)."""
    return {
        "task_id": task.task_id,
        "draw_id": task.draw_id,
        "plan_id": task.plan_id,
        "uscc": task.uscc,
        "entity_name": task.entity_name,
        "region_code": task.region_code,
        "department": task.lead_department,
        "departments": list(task.departments),
        "check_type": check_type(task.kind, task.trigger),
        "batch": task.batch,
        "period_start": task.period_start.isoformat(),
        "period_end": task.period_end.isoformat(),
        "item_codes": [i.code for i in task.items],
        "item_names": [i.name for i in task.items],
        "inspectors": [m.name for m in task.team],
        "inspector_ids": [m.inspector_id for m in task.team],
        "joint": task.joint,
    }


def plan_record(plan: PlanApproved) -> dict[str, Any]:
    """Spotcheck's record of one approved plan."""
    return {
        "plan_id": plan.plan_id,
        "year": plan.year,
        "title": plan.title,
        "department": plan.lead_department,
        "departments": list(plan.departments),
        "check_type": "random",
        "period_start": plan.period_start.isoformat(),
        "period_end": plan.period_end.isoformat(),
        "approved_at": plan.approved_at.isoformat(),
        "batches": plan.batches,
        "item_codes": [i.code for i in plan.items],
        "item_names": [i.name for i in plan.items],
        "joint": plan.joint,
        "filed_late": "filed_late" in plan.flags,
    }


def result_rows(
    record: dict[str, Any],
    *,
    result_id: str,
    version: int,
    platforms: Sequence[str],
    disclosing: Collection[str] = frozenset(),
) -> list[Row]:
    """One outbox row per platform taking results: one key per result version, forever. A
    row to a platform of `disclosing` says so (`discloses`): the result's publication clock
    waits for it (store: `outbox.discloses`)."""
    return [
        (
            PREFIX + p,
            event_id(result_id, f"v{version}", "platform", p),
            None,
            {**_body("result", record), **({"discloses": True} if p in disclosing else {})},
        )
        for p in platforms
    ]


def summary_records(summary: DirectorySummary) -> list[dict[str, Any]]:
    """Spotcheck's records of one 两库 summary: one per count, with its directory's total."""
    totals = {"entities": summary.entities, "inspectors": summary.inspectors}
    return [
        {
            "summary_date": summary.day.isoformat(),
            "computed_at": summary.computed_at.isoformat(),
            "directory": c.directory,
            "dimension": c.dimension,
            "code": c.code,
            "count": c.count,
            "total": totals[c.directory],
        }
        for c in summary.counts
    ]


def summary_rows(summary: DirectorySummary, platforms: Sequence[str]) -> list[Row]:
    """One outbox row per platform taking summaries: the day's summary once (its digest in
    the key: a redelivered event queues nothing new)."""
    records = summary_records(summary)
    return [
        (
            PREFIX + p,
            event_id(
                "directory.summary", summary.day.isoformat(), "platform", p, summary.sha256[:16]
            ),
            None,
            {"kind": SUMMARY_KIND, "records": records},
        )
        for p in platforms
    ]


def fact_rows(kind: str, ref: str, record: dict[str, Any], platforms: Sequence[str]) -> list[Row]:
    """One outbox row per platform taking tasks or plans. The key carries a digest of the
    record: a redelivered event makes the same key (nothing twice), a re-assigned task a new
    one (the platform hears of the change)."""
    digest = hashlib.sha256(
        json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()[:16]
    return [
        (PREFIX + p, event_id(kind, ref, "platform", p, digest), None, _body(kind, record))
        for p in platforms
    ]


def _body(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "record": record}


def platform_of(destination: str) -> str | None:
    """The platform id of a `platform:<id>` destination, else None."""
    return destination[len(PREFIX) :] if destination.startswith(PREFIX) else None
