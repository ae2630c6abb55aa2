"""The audit trail (全过程留痕): append in the caller's transaction, publish after commit.

`AuditTrail.append(conn, …)` adds an entry to this service's hash chain inside the caller's
transaction, so the entry exists if and only if the change it records was committed. A
background task then copies committed entries to the `AUDIT` stream (deny delete, deny purge)
with `Nats-Msg-Id` = `<service>-<seq>`, so a crash between the two never loses or doubles one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg

from contracts.base import Contract
from contracts.subjects import audit_subject
from services.kit.bus import Bus
from services.kit.chain import GENESIS, BrokenLink, Entry, normalise, verify_chain
from services.kit.db import Database

log = logging.getLogger("spotcheck.audit")


class AuditEvent(Contract):
    """An audit entry as it travels on the `AUDIT` stream."""

    service: str
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    data: Any
    prev_sha256: str
    sha256: str


class AuditTrail:
    """One service's chain."""

    def __init__(self, *, service: str, db: Database, bus: Bus | None) -> None:
        self.service = service
        self.db = db
        self.bus = bus
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def append(
        self,
        conn: asyncpg.Connection,
        *,
        actor: str,
        action: str,
        subject: str,
        data: Any = None,
    ) -> Entry:
        """Append an entry inside the caller's transaction (`conn` must be in one)."""
        # One writer at a time per chain; the lock is released at commit or rollback.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"audit:{self.service}")
        last = await conn.fetchrow("SELECT seq, sha256 FROM audit_log ORDER BY seq DESC LIMIT 1")
        seq = (last["seq"] if last else 0) + 1
        prev = last["sha256"] if last else GENESIS
        entry = Entry(
            service=self.service,
            seq=seq,
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            subject=subject,
            data=normalise(data if data is not None else {}),
            prev_sha256=prev,
        )
        digest = entry.digest()
        await conn.execute(
            "INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_sha256, sha256)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.subject,
            entry.data,
            entry.prev_sha256,
            digest,
        )
        self._wake.set()
        return Entry(**{**entry.__dict__, "sha256": digest})

    async def entries(self, *, after: int = 0, limit: int | None = None) -> list[Entry]:
        """Entries in sequence order."""
        sql = "SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        async with self.db.pool.acquire() as conn:
            rows = await conn.fetch(sql, after)
        return [_entry(self.service, r) for r in rows]

    async def verify(self) -> BrokenLink | None:
        """Re-walk the whole chain; the first broken link, or None when intact."""
        return verify_chain(await self.entries())

    def start_publisher(self) -> None:
        """Copy committed entries to the AUDIT stream in the background."""
        if self.bus is not None and self._task is None:
            self._task = asyncio.create_task(self._publish_loop(), name="audit-publisher")

    async def stop(self) -> None:
        """Stop the background publisher."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def publish_pending(self) -> int:
        """Publish every committed, unpublished entry (a window at a time); returns how many."""
        assert self.bus is not None
        bus = self.bus
        async with self.db.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM audit_log WHERE NOT published ORDER BY seq LIMIT 500"
            )
            if not rows:
                return 0
            entries = [_entry(self.service, row) for row in rows]
            await asyncio.gather(
                *(
                    bus.publish_event(
                        audit_subject(self.service),
                        AuditEvent(**entry.__dict__),
                        event_id=f"{self.service}-{entry.seq}",
                        time=entry.at,
                    )
                    for entry in entries
                )
            )
            await conn.execute(
                "UPDATE audit_log SET published = true WHERE seq = ANY($1::bigint[])",
                [e.seq for e in entries],
            )
        return len(rows)

    async def _publish_loop(self) -> None:
        while True:
            try:
                while await self.publish_pending():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("audit publish failed, will retry: %s", exc)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=5)


def _entry(service: str, row: asyncpg.Record) -> Entry:
    return Entry(
        service=service,
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        subject=row["subject"],
        data=row["data"],
        prev_sha256=row["prev_sha256"],
        sha256=row["sha256"],
    )
