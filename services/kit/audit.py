"""The audit trail (全过程留痕): append in the caller's transaction, publish after commit.

`AuditTrail.append(conn, …)` adds an entry to this service's hash chain inside the caller's
transaction, so the entry exists if and only if the change it records was committed. A
background relay (the kit's `RelayLoop`) then copies committed entries to the `AUDIT` stream
(deny delete, deny purge) with `Nats-Msg-Id` = `audit:<service>:<seq>`, so a crash between the
two never loses or doubles one.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg

from contracts.base import Contract
from contracts.subjects import audit_subject
from services.kit.bus import Bus
from services.kit.chain import GENESIS, BrokenLink, Entry, normalise, verify_chain
from services.kit.db import Database
from services.kit.envelope import event_id
from services.kit.relay import RelayLoop

# Entries published per step, all in flight at once.
BATCH = 500


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
        # Woken by `append` in this process, otherwise every 5 s; after any entries it looks
        # again at once, until none is left.
        self.relay = RelayLoop(
            name="audit-publisher", step=self.publish_pending, batch=BATCH, idle_s=5.0, partial_s=0
        )

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
        self.relay.nudge()
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
        if self.bus is not None:
            self.relay.start()

    async def stop(self) -> None:
        """Stop the background publisher."""
        await self.relay.aclose()

    async def publish_pending(self) -> int:
        """Publish every committed, unpublished entry (a window at a time); returns how many."""
        assert self.bus is not None
        bus = self.bus
        async with self.db.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM audit_log WHERE NOT published ORDER BY seq LIMIT $1", BATCH
            )
            if not rows:
                return 0
            entries = [_entry(self.service, row) for row in rows]
            await asyncio.gather(
                *(
                    bus.publish_event(
                        audit_subject(self.service),
                        AuditEvent(**entry.__dict__),
                        event_id=event_id("audit", self.service, entry.seq),
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
