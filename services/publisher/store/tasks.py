"""SQL of the publisher's copies of other services' facts: tasks, approved plans, draws."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from contracts.draw import DrawCompleted, DrawSuperseded, TaskAssigned
from contracts.planner import PlanApproved
from contracts.publisher import TaskCancelled
from services.publisher.domain.validation import TaskView
from services.publisher.store.commissions import commission_facts
from services.publisher.store.conn import Conn


async def upsert_task(conn: Conn, t: TaskAssigned) -> None:
    """Keep our copy of a task; a re-assignment (same id) replaces team and period."""
    await conn.execute(
        """INSERT INTO tasks (task_id, draw_id, plan_id, uscc, entity_name, region_code,
               departments, lead_department, items, team, period_start, period_end, methods,
               batch, industry_code, risk_class, kind, trigger)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)
           ON CONFLICT (task_id) DO UPDATE SET team = EXCLUDED.team, items = EXCLUDED.items,
               period_start = EXCLUDED.period_start, period_end = EXCLUDED.period_end,
               entity_name = EXCLUDED.entity_name, methods = EXCLUDED.methods,
               batch = EXCLUDED.batch, industry_code = EXCLUDED.industry_code,
               risk_class = EXCLUDED.risk_class, received_at = now()""",
        t.task_id,
        t.draw_id,
        t.plan_id,
        t.uscc,
        t.entity_name,
        t.region_code,
        list(t.departments),
        t.lead_department,
        [i.model_dump(mode="json") for i in t.items],
        [m.inspector_id for m in t.team],
        t.period_start,
        t.period_end,
        list(t.methods),
        t.batch,
        t.industry_code,
        t.risk_class,
        t.kind,
        t.trigger,
    )
    # Tasks this visit absorbed take no results of their own; either event may come first.
    # A visit of a superseded draw absorbs nothing any more (see `mark_draw_superseded`).
    await conn.execute(
        "UPDATE tasks SET merged_from = $2::text[] WHERE task_id = $1",
        t.task_id,
        list(t.merged_from),
    )
    await conn.execute(
        """UPDATE tasks SET merged_into = $1
           WHERE task_id = ANY($2::text[]) AND merged_into IS DISTINCT FROM $1
             AND NOT EXISTS (SELECT 1 FROM draws d
                             WHERE d.draw_id = $3 AND d.superseded_by IS NOT NULL)""",
        t.task_id,
        list(t.merged_from),
        t.draw_id,
    )
    await conn.execute(
        """UPDATE tasks SET merged_into = m.task_id
           FROM tasks m WHERE tasks.task_id = $1 AND tasks.task_id = ANY(m.merged_from)
             AND NOT EXISTS (SELECT 1 FROM draws d
                             WHERE d.draw_id = m.draw_id AND d.superseded_by IS NOT NULL)""",
        t.task_id,
    )


async def upsert_plan(conn: Conn, p: PlanApproved) -> None:
    """Keep what the public notices need of an approved plan."""
    await conn.execute(
        """INSERT INTO plans (plan_id, year, title, departments, approved_at, strata,
               rules_version, items)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
           ON CONFLICT (plan_id) DO UPDATE SET title = EXCLUDED.title,
               approved_at = EXCLUDED.approved_at, strata = EXCLUDED.strata,
               rules_version = EXCLUDED.rules_version, items = EXCLUDED.items""",
        p.plan_id,
        p.year,
        p.title,
        list(p.departments),
        p.approved_at,
        len(p.strata),
        p.rules_version,
        [
            {
                "code": i.code,
                "name": i.name,
                "department": i.department,
                "kind": i.kind,
                "legal_basis": i.legal_basis,
            }
            for i in p.items
        ],
    )


async def upsert_draw_completed(conn: Conn, d: DrawCompleted) -> None:
    """Keep a completed draw's public facts (a superseded mark that came first stays)."""
    rec = d.record
    await conn.execute(
        """INSERT INTO draws (draw_id, plan_id, completed_at, tasks, unstaffed, seed, seed_source,
               commitment_sha256, supersedes, superseded_by)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
           ON CONFLICT (draw_id) DO UPDATE SET plan_id = EXCLUDED.plan_id,
               completed_at = EXCLUDED.completed_at, tasks = EXCLUDED.tasks,
               unstaffed = EXCLUDED.unstaffed, seed = EXCLUDED.seed,
               seed_source = EXCLUDED.seed_source,
               commitment_sha256 = EXCLUDED.commitment_sha256, supersedes = EXCLUDED.supersedes,
               superseded_by = coalesce(draws.superseded_by, EXCLUDED.superseded_by)""",
        rec.draw_id,
        rec.plan_id,
        d.completed_at,
        d.tasks,
        d.unstaffed,
        rec.seed,
        rec.seed_source,
        rec.commitment_sha256,
        rec.supersedes,
        rec.superseded_by,
    )


async def mark_draw_superseded(conn: Conn, s: DrawSuperseded) -> None:
    """Mark a draw superseded by a redraw (it and its tasks stay public)."""
    await conn.execute(
        """INSERT INTO draws (draw_id, superseded_by, superseded_reason, superseded_at,
               superseded_requested_by, superseded_confirmed_by)
           VALUES ($1,$2,$3,$4,$5,$6)
           ON CONFLICT (draw_id) DO UPDATE SET superseded_by = EXCLUDED.superseded_by,
               superseded_reason = EXCLUDED.superseded_reason,
               superseded_at = EXCLUDED.superseded_at,
               superseded_requested_by = EXCLUDED.superseded_requested_by,
               superseded_confirmed_by = EXCLUDED.superseded_confirmed_by""",
        s.draw_id,
        s.superseded_by,
        s.reason,
        s.at,
        s.by,
        s.confirmed_by,
    )
    # As the draw service does: the tasks its visits had absorbed are open again (the redraw
    # may absorb them anew, through its own task.assigned, in either order).
    await conn.execute(
        """UPDATE tasks SET merged_into = NULL
           WHERE merged_into IN (SELECT task_id FROM tasks WHERE draw_id = $1)""",
        s.draw_id,
    )


def _task_view(r: asyncpg.Record) -> TaskView:
    return TaskView(
        task_id=r["task_id"],
        draw_id=r["draw_id"],
        plan_id=r["plan_id"],
        uscc=r["uscc"],
        entity_name=r["entity_name"],
        region_code=r["region_code"],
        departments=tuple(r["departments"]),
        lead_department=r["lead_department"],
        item_codes=tuple(i["code"] for i in r["items"]),
        team=tuple(r["team"]),
        period_start=r["period_start"],
        period_end=r["period_end"],
        merged_into=r["merged_into"],
        methods=tuple(r["methods"]),
        started_at=r["started_at"],
        started_by=r["started_by"],
        draw_superseded_by=r["draw_superseded_by"],
        cancel_reason=r["cancel_reason"],
        item_names={i["code"]: i.get("name", "") for i in r["items"]},
        # The task's own items name it since they carry it (a triggered task has no plan);
        # older tasks take their plan's.
        legal_bases=dict(r["legal_bases"] or {})
        | {i["code"]: i["legal_basis"] for i in r["items"] if i.get("legal_basis")},
        kind=r["kind"],
        trigger=r["trigger"],
    )


# A task with its draw's redraw, when one superseded it (the draws row may not be in yet).
# The legal basis of each of the plan's items, as the plan carries it from the catalogue.
_LEGAL_BASES = (
    "(SELECT jsonb_object_agg(i->>'code', coalesce(i->>'legal_basis', ''))"
    " FROM plans p, jsonb_array_elements(p.items) i WHERE p.plan_id = t.plan_id) AS legal_bases"
)
_TASK_VIEW = (
    f"SELECT t.*, d.superseded_by AS draw_superseded_by, {_LEGAL_BASES}"
    " FROM tasks t LEFT JOIN draws d USING (draw_id)"
)


async def get_task(conn: Conn, task_id: str, *, lock: bool = False) -> TaskView | None:
    """Our copy of a task, or None (`lock` takes a row lock for a change)."""
    sql = f"{_TASK_VIEW} WHERE t.task_id = $1" + (" FOR UPDATE OF t" if lock else "")
    row = await conn.fetchrow(sql, task_id)
    return None if row is None else _task_view(row)


async def mark_started(conn: Conn, task_id: str, *, by: str, at: datetime) -> None:
    """Record that the task's visit began (the first start only: the caller checked)."""
    await conn.execute(
        "UPDATE tasks SET started_at = $2, started_by = $3 WHERE task_id = $1 "
        "AND started_at IS NULL",
        task_id,
        at,
        by,
    )


async def mark_cancelled(conn: Conn, c: TaskCancelled) -> None:
    """Record that the task was called off (the caller checked that it may be)."""
    await conn.execute(
        "UPDATE tasks SET cancelled_at = $2, cancelled_by = $3, cancel_reason = $4, "
        "cancel_note = $5 WHERE task_id = $1 AND cancelled_at IS NULL",
        c.task_id,
        c.cancelled_at,
        c.cancelled_by,
        c.reason.value,
        c.note,
    )


async def cancellation(conn: Conn, task_id: str) -> TaskCancelled | None:
    """The task's cancellation, if it was called off."""
    r = await conn.fetchrow(
        "SELECT task_id, draw_id, cancel_reason AS reason, cancel_note AS note, cancelled_by, "
        "cancelled_at FROM tasks WHERE task_id = $1 AND cancelled_at IS NOT NULL",
        task_id,
    )
    return None if r is None else TaskCancelled.model_validate(dict(r))


async def get_tasks(conn: Conn, task_ids: Sequence[str]) -> dict[str, TaskView]:
    """Our copies of several tasks, by id."""
    rows = await conn.fetch(f"{_TASK_VIEW} WHERE t.task_id = ANY($1::text[])", list(task_ids))
    return {r["task_id"]: _task_view(r) for r in rows}


async def tasks_and_latest(
    conn: Conn, task_ids: Sequence[str]
) -> tuple[dict[str, TaskView], dict[str, int]]:
    """Our copies of several tasks and the latest result version of each (one round trip)."""
    rows = await conn.fetch(
        f"SELECT t.*, d.superseded_by AS draw_superseded_by, {_LEGAL_BASES},"
        " (SELECT max(version) FROM results r WHERE r.task_id = t.task_id) AS latest"
        " FROM tasks t LEFT JOIN draws d USING (draw_id) WHERE t.task_id = ANY($1::text[])",
        list(task_ids),
    )
    tasks = {r["task_id"]: _task_view(r) for r in rows}
    latest = {r["task_id"]: int(r["latest"]) for r in rows if r["latest"] is not None}
    for task_id, facts in (await commission_facts(conn, list(tasks))).items():
        tasks[task_id] = dataclasses.replace(tasks[task_id], commissions=facts)
    return tasks, latest


async def latest_versions(conn: Conn, task_ids: Sequence[str]) -> dict[str, int]:
    """The latest result version of each task that has one."""
    rows = await conn.fetch(
        "SELECT task_id, max(version) AS v FROM results WHERE task_id = ANY($1::text[]) "
        "GROUP BY task_id",
        list(task_ids),
    )
    return {r["task_id"]: int(r["v"]) for r in rows}
