"""SQL of the stored holiday calendar (one row) and its lock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.publisher.store.conn import Conn


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
