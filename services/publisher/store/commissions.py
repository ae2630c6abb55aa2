"""SQL of commissioned items (委托检验检测): the commissions of tasks and their reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.publisher import Commission, CommissionConclusion
from services.publisher.domain.commissions import CommissionFacts
from services.publisher.store.conn import Conn

_COLUMNS = (
    "commission_id, task_id, item_code, kind, body_name, qualification_no, subject, "
    "commissioned_on, opened_by, opened_at, report, conclusion, reported_on, reported_by, note, "
    "allowed_categories"
)


def _commission(r: Any) -> Commission:
    return Commission.model_validate(dict(r))


async def insert_commission(conn: Conn, c: Commission) -> None:
    """Keep a new commission (no report yet)."""
    await conn.execute(
        """INSERT INTO commissions (commission_id, task_id, item_code, kind, body_name,
               qualification_no, subject, commissioned_on, opened_by, opened_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)""",
        c.commission_id,
        c.task_id,
        c.item_code,
        c.kind.value,
        c.body_name,
        c.qualification_no,
        c.subject,
        c.commissioned_on,
        c.opened_by,
        c.opened_at,
    )


async def record_report(conn: Conn, c: Commission) -> None:
    """Keep a commission's report, its conclusion and the categories it allows."""
    assert c.report is not None and c.conclusion is not None
    await conn.execute(
        """UPDATE commissions SET report = $2, conclusion = $3, reported_on = $4,
               reported_by = $5, note = $6, allowed_categories = $7
           WHERE commission_id = $1""",
        c.commission_id,
        c.report.model_dump(mode="json", exclude={"content_base64"}),
        c.conclusion.value,
        c.reported_on,
        c.reported_by,
        c.note,
        list(c.allowed_categories),
    )


async def get_commission(
    conn: Conn, commission_id: str, *, lock: bool = False
) -> Commission | None:
    """One commission, or None (locked for update with `lock`)."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM commissions WHERE commission_id = $1"
        + (" FOR UPDATE" if lock else ""),
        commission_id,
    )
    return None if row is None else _commission(row)


async def task_commissions(conn: Conn, task_id: str) -> list[Commission]:
    """A task's commissions, oldest first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM commissions WHERE task_id = $1 ORDER BY opened_at, commission_id",
        task_id,
    )
    return [_commission(r) for r in rows]


async def commission_facts(
    conn: Conn, task_ids: Sequence[str]
) -> dict[str, tuple[CommissionFacts, ...]]:
    """What result checks need of the commissions of these tasks, oldest first per task."""
    rows = await conn.fetch(
        """SELECT commission_id, task_id, item_code, body_name, conclusion, allowed_categories
           FROM commissions WHERE task_id = ANY($1::text[])
           ORDER BY task_id, opened_at, commission_id""",
        list(task_ids),
    )
    out: dict[str, list[CommissionFacts]] = {}
    for r in rows:
        out.setdefault(r["task_id"], []).append(
            CommissionFacts(
                commission_id=r["commission_id"],
                item_code=r["item_code"],
                body_name=r["body_name"],
                conclusion=None
                if r["conclusion"] is None
                else CommissionConclusion(r["conclusion"]),
                allowed_categories=tuple(r["allowed_categories"]),
            )
        )
    return {task_id: tuple(facts) for task_id, facts in out.items()}
