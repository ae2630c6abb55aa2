"""The relay: delivers the outbox to every destination, at least once, under idempotency keys.

Runs inside the publisher service, or alone (`python -m services.publisher.relay`) so that an
operator can scale or restart it separately. Several relays may run at once: rows are leased
with `FOR UPDATE SKIP LOCKED`; a relay that dies leaves its leased rows to come due again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from nats.errors import TimeoutError as NatsTimeout

from services.kit.bus import Bus
from services.kit.db import Database
from services.publisher import store
from services.publisher.domain.delivery import (
    Outcome,
    RetryPolicy,
    after_failure,
    after_success,
    http_failure_is_permanent,
)
from services.publisher.http_post import HttpError, HttpPoster

log = logging.getLogger("spotcheck.publisher.relay")


class DeliveryFailed(Exception):
    """One attempt failed; `permanent` means the destination refused the content itself."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Relay:
    """Delivers due outbox rows in batches, concurrently, and records each batch's outcomes.

    Each destination has its own window of deliveries in flight: the disclosure system at most
    `http_window` POSTs (one keep-alive connection each), JetStream at most `nats_window`
    unacknowledged publishes. `workers` batches are in progress at once, so that claiming and
    recording one batch overlaps delivering another.
    """

    def __init__(
        self,
        *,
        db: Database,
        bus: Bus,
        source: str,
        disclosure_url: str,
        http_timeout_s: float = 10.0,
        policy: RetryPolicy | None = None,
        rand: Callable[[], float] | None = None,
        batch: int = 500,
        lease_s: float = 60.0,
        http_window: int = 128,
        nats_window: int = 1000,
        workers: int = 2,
        wake: asyncio.Event | None = None,
        idle_s: float = 0.5,
    ) -> None:
        self.db = db
        self.bus = bus
        self.source = source
        self.policy = policy or RetryPolicy()
        self.rand = rand or random.SystemRandom().random
        self.batch = batch
        self.lease_s = lease_s
        self.workers = workers
        self.nats_limit = asyncio.Semaphore(nats_window)
        self.wake = wake or asyncio.Event()
        self.idle_s = idle_s
        self.disclosure = (
            HttpPoster(disclosure_url, connections=http_window, timeout_s=http_timeout_s)
            if disclosure_url
            else None
        )
        self.nats_timeout_s = max(http_timeout_s, 10.0)
        self.delivered = 0
        self.failed = 0
        self._stopping = False

    def stop(self) -> None:
        """Finish the batches in progress (their outcomes recorded), then return from `run`."""
        self._stopping = True
        self.wake.set()

    async def run(self) -> None:
        """Deliver until cancelled or stopped."""
        listener = await self._listen()
        try:
            await asyncio.gather(*(self._loop() for _ in range(self.workers)))
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.remove_listener(store.OUTBOX_CHANNEL, self._notified)
                with contextlib.suppress(Exception):
                    await self.db.pool.release(listener)
            if self.disclosure is not None:
                await self.disclosure.aclose()

    def _notified(self, *_: object) -> None:
        self.wake.set()

    async def _listen(self) -> Any:
        """Hold a connection that LISTENs for new outbox rows (polling stays the fallback)."""
        conn = None
        try:
            conn = await self.db.pool.acquire()
            await conn.add_listener(store.OUTBOX_CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("relay: cannot listen for new deliveries, polling: %s", exc)
            if conn is not None:
                await self.db.pool.release(conn)
            return None
        except BaseException:
            # Cancelled while starting (a service stopped at once): never keep the connection,
            # or closing the pool would wait for it.
            if conn is not None:
                with contextlib.suppress(Exception):
                    await self.db.pool.release(conn)
            raise
        return conn

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                n = await self.run_once()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("relay: database unavailable: %s", exc)
                n = 0
            if n < self.batch and not self._stopping:
                # Less than a full batch was due: wait for new work rather than spin.
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.idle_s if n == 0 else 0.05)

    async def run_once(self) -> int:
        """Deliver one batch of due rows; returns how many rows were attempted."""
        rows = await store.claim_due(self.db.pool, limit=self.batch, lease_s=self.lease_s)
        if not rows:
            return 0
        outcomes = await asyncio.gather(*(self._attempt(r) for r in rows))
        await store.record_outcomes(self.db.pool, list(zip(rows, outcomes, strict=True)))
        return len(rows)

    async def _attempt(self, row: asyncpg.Record) -> Outcome:
        try:
            await self._deliver(row)
        except DeliveryFailed as exc:
            self.failed += 1
            return after_failure(
                attempts=row["attempts"],
                error=str(exc)[:500],
                permanent=exc.permanent,
                now=datetime.now(UTC),
                policy=self.policy,
                rand=self.rand,
            )
        except Exception as exc:  # unknown: retried, never lost
            self.failed += 1
            log.exception("delivery %s failed", row["idempotency_key"])
            return after_failure(
                attempts=row["attempts"],
                error=f"{type(exc).__name__}: {exc}"[:500],
                permanent=False,
                now=datetime.now(UTC),
                policy=self.policy,
                rand=self.rand,
            )
        self.delivered += 1
        return after_success(attempts=row["attempts"])

    async def _deliver(self, row: asyncpg.Record) -> None:
        if row["destination"] == "disclosure":
            await self._post_disclosure(row)
        else:
            async with self.nats_limit:
                await self._publish(row)

    async def _post_disclosure(self, row: asyncpg.Record) -> None:
        if self.disclosure is None:
            return  # the embedded default: the built-in public pages are the disclosure
        try:
            reply = await self.disclosure.post(
                row["body"].encode("utf-8"),
                {
                    "Idempotency-Key": row["idempotency_key"],
                    "Content-Type": "application/json; charset=utf-8",
                },
            )
        except HttpError as exc:
            raise DeliveryFailed(f"disclosure: {exc}") from exc
        if reply.status >= 300:
            raise DeliveryFailed(
                f"disclosure answered HTTP {reply.status}: "
                f"{reply.body[:200].decode('utf-8', 'replace')}",
                permanent=http_failure_is_permanent(reply.status),
            )

    async def _publish(self, row: asyncpg.Record) -> None:
        key = row["idempotency_key"]
        subject = row["subject"]
        headers = {
            "ce-specversion": "1.0",
            "ce-id": key,
            "ce-source": self.source,
            "ce-type": _event_type(subject),
            "ce-time": datetime.now(UTC).isoformat(),
            "content-type": "application/json",
            "Nats-Msg-Id": key,
        }
        try:
            await self.bus.js.publish(
                subject, row["body"].encode("utf-8"), headers=headers, timeout=self.nats_timeout_s
            )
        except (TimeoutError, NatsTimeout) as exc:
            raise DeliveryFailed(f"JetStream did not acknowledge {subject}") from exc
        except Exception as exc:
            raise DeliveryFailed(f"JetStream publish to {subject}: {exc}") from exc


def _event_type(subject: str) -> str:
    parts = subject.split(".")
    if parts[3:5] == ["result", "published"]:
        return ".".join(parts[:5])
    return subject


async def _main() -> None:  # pragma: no cover - exercised by the integration tests
    from services.kit.logs import setup_logging
    from services.kit.settings import load_settings
    from services.publisher.settings import load_publisher_settings

    settings = load_settings()
    mine = load_publisher_settings()
    setup_logging("publisher-relay", level=settings.log_level, json_lines=settings.log_json)
    db = Database(url=settings.database_url, schema="publisher", pool_max=4)
    await db.connect()
    bus = await Bus.connect(settings.nats_url, name="spotcheck-publisher-relay")
    relay = Relay(
        db=db,
        bus=bus,
        source="spotcheck-publisher",
        disclosure_url=settings.disclosure_url,
        http_timeout_s=mine.http_timeout_s,
        policy=mine.retry_policy(),
        batch=mine.relay_batch,
        lease_s=mine.relay_lease_s,
        http_window=mine.http_window,
        nats_window=mine.nats_window,
        workers=mine.relay_workers,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, relay.stop)
    try:
        await relay.run()
    finally:
        await bus.close()
        await db.close()


if __name__ == "__main__":  # pragma: no cover
    asyncio.run(_main())
