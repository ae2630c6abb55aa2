"""SQL of the publisher (asyncpg): tasks, plans, result versions, the outbox, public notices."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from contracts.draw import DrawCompleted, DrawSuperseded, TaskAssigned
from contracts.planner import PlanApproved
from contracts.publisher import ResultAccepted
from services.publisher.domain.delivery import Outcome
from services.publisher.domain.validation import TaskView

# A connection, or a pool's proxy of one (asyncpg types them apart; both work here).
Conn = Any


async def upsert_task(conn: Conn, t: TaskAssigned) -> None:
    """Keep our copy of a task; a re-assignment (same id) replaces team and period."""
    await conn.execute(
        """INSERT INTO tasks (task_id, draw_id, plan_id, uscc, entity_name, region_code,
               departments, lead_department, items, team, period_start, period_end, methods)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
           ON CONFLICT (task_id) DO UPDATE SET team = EXCLUDED.team, items = EXCLUDED.items,
               period_start = EXCLUDED.period_start, period_end = EXCLUDED.period_end,
               entity_name = EXCLUDED.entity_name, methods = EXCLUDED.methods,
               received_at = now()""",
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
    )
    # Tasks this visit absorbed take no results of their own; either event may come first.
    await conn.execute(
        "UPDATE tasks SET merged_from = $2::text[] WHERE task_id = $1",
        t.task_id,
        list(t.merged_from),
    )
    await conn.execute(
        """UPDATE tasks SET merged_into = $1
           WHERE task_id = ANY($2::text[]) AND merged_into IS DISTINCT FROM $1""",
        t.task_id,
        list(t.merged_from),
    )
    await conn.execute(
        """UPDATE tasks SET merged_into = m.task_id
           FROM tasks m WHERE tasks.task_id = $1 AND tasks.task_id = ANY(m.merged_from)""",
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
            {"code": i.code, "name": i.name, "department": i.department, "kind": i.kind}
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
    )


async def get_task(conn: Conn, task_id: str, *, lock: bool = False) -> TaskView | None:
    """Our copy of a task, or None (`lock` takes a row lock for a change)."""
    sql = "SELECT * FROM tasks WHERE task_id = $1" + (" FOR UPDATE" if lock else "")
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


async def get_tasks(conn: Conn, task_ids: Sequence[str]) -> dict[str, TaskView]:
    """Our copies of several tasks, by id."""
    rows = await conn.fetch("SELECT * FROM tasks WHERE task_id = ANY($1::text[])", list(task_ids))
    return {r["task_id"]: _task_view(r) for r in rows}


async def tasks_and_latest(
    conn: Conn, task_ids: Sequence[str]
) -> tuple[dict[str, TaskView], dict[str, int]]:
    """Our copies of several tasks and the latest result version of each (one round trip)."""
    rows = await conn.fetch(
        "SELECT t.*, (SELECT max(version) FROM results r WHERE r.task_id = t.task_id) AS latest "
        "FROM tasks t WHERE t.task_id = ANY($1::text[])",
        list(task_ids),
    )
    tasks = {r["task_id"]: _task_view(r) for r in rows}
    latest = {r["task_id"]: int(r["latest"]) for r in rows if r["latest"] is not None}
    return tasks, latest


async def latest_versions(conn: Conn, task_ids: Sequence[str]) -> dict[str, int]:
    """The latest result version of each task that has one."""
    rows = await conn.fetch(
        "SELECT task_id, max(version) AS v FROM results WHERE task_id = ANY($1::text[]) "
        "GROUP BY task_id",
        list(task_ids),
    )
    return {r["task_id"]: int(r["v"]) for r in rows}


@dataclass(frozen=True, slots=True)
class NewResult:
    """A checked result version and its outbox rows, ready to insert."""

    result_id: str
    version: int
    task_id: str
    supersedes: int | None
    correction_reason: str | None
    submitted_by: str
    check_date: date
    due_date: date
    method: str
    items: list[dict[str, Any]]
    categories: list[str]
    violation: bool
    confirmations: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    accepted_at: datetime
    deliveries: list[tuple[str, str, str | None, dict[str, Any]]]  # (dest, key, subject, body)
    accepted: ResultAccepted  # the reply, and the result.accepted event
    due_date_provisional: bool = False


async def insert_results(conn: Conn, results: Sequence[NewResult]) -> None:
    """Insert result versions and queue their deliveries (call inside one transaction)."""
    await conn.executemany(
        """INSERT INTO results (result_id, version, task_id, supersedes, correction_reason,
               submitted_by, check_date, due_date, method, items, categories, violation,
               confirmations, attachments, accepted_at, due_date_provisional)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)""",
        [
            (
                r.result_id,
                r.version,
                r.task_id,
                r.supersedes,
                r.correction_reason,
                r.submitted_by,
                r.check_date,
                r.due_date,
                r.method,
                r.items,
                r.categories,
                r.violation,
                r.confirmations,
                r.attachments,
                r.accepted_at,
                r.due_date_provisional,
            )
            for r in results
        ],
    )
    await conn.executemany(
        """INSERT INTO outbox (result_id, version, destination, idempotency_key, subject,
               payload, next_attempt_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7)""",
        [
            (r.result_id, r.version, dest, key, subject, body, r.accepted_at)
            for r in results
            for dest, key, subject, body in r.deliveries
        ],
    )


# ---- the outbox ---------------------------------------------------------------------------

OUTBOX_CHANNEL = "publisher_outbox"


async def notify_outbox(conn: Conn) -> None:
    """Wake relays listening on the outbox channel when this transaction commits."""
    await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")


OUTBOX_COLUMNS = (
    "id, result_id, version, destination, idempotency_key, subject, payload, state, attempts, "
    "next_attempt_at, last_error, delivered_at"
)


CLAIM_COLUMNS = (
    "id, result_id, version, destination, idempotency_key, subject, payload::text AS body, attempts"
)


async def claim_due(pool: asyncpg.Pool, *, limit: int, lease_s: float) -> list[asyncpg.Record]:
    """Lease up to `limit` due pending deliveries to this relay for `lease_s` seconds.

    The lease is a later `next_attempt_at`: if this relay dies, the rows come due again and
    another relay (or this one, restarted) delivers them under the same idempotency key.
    The body comes as JSON text (`body`), ready to send without decoding it first.
    """
    return list(
        await pool.fetch(
            f"""UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $2)
            WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= now()
                         ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING {CLAIM_COLUMNS}""",
            limit,
            lease_s,
        )
    )


async def record_outcomes(
    pool: asyncpg.Pool, outcomes: Sequence[tuple[asyncpg.Record, Outcome]]
) -> None:
    """Write a batch's delivery outcomes in one statement; a delivered disclosure makes its
    result version public (only a row that was still pending counts, so a late duplicate of an
    outcome changes nothing)."""
    await pool.execute(
        """WITH done AS (
               UPDATE outbox o SET state = u.state, attempts = u.attempts,
                   next_attempt_at = coalesce(u.next_at, o.next_attempt_at),
                   last_error = u.err,
                   delivered_at = CASE WHEN u.state = 'delivered' THEN now()
                                  ELSE o.delivered_at END
               FROM unnest($1::bigint[], $2::text[], $3::int[], $4::timestamptz[], $5::text[])
                    AS u(id, state, attempts, next_at, err)
               WHERE o.id = u.id AND o.state = 'pending'
               RETURNING o.result_id, o.version, o.destination, o.state)
           UPDATE results r SET published_at = now() FROM done
           WHERE done.destination = 'disclosure' AND done.state = 'delivered'
             AND r.result_id = done.result_id AND r.version = done.version
             AND r.published_at IS NULL""",
        [row["id"] for row, _ in outcomes],
        [o.state.value for _, o in outcomes],
        [o.attempts for _, o in outcomes],
        [o.next_attempt_at for _, o in outcomes],
        [o.last_error for _, o in outcomes],
    )


async def list_deliveries(
    conn: Conn, *, state: str | None = None, limit: int = 100
) -> list[asyncpg.Record]:
    """Deliveries in id order, optionally only those in one state."""
    if state is None:
        return list(
            await conn.fetch(f"SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id LIMIT $1", limit)
        )
    return list(
        await conn.fetch(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = $1 ORDER BY id LIMIT $2",
            state,
            limit,
        )
    )


async def get_delivery(conn: Conn, delivery_id: int) -> asyncpg.Record | None:
    """One delivery, locked for update."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1 FOR UPDATE", delivery_id
    )
    return row


async def set_pending(conn: Conn, delivery_id: int, outcome: Outcome) -> None:
    """Put a delivery back in the queue (replay of a dead letter)."""
    await conn.execute(
        "UPDATE outbox SET state = $2, attempts = $3, next_attempt_at = $4, last_error = NULL "
        "WHERE id = $1",
        delivery_id,
        outcome.state.value,
        outcome.attempts,
        outcome.next_attempt_at,
    )


async def outbox_counts(conn: Conn) -> dict[str, int]:
    """Deliveries per state."""
    rows = await conn.fetch("SELECT state, count(*) AS n FROM outbox GROUP BY state")
    return {r["state"]: int(r["n"]) for r in rows}


async def unpublished(conn: Conn) -> list[asyncpg.Record]:
    """Latest versions of results no version of which is public yet."""
    return list(
        await conn.fetch(
            """SELECT r.result_id, r.version, r.task_id, t.uscc, r.check_date, r.due_date,
               r.due_date_provisional
           FROM results r JOIN tasks t USING (task_id)
           WHERE r.version = (SELECT max(version) FROM results x WHERE x.result_id = r.result_id)
             AND NOT EXISTS (SELECT 1 FROM results p WHERE p.result_id = r.result_id
                             AND p.published_at IS NOT NULL)
           ORDER BY r.due_date, r.result_id"""
        )
    )


# ---- the holiday calendar ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredCalendar:
    """The holiday schedules of the last activated rule set (none before the first)."""

    rules_version: str | None
    activated_at: datetime | None
    schedules: list[dict[str, Any]]


async def lock_calendar(conn: Conn, *, exclusive: bool) -> None:
    """Hold the calendar's lock until the transaction ends: shared to compute deadlines with
    it, exclusive to replace it. An advisory lock (keyed by this schema) touches no row, so the
    many concurrent writers of results do not contend on the calendar's row."""
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await conn.execute(f"SELECT {fn}(hashtext(current_schema()), hashtext('holiday_calendar'))")


async def read_calendar(conn: Conn) -> StoredCalendar:
    """The stored calendar (under `lock_calendar` when deadlines are computed with it)."""
    row = await conn.fetchrow("SELECT rules_version, activated_at, schedules FROM holiday_calendar")
    return StoredCalendar(row["rules_version"], row["activated_at"], list(row["schedules"]))


async def save_calendar(
    conn: Conn, *, rules_version: str, activated_at: datetime, schedules: list[dict[str, Any]]
) -> None:
    """Replace the stored calendar (call holding `lock_calendar(exclusive=True)`)."""
    await conn.execute(
        "UPDATE holiday_calendar SET rules_version = $1, activated_at = $2, schedules = $3,"
        " updated_at = now()",
        rules_version,
        activated_at,
        schedules,
    )


async def deadlines_touching(conn: Conn, first: date, last: date) -> list[asyncpg.Record]:
    """Result versions whose count of working days, (check_date, due_date], meets [first, last]."""
    return list(
        await conn.fetch(
            """SELECT result_id, version, task_id, check_date, due_date, due_date_provisional
               FROM results WHERE check_date < $2 AND due_date >= $1
               ORDER BY result_id, version""",
            first,
            last,
        )
    )


async def update_deadlines(conn: Conn, changes: Sequence[tuple[str, int, date, bool]]) -> None:
    """Set (result_id, version)'s due date and provisional mark."""
    await conn.executemany(
        "UPDATE results SET due_date = $3, due_date_provisional = $4"
        " WHERE result_id = $1 AND version = $2",
        list(changes),
    )


def dumps(value: Any) -> str:
    """JSON text for logs and CLI output."""
    return json.dumps(value, ensure_ascii=False, default=str)
