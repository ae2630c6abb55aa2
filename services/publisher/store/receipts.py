"""SQL of the 监督平台's receipts as read and relayed to the planner (migration 016)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from contracts.publisher import PlatformReceipt
from services.publisher.store.conn import Conn

RECEIPTS_LOCK = 0x5EC0_0016
"""The advisory lock one poll of the receipts holds: copies of the publisher watching the same
folder read each file once."""


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    """A receipt as recorded."""

    platform: str
    ack_id: str
    plan_id: str
    kind: str
    acknowledged_on: date
    state: str
    reason: str | None


async def get_receipt(conn: Conn, platform: str, ack_id: str) -> StoredReceipt | None:
    """The receipt recorded under this platform's ack id, if any."""
    row = await conn.fetchrow(
        "SELECT platform, ack_id, plan_id, kind, acknowledged_on, state, reason"
        " FROM platform_receipts WHERE platform = $1 AND ack_id = $2",
        platform,
        ack_id,
    )
    return None if row is None else StoredReceipt(*row)


async def save_receipt(
    conn: Conn,
    *,
    platform: str,
    ack_id: str,
    plan_id: str,
    kind: str,
    acknowledged_on: date,
    source: str,
    line: int,
    state: str,
    reason: str | None,
    flags: Sequence[str],
) -> None:
    """Record a receipt's outcome (a refused one tried again takes the new outcome)."""
    await conn.execute(
        """INSERT INTO platform_receipts (platform, ack_id, plan_id, kind, acknowledged_on,
               source, line, state, reason, flags)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
           ON CONFLICT (platform, ack_id) DO UPDATE SET plan_id = $3, kind = $4,
               acknowledged_on = $5, source = $6, line = $7, state = $8, reason = $9,
               flags = $10, recorded_at = now()
           WHERE platform_receipts.state = 'refused'""",
        platform,
        ack_id,
        plan_id,
        kind,
        acknowledged_on,
        source,
        line,
        state,
        reason,
        list(flags),
    )


async def try_lock_receipts(conn: Conn) -> bool:
    """Take the receipts' session lock on this connection, if free."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", RECEIPTS_LOCK))


async def unlock_receipts(conn: Conn) -> None:
    """Release it."""
    await conn.execute("SELECT pg_advisory_unlock($1)", RECEIPTS_LOCK)


async def list_receipts(conn: Conn, *, state: str | None, limit: int) -> list[PlatformReceipt]:
    """The receipts read, newest first, optionally of one state."""
    rows = await conn.fetch(
        "SELECT platform, ack_id, plan_id, kind, acknowledged_on, source, line, state, reason,"
        " flags, recorded_at FROM platform_receipts WHERE ($1::text IS NULL OR state = $1)"
        " ORDER BY recorded_at DESC, platform, ack_id LIMIT $2",
        state,
        limit,
    )
    return [PlatformReceipt.model_validate(dict(r)) for r in rows]
