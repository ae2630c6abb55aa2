"""SQL of the task list the inspector's phone shows (掌上查), read only: task cards with their
status, the latest result and the draft awaiting confirmation; a task's result versions.

A task's status is computed here, in one place, so that the list can filter and page on it:
merged (absorbed by a later visit) › superseded (its draw was redrawn and it has no result nor
draft: the redraw's tasks replace it) › awaiting_confirmation (a draft waits for members) ›
published (its latest result version is public) › result_recorded › in_progress (started) ›
assigned. Overdue: its period has ended (before `today`) and it has no result, unless merged or
superseded. A list without a status filter leaves superseded tasks out: there is nothing to do.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from contracts.draw import TaskItem
from contracts.publisher import (
    ResultSummary,
    ResultVersion,
    TaskCard,
    TaskStatus,
)
from services.publisher.domain.task_list import Scope, TaskQuery
from services.publisher.store.conn import Conn
from services.publisher.store.drafts import awaiting_drafts

_CARDS = """
SELECT t.task_id, t.draw_id, t.plan_id, t.batch, t.uscc, t.entity_name, t.region_code,
       t.departments, t.lead_department, t.items, t.methods, t.team, t.period_start,
       t.period_end, t.started_at, t.merged_into, t.kind, t.trigger,
       lr.result_id, lr.version, lr.check_date, lr.due_date, lr.published_at,
       CASE WHEN t.merged_into IS NOT NULL THEN 'merged'
            WHEN dr.superseded_by IS NOT NULL AND lr.result_id IS NULL AND d.draft_id IS NULL
                THEN 'superseded'
            WHEN t.cancelled_at IS NOT NULL AND lr.result_id IS NULL THEN 'cancelled'
            WHEN d.draft_id IS NOT NULL THEN 'awaiting_confirmation'
            WHEN lr.published_at IS NOT NULL THEN 'published'
            WHEN lr.result_id IS NOT NULL THEN 'result_recorded'
            WHEN t.started_at IS NOT NULL THEN 'in_progress'
            ELSE 'assigned' END AS status,
       (t.merged_into IS NULL AND dr.superseded_by IS NULL AND lr.result_id IS NULL
        AND t.cancelled_at IS NULL
        AND t.period_end < $1) AS overdue
FROM tasks t
LEFT JOIN draws dr ON dr.draw_id = t.draw_id
LEFT JOIN LATERAL (
    SELECT r.result_id, r.version, r.check_date, r.due_date, r.published_at
    FROM results r WHERE r.task_id = t.task_id ORDER BY r.version DESC LIMIT 1
) lr ON true
LEFT JOIN result_drafts d ON d.task_id = t.task_id AND d.state = 'awaiting'
"""


async def _cards(conn: Conn, rows: list[asyncpg.Record]) -> list[TaskCard]:
    drafts = await awaiting_drafts(conn, [r["task_id"] for r in rows]) if rows else {}
    out = []
    for r in rows:
        team = list(r["team"])
        draft = drafts.get(r["task_id"])
        out.append(
            TaskCard(
                task_id=r["task_id"],
                draw_id=r["draw_id"],
                plan_id=r["plan_id"],
                batch=r["batch"],
                uscc=r["uscc"],
                entity_name=r["entity_name"],
                region_code=r["region_code"],
                departments=list(r["departments"]),
                lead_department=r["lead_department"],
                items=[TaskItem.model_validate(i) for i in r["items"]],
                methods=list(r["methods"]),
                team=team,
                period_start=r["period_start"],
                period_end=r["period_end"],
                status=TaskStatus(r["status"]),
                overdue=r["overdue"],
                started_at=r["started_at"],
                merged_into=r["merged_into"],
                kind=r["kind"],
                trigger=r["trigger"],
                latest_result=None
                if r["result_id"] is None
                else ResultSummary(
                    result_id=r["result_id"],
                    version=r["version"],
                    check_date=r["check_date"],
                    due_date=r["due_date"],
                    published_at=r["published_at"],
                ),
                # A draft is only shown while the task is not merged (a merged task's draft
                # can never be accepted; it is still in the task's history).
                pending_draft=None
                if draft is None or r["merged_into"] is not None
                else draft.view(team),
            )
        )
    return out


async def task_cards(conn: Conn, *, scope: Scope, query: TaskQuery, today: date) -> list[TaskCard]:
    """The tasks in `scope` matching `query`: overdue first, then by due date (period end),
    batch and task id."""
    args: list[Any] = [today]
    where = []
    if scope.inspector_id is not None:
        args.append(scope.inspector_id)
        where.append(f"t.team @> ARRAY[${len(args)}::text]")
    if scope.department is not None:
        args.append(scope.department)
        where.append(f"t.departments @> ARRAY[${len(args)}::text]")
    if query.q:
        # Part of the entity's name (Chinese text as typed), or the start of its USCC; no
        # pattern characters: strpos and starts_with take the text literally.
        args.append(query.q)
        where.append(
            f"(strpos(t.entity_name, ${len(args)}) > 0"
            f" OR starts_with(upper(t.uscc), upper(${len(args)})))"
        )
    if query.inspector is not None:
        args.append(query.inspector)
        where.append(f"t.team @> ARRAY[${len(args)}::text]")
    if query.status is not None:
        args.append(query.status.value)
        status = f"WHERE c.status = ${len(args)}"
    else:
        status = "WHERE c.status NOT IN ('superseded', 'cancelled')"
    if query.overdue is not None:
        status += " AND c.overdue" if query.overdue else " AND NOT c.overdue"
    args += [query.limit, query.offset]
    sql = (
        f"SELECT * FROM ({_CARDS} {'WHERE ' + ' AND '.join(where) if where else ''}) c "
        f"{status} ORDER BY c.overdue DESC, c.period_end, c.batch, c.task_id "
        f"LIMIT ${len(args) - 1} OFFSET ${len(args)}"
    )
    return await _cards(conn, await conn.fetch(sql, *args))


async def task_card(conn: Conn, task_id: str, *, today: date) -> TaskCard | None:
    """One task's card, or None."""
    rows = await conn.fetch(f"{_CARDS} WHERE t.task_id = $2", today, task_id)
    cards = await _cards(conn, rows)
    return cards[0] if cards else None


async def task_results(conn: Conn, task_id: str) -> list[ResultVersion]:
    """Every result version of a task, oldest first."""
    rows = await conn.fetch(
        """SELECT result_id, version, supersedes, correction_reason, submitted_by, check_date,
               due_date, due_date_provisional, method, items, violation, confirmations,
               attachments, follow_up, representative, method_record, accepted_at,
               published_at
           FROM results WHERE task_id = $1 ORDER BY version""",
        task_id,
    )
    return [ResultVersion.model_validate(dict(r)) for r in rows]
