"""SQL of triggered tasks (触发检查): their openings and, once approved, their task rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.triggered import TriggeredState
from services.draw.store.rows import Conn


@dataclass(frozen=True, slots=True)
class TriggeredRow:
    """A triggered task's opening, its state and (once approved) its team."""

    task_id: str
    uscc: str
    entity: dict[str, Any]
    trigger: str
    evidence_ref: str
    items: list[dict[str, Any]]
    departments: tuple[str, ...]
    lead_department: str
    methods: tuple[str, ...]
    period_start: date
    period_end: date
    rules_version: str
    opened_by: str
    approver: str
    opened_at: datetime
    nonce: str
    nonce_sha256: str
    state: TriggeredState
    approved_at: datetime | None
    eligible: list[dict[str, str]]
    task: dict[str, Any] | None  # the TaskAssigned body, once approved


async def insert_opening(conn: Conn, r: TriggeredRow) -> None:
    """Store a new opening (awaiting approval)."""
    await conn.execute(
        "INSERT INTO triggered_checks (task_id, uscc, entity, trigger, evidence_ref, items, "
        "departments, lead_department, methods, period_start, period_end, rules_version, "
        "opened_by, approver, opened_at, nonce, nonce_sha256) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)",
        r.task_id,
        r.uscc,
        r.entity,
        r.trigger,
        r.evidence_ref,
        r.items,
        list(r.departments),
        r.lead_department,
        list(r.methods),
        r.period_start,
        r.period_end,
        r.rules_version,
        r.opened_by,
        r.approver,
        r.opened_at,
        r.nonce,
        r.nonce_sha256,
    )


_SELECT = (
    "SELECT g.*, t.body AS task FROM triggered_checks g LEFT JOIN tasks t ON t.task_id = g.task_id"
)


def _row(r: Any) -> TriggeredRow:
    return TriggeredRow(
        task_id=r["task_id"],
        uscc=r["uscc"],
        entity=r["entity"],
        trigger=r["trigger"],
        evidence_ref=r["evidence_ref"],
        items=r["items"],
        departments=tuple(r["departments"]),
        lead_department=r["lead_department"],
        methods=tuple(r["methods"]),
        period_start=r["period_start"],
        period_end=r["period_end"],
        rules_version=r["rules_version"],
        opened_by=r["opened_by"],
        approver=r["approver"],
        opened_at=r["opened_at"],
        nonce=r["nonce"],
        nonce_sha256=r["nonce_sha256"],
        state=TriggeredState(r["state"]),
        approved_at=r["approved_at"],
        eligible=r["eligible"] or [],
        task=r["task"],
    )


async def get_opening(conn: Conn, task_id: str, *, lock: bool = False) -> TriggeredRow | None:
    """A triggered task, or None (`lock` takes a row lock for the approval)."""
    sql = f"{_SELECT} WHERE g.task_id = $1" + (" FOR UPDATE OF g" if lock else "")
    r = await conn.fetchrow(sql, task_id)
    return None if r is None else _row(r)


async def list_openings(conn: Conn, *, offset: int, limit: int) -> list[TriggeredRow]:
    """Triggered tasks, newest first."""
    rows = await conn.fetch(
        f"{_SELECT} ORDER BY g.opened_at DESC, g.task_id OFFSET $1 LIMIT $2", offset, limit
    )
    return [_row(r) for r in rows]


async def approve_opening(
    conn: Conn,
    task_id: str,
    *,
    state: TriggeredState,
    at: datetime,
    eligible: Sequence[dict[str, str]],
) -> None:
    """Record the approval and the inspectors who were eligible when the team was drawn."""
    await conn.execute(
        "UPDATE triggered_checks SET state = $2, approved_at = $3, eligible = $4 "
        "WHERE task_id = $1",
        task_id,
        state.value,
        at,
        list(eligible),
    )


async def insert_triggered_task(
    conn: Conn,
    *,
    task_id: str,
    uscc: str,
    trigger: str,
    period_start: date,
    period_end: date,
    body: dict[str, Any],
    expertise: dict[str, list[str]],
    team: Sequence[str],
    unstaffed_reason: str | None,
) -> None:
    """The approved task's row (kind `triggered`, no draw, no plan) and its team."""
    await conn.execute(
        "INSERT INTO tasks (task_id, draw_id, seq, plan_id, uscc, state, period_start, "
        "period_end, body, expertise, unstaffed_reason, kind, trigger) "
        "VALUES ($1, NULL, 0, '', $2, $3, $4, $5, $6, $7, $8, 'triggered', $9)",
        task_id,
        uscc,
        "assigned" if team else "unstaffed",
        period_start,
        period_end,
        body,
        expertise,
        unstaffed_reason,
        trigger,
    )
    await conn.executemany(
        "INSERT INTO team_members (task_id, inspector_id) VALUES ($1, $2)",
        [(task_id, i) for i in team],
    )
