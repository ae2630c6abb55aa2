"""The event outbox: an event is published if and only if the change it records commits.

`Outbox.add(conn, subject, model)` writes the event in the caller's transaction; a relay in the
background (the kit's `RelayLoop`) publishes pending events in order with `Nats-Msg-Id` = the
event id, so a crash after publishing but before marking it published only leads to a
duplicate that JetStream drops. `flush()` publishes what is pending now (for commands that want
their event out before they answer).

The copies of a service share its outbox table (DESIGN §11): a batch is published under a
transaction-scoped advisory lock of the schema, so one copy publishes at a time and each event
is published once. A relay finding another copy at work leaves the batch to it; `flush()`
waits for it, then publishes what is still pending. A copy that dies mid-batch releases the
lock with its connection, and its rows are still pending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
from pydantic import BaseModel

from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.envelope import dumps, new_event_id
from services.kit.relay import RelayLoop

# JetStream publishes in flight at once while a batch is published.
WINDOW = 256
# From this many events on `add_many` queues by COPY instead of one pipelined INSERT.
COPY_MIN = 1000


class Outbox:
    """One service's outbox table and its relay."""

    def __init__(self, *, db: Database, bus: Bus, batch: int = 500) -> None:
        self.db = db
        self.bus = bus
        self.batch = batch
        self._lock = asyncio.Lock()
        # Woken by `add` in this process; otherwise every second. The pause after a wake lets
        # the transaction that queued the event commit first.
        self.relay = RelayLoop(
            name="outbox-relay",
            step=self._relay_step,
            batch=batch,
            idle_s=1.0,
            settle_s=0.02,
        )

    async def add(
        self, conn: Any, subject: str, event: BaseModel, *, event_id: str | None = None
    ) -> str:
        """Queue `event` on `subject` inside the caller's transaction; returns the event id.

        A repeated `event_id` is ignored, so re-running a handler does not queue twice.
        """
        eid = event_id or new_event_id()
        await conn.execute(
            "INSERT INTO event_outbox (event_id, subject, body) VALUES ($1, $2, $3)"
            " ON CONFLICT (event_id) DO NOTHING",
            eid,
            subject,
            dumps(event).decode("utf-8"),
        )
        self.relay.nudge()
        return eid

    async def add_many(self, conn: Any, events: Sequence[tuple[str, BaseModel | str, str]]) -> None:
        """Queue `(subject, event, event_id)` triples in the caller's transaction at once.

        An event may come serialised already: a `str` is the JSON text of its contract model
        (the draw writes each `task.assigned` body once, as its stored row and as the event).
        Repeated event ids are ignored, as in `add`. A small batch is one pipelined statement
        (a group commit of hundreds of results); from `COPY_MIN` events on they are copied
        straight into the table in a savepoint (a province draw queues 250k), and only if an id
        was queued before, through a staging table that skips the repeats. Order is kept.
        """
        if not events:
            return
        rows = [
            (eid, subject, event if isinstance(event, str) else dumps(event).decode("utf-8"))
            for subject, event, eid in events
        ]
        if len(rows) < COPY_MIN:
            await conn.executemany(
                "INSERT INTO event_outbox (event_id, subject, body) VALUES ($1, $2, $3)"
                " ON CONFLICT (event_id) DO NOTHING",
                rows,
            )
        else:
            try:
                # INSERT … ON CONFLICT from a staging table costs about three COPYs; a repeated
                # id is the rare case (a handler run again), so try the plain COPY first.
                async with conn.transaction():
                    await conn.copy_records_to_table(
                        "event_outbox", records=rows, columns=["event_id", "subject", "body"]
                    )
            except asyncpg.UniqueViolationError:
                await self._add_skipping_repeats(conn, rows)
        self.relay.nudge()

    @staticmethod
    async def _add_skipping_repeats(conn: Any, rows: list[tuple[str, str, str]]) -> None:
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS event_outbox_in (seq integer, event_id text,"
            " subject text, body text) ON COMMIT DELETE ROWS"
        )
        await conn.copy_records_to_table(
            "event_outbox_in",
            records=((i, *r) for i, r in enumerate(rows)),
            columns=["seq", "event_id", "subject", "body"],
        )
        await conn.execute(
            "INSERT INTO event_outbox (event_id, subject, body) SELECT event_id, subject, body"
            " FROM event_outbox_in ORDER BY seq ON CONFLICT (event_id) DO NOTHING"
        )

    async def flush(self) -> int:
        """Publish everything pending now; returns how many events were published."""
        total = 0
        while True:
            n = await self._publish_batch(wait=True)
            total += n
            if n < self.batch:
                return total

    async def _relay_step(self) -> int:
        return await self._publish_batch(wait=False)

    async def _publish_batch(self, *, wait: bool) -> int:
        key = f"outbox:{self.db.schema}"
        async with self._lock, self.db.transaction() as conn:
            if wait:
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", key)
            elif not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", key):
                return 0  # another copy is publishing this batch
            rows = await conn.fetch(
                "SELECT id, event_id, subject, body, created_at FROM event_outbox"
                " WHERE published_at IS NULL ORDER BY id LIMIT $1",
                self.batch,
            )
            if not rows:
                return 0
            for start in range(0, len(rows), WINDOW):
                chunk = rows[start : start + WINDOW]
                await asyncio.gather(
                    *(
                        self.bus.publish_raw(
                            r["subject"],
                            r["body"].encode("utf-8"),
                            event_id=r["event_id"],
                            time=r["created_at"],
                        )
                        for r in chunk
                    )
                )
            await conn.execute(
                "UPDATE event_outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                [r["id"] for r in rows],
            )
            return len(rows)

    def start(self) -> None:
        """Run the relay in the background."""
        self.relay.start()

    async def stop(self) -> None:
        """Stop the relay (pending events stay in the table for the next start)."""
        await self.relay.aclose()
