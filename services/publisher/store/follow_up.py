"""SQL of the follow-up after a finding: referrals' acknowledgements and outcomes, re-checks of
orders to correct, and what a task shows of them.

A referral is its outbox row (destination `referral`, one per result version, its body the
`referral.created` event); `referrals` holds what the receiving body said of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from contracts.publisher import RectificationChecked, RectificationEntry, ReferralState
from services.publisher.domain.follow_up import OrderToCorrect, ReferralRecord
from services.publisher.store.conn import Conn


@dataclass(frozen=True, slots=True)
class ReferralTarget:
    """A referral as made: the result version, its task, where it went."""

    referral_id: str
    result_id: str
    version: int
    task_id: str
    to: str


async def referral_target(conn: Conn, result_id: str, version: int) -> ReferralTarget | None:
    """The referral made for this result version, or None (none was made). Its outbox row is
    locked: two answers to one referral at once are recorded one after the other (the second
    then sees the first), even before `referrals` has its row."""
    row = await conn.fetchrow(
        """SELECT r.task_id, coalesce(o.payload->>'to', 'case_handling') AS to_
           FROM outbox o JOIN results r USING (result_id, version)
           WHERE o.result_id = $1 AND o.version = $2 AND o.destination = 'referral'
           FOR UPDATE OF o""",
        result_id,
        version,
    )
    if row is None:
        return None
    return ReferralTarget(
        referral_id=f"{result_id}:v{version}",
        result_id=result_id,
        version=version,
        task_id=row["task_id"],
        to=row["to_"],
    )


def _record(r: asyncpg.Record) -> ReferralRecord:
    return ReferralRecord(
        referral_id=r["referral_id"],
        result_id=r["result_id"],
        version=r["version"],
        receiver=r["receiver"],
        case_number=r["case_number"],
        received_at=r["received_at"],
        acknowledged_by=r["acknowledged_by"],
        outcome=r["outcome"],
        decided_at=r["decided_at"],
        penalty=r["penalty"],
        concluded_by=r["concluded_by"],
    )


async def get_referral(conn: Conn, referral_id: str) -> ReferralRecord | None:
    """What the receiving body said of this referral, locked for a change (None: nothing)."""
    row = await conn.fetchrow(
        "SELECT * FROM referrals WHERE referral_id = $1 FOR UPDATE", referral_id
    )
    return None if row is None else _record(row)


async def save_referral(conn: Conn, r: ReferralRecord) -> None:
    """Insert or replace what the receiving body said of a referral."""
    await conn.execute(
        """INSERT INTO referrals (referral_id, result_id, version, receiver, case_number,
               received_at, acknowledged_by, outcome, decided_at, penalty, concluded_by,
               updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11, now())
           ON CONFLICT (referral_id) DO UPDATE SET receiver = EXCLUDED.receiver,
               case_number = EXCLUDED.case_number, received_at = EXCLUDED.received_at,
               acknowledged_by = EXCLUDED.acknowledged_by, outcome = EXCLUDED.outcome,
               decided_at = EXCLUDED.decided_at, penalty = EXCLUDED.penalty,
               concluded_by = EXCLUDED.concluded_by, updated_at = now()""",
        r.referral_id,
        r.result_id,
        r.version,
        r.receiver,
        r.case_number,
        r.received_at,
        r.acknowledged_by,
        r.outcome,
        r.decided_at,
        r.penalty,
        r.concluded_by,
    )


async def task_referrals(conn: Conn, task_id: str) -> list[ReferralState]:
    """Every referral of a task's result versions, oldest first, with what its receiving body
    said (status computed as `ReferralRecord.status` does)."""
    rows = await conn.fetch(
        """SELECT o.result_id || ':v' || o.version AS referral_id, o.result_id, o.version,
                  r.task_id, coalesce(o.payload->>'to', 'case_handling') AS to_,
                  f.receiver, f.case_number, f.received_at, f.outcome, f.decided_at,
                  f.penalty, coalesce(f.concluded_by, f.acknowledged_by) AS updated_by,
                  CASE WHEN f.outcome IS NOT NULL THEN 'concluded'
                       WHEN f.received_at IS NOT NULL THEN 'acknowledged'
                       ELSE 'referred' END AS status
           FROM results r JOIN outbox o USING (result_id, version)
                LEFT JOIN referrals f ON f.referral_id = o.result_id || ':v' || o.version
           WHERE r.task_id = $1 AND o.destination = 'referral'
           ORDER BY o.version""",
        task_id,
    )
    return [ReferralState.model_validate(_state(r)) for r in rows]


def _state(r: asyncpg.Record) -> dict[str, object]:
    out = {k: r[k] for k in r.keys() if k != "to_"}
    out["to"] = r["to_"]
    return out


@dataclass(frozen=True, slots=True)
class LatestOrder:
    """A result's latest version's order to correct, with what its task says of who may
    record its re-check (team, departments) and of the entity."""

    order: OrderToCorrect
    team: tuple[str, ...]
    departments: tuple[str, ...]
    uscc: str


async def latest_order(conn: Conn, result_id: str) -> LatestOrder | None:
    """The latest version of a result with its order to correct, locked for the re-check;
    None: no such result."""
    row = await conn.fetchrow(
        """SELECT r.result_id, r.version, r.task_id, r.check_date,
                  (r.follow_up->>'rectify_by')::date AS rectify_by,
                  t.team, t.departments, t.uscc
           FROM results r JOIN tasks t ON t.task_id = r.task_id
           WHERE r.result_id = $1 ORDER BY r.version DESC LIMIT 1
           FOR UPDATE OF r""",
        result_id,
    )
    if row is None:
        return None
    order = OrderToCorrect(
        result_id=row["result_id"],
        version=row["version"],
        task_id=row["task_id"],
        check_date=row["check_date"],
        rectify_by=row["rectify_by"],
    )
    return LatestOrder(order, tuple(row["team"]), tuple(row["departments"]), row["uscc"])


_CHECK_COLUMNS = (
    "c.result_id, c.version, c.task_id, c.checked_on, c.rectified, c.note, "
    "c.recheck_task_id, c.checked_by, c.recorded_at"
)


async def get_rectification_check(conn: Conn, result_id: str) -> RectificationChecked | None:
    """The re-check recorded for a result, or None."""
    row = await conn.fetchrow(
        f"""SELECT {_CHECK_COLUMNS}, t.uscc, (r.follow_up->>'rectify_by')::date AS rectify_by
            FROM rectification_checks c JOIN results r USING (result_id, version)
                 JOIN tasks t ON t.task_id = c.task_id
            WHERE c.result_id = $1""",
        result_id,
    )
    return None if row is None else RectificationChecked.model_validate(dict(row))


async def insert_rectification_check(conn: Conn, c: RectificationChecked) -> None:
    """Record a re-check (the caller checked that none is recorded)."""
    await conn.execute(
        """INSERT INTO rectification_checks (result_id, version, task_id, checked_on, rectified,
               note, recheck_task_id, checked_by, recorded_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)""",
        c.result_id,
        c.version,
        c.task_id,
        c.checked_on,
        c.rectified,
        c.note,
        c.recheck_task_id,
        c.checked_by,
        c.recorded_at,
    )


async def rectifications(
    conn: Conn,
    *,
    today: date,
    overdue_only: bool,
    department: str | None,
    limit: int,
    offset: int,
) -> list[RectificationEntry]:
    """The orders to correct of results' latest versions, by deadline (oldest first), with
    their re-checks; `overdue_only`: the deadline passed (before `today`) with none;
    `department`: tasks of that department only."""
    rows = await conn.fetch(
        # Orders first, then whether a later version replaced them (by the primary key).
        """WITH latest AS (
                SELECT r.result_id, r.version, r.task_id, r.follow_up FROM results r
                WHERE r.follow_up->>'rectify_by' IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM results n
                                  WHERE n.result_id = r.result_id AND n.version > r.version))
            SELECT l.result_id, l.version, l.task_id, t.uscc, t.entity_name, t.departments,
                   (l.follow_up->>'rectify_by')::date AS rectify_by,
                   coalesce(l.follow_up->>'rectification', '') AS rectification,
                   c.result_id IS NOT NULL AS checked, c.checked_on, c.rectified, c.note,
                   c.recheck_task_id, c.checked_by, c.recorded_at
            FROM latest l JOIN tasks t ON t.task_id = l.task_id
                 LEFT JOIN rectification_checks c ON c.result_id = l.result_id
            WHERE ($2::text IS NULL OR $2 = ANY (t.departments))
              AND (NOT $3 OR (c.result_id IS NULL
                              AND (l.follow_up->>'rectify_by')::date < $1))
            ORDER BY rectify_by, l.result_id
            LIMIT $4 OFFSET $5""",
        today,
        department,
        overdue_only,
        limit,
        offset,
    )
    out = []
    for r in rows:
        check = None
        if r["checked"]:
            check = RectificationChecked(
                result_id=r["result_id"],
                version=r["version"],
                task_id=r["task_id"],
                uscc=r["uscc"],
                rectify_by=r["rectify_by"],
                checked_on=r["checked_on"],
                rectified=r["rectified"],
                note=r["note"],
                recheck_task_id=r["recheck_task_id"],
                checked_by=r["checked_by"],
                recorded_at=r["recorded_at"],
            )
        out.append(
            RectificationEntry(
                result_id=r["result_id"],
                version=r["version"],
                task_id=r["task_id"],
                uscc=r["uscc"],
                entity_name=r["entity_name"],
                departments=list(r["departments"]),
                rectify_by=r["rectify_by"],
                rectification=r["rectification"],
                overdue=check is None and r["rectify_by"] < today,
                check=check,
            )
        )
    return out
