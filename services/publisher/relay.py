"""The relay: delivers the outbox to every destination, at least once, under idempotency keys.

Runs inside the publisher service, or alone (`python -m services.publisher.relay`) so that an
operator can scale or restart it separately. Several relays may run at once: rows are leased
with `FOR UPDATE SKIP LOCKED`; a relay that dies leaves its leased rows to come due again.
When to claim a batch (a `NOTIFY`, a nudge from intake, a timer; backing off while the database
is away) is the kit's `RelayLoop`; what a batch is, how each row is delivered and what is
recorded is here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime

from contracts.publisher import DeliveryState
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.errors import TemporaryError
from services.kit.relay import RelayLoop
from services.publisher import store
from services.publisher.domain.delivery import (
    Outcome,
    RetryPolicy,
    after_failure,
    after_success,
    http_failure_is_permanent,
)
from services.publisher.domain.platforms import PREFIX, platform_of
from services.publisher.http_post import HttpError, HttpPoster
from services.publisher.platforms import PlatformFailed, Platforms

log = logging.getLogger("spotcheck.publisher.relay")
SWEEP_S = 60.0
"""How often an idle relay looks for result versions delivered but not stamped disclosed."""


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
        platforms: Platforms | None = None,
    ) -> None:
        self.db = db
        # The outside platforms (监督平台, 公示系统, 执法服务网): `platform:<id>` rows.
        self.platforms = platforms or Platforms()
        self.disclosing = bool(self.platforms.disclosing())
        self.bus = bus
        self.source = source
        self.policy = policy or RetryPolicy()
        self.rand = rand or random.SystemRandom().random
        self.batch = batch
        self.lease_s = lease_s
        self.workers = workers
        self.nats_limit = asyncio.Semaphore(nats_window)
        # `workers` loops claim and record batches concurrently (leases keep them apart); a
        # partial batch means the outbox is nearly drained: look again soon.
        self.loop = RelayLoop(
            name="publisher-relay",
            step=self.run_once,
            batch=batch,
            idle_s=idle_s,
            partial_s=0.05,
            workers=workers,
            wake=wake,
            db=db,
            channel=store.OUTBOX_CHANNEL,
        )
        self.disclosure = (
            HttpPoster(disclosure_url, connections=http_window, timeout_s=http_timeout_s)
            if disclosure_url
            else None
        )
        self.nats_timeout_s = max(http_timeout_s, 10.0)
        self.delivered = 0
        self.failed = 0
        self._swept = -SWEEP_S

    @property
    def wake(self) -> asyncio.Event:
        """Set it to claim due rows now (intake does after each commit)."""
        return self.loop.wake

    def stop(self) -> None:
        """Finish the batches in progress (their outcomes recorded), then return from `run`."""
        self.loop.stop()

    async def run(self) -> None:
        """Deliver until cancelled or stopped."""
        try:
            await self.loop.run()
        finally:
            if self.disclosure is not None:
                await self.disclosure.aclose()
            await self.platforms.aclose()

    async def run_once(self) -> int:
        """Deliver one batch of due rows; returns how many rows were attempted."""
        rows = await store.claim_due(self.db.pool, limit=self.batch, lease_s=self.lease_s)
        if not rows:
            now = time.monotonic()
            if now - self._swept >= SWEEP_S:
                # A relay that died between recording a batch and settling it left versions
                # delivered but not stamped disclosed: the idle relay stamps them.
                self._swept = now
                await store.settle_disclosures(self.db.pool)
            return 0
        outcomes = await asyncio.gather(*(self._attempt(r) for r in rows))
        await store.record_outcomes(self.db.pool, list(zip(rows, outcomes, strict=True)))
        # A result is published (its clock stopped) once every disclosure is delivered: the
        # built-in one and each disclosing platform's (migration 015).
        # Without disclosing platforms the built-in disclosure is the only one, stamped with
        # the outcomes above; with them, after that commit (store.settle_disclosures).
        disclosed = {
            (r.result_id, r.version)
            for r, o in zip(rows, outcomes, strict=True)
            if r.version is not None
            and o.state is DeliveryState.DELIVERED
            and (r.destination == "disclosure" or r.destination.startswith(PREFIX))
        }
        if disclosed and self.disclosing:
            await store.settle_disclosures(self.db.pool, sorted(disclosed))
        return len(rows)

    async def _attempt(self, row: store.DueDelivery) -> Outcome:
        try:
            await self._deliver(row)
        except DeliveryFailed as exc:
            self.failed += 1
            return after_failure(
                attempts=row.attempts,
                error=str(exc)[:500],
                permanent=exc.permanent,
                now=datetime.now(UTC),
                policy=self.policy,
                rand=self.rand,
            )
        except Exception as exc:  # unknown: retried, never lost
            self.failed += 1
            log.exception("delivery %s failed", row.idempotency_key)
            return after_failure(
                attempts=row.attempts,
                error=f"{type(exc).__name__}: {exc}"[:500],
                permanent=False,
                now=datetime.now(UTC),
                policy=self.policy,
                rand=self.rand,
            )
        self.delivered += 1
        return after_success(attempts=row.attempts)

    async def _deliver(self, row: store.DueDelivery) -> None:
        if row.destination == "disclosure":
            await self._post_disclosure(row)
        elif (platform := platform_of(row.destination)) is not None:
            await self._to_platform(platform, row)
        else:
            async with self.nats_limit:
                await self._publish(row)

    async def _post_disclosure(self, row: store.DueDelivery) -> None:
        if self.disclosure is None:
            return  # the embedded default: the built-in public pages are the disclosure
        try:
            reply = await self.disclosure.post(
                row.body.encode("utf-8"),
                {
                    "Idempotency-Key": row.idempotency_key,
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

    async def _to_platform(self, platform: str, row: store.DueDelivery) -> None:
        adapter = self.platforms.adapters.get(platform)
        if adapter is None:
            # Its mapping was taken out of the folder: retried, then a dead letter to replay
            # once it is back (or to leave, if the platform is gone for good).
            raise DeliveryFailed(f"platform {platform} is not configured")
        body = json.loads(row.body)
        try:
            record = body["records"] if "records" in body else body["record"]
            await adapter.send(kind=body["kind"], record=record, key=row.idempotency_key)
        except PlatformFailed as exc:
            raise DeliveryFailed(str(exc), permanent=exc.permanent) from exc

    async def _publish(self, row: store.DueDelivery) -> None:
        subject = row.subject or ""  # only disclosure rows have none
        try:
            await self.bus.publish_raw(
                subject,
                row.body.encode("utf-8"),
                event_id=row.idempotency_key,
                source=self.source,
                timeout=self.nats_timeout_s,
            )
        except TemporaryError as exc:  # no ack within the timeout
            raise DeliveryFailed(str(exc)) from exc
        except Exception as exc:
            raise DeliveryFailed(f"JetStream publish to {subject}: {exc}") from exc


async def _main() -> None:  # pragma: no cover - exercised by the integration tests
    from services.kit.logs import setup_logging
    from services.kit.settings import load_settings
    from services.publisher.domain.categories import load_categories
    from services.publisher.platforms import configured_platforms
    from services.publisher.settings import load_publisher_settings

    settings = load_settings()
    mine = load_publisher_settings()
    setup_logging("publisher-relay", level=settings.log_level, json_lines=settings.log_json)
    platforms = configured_platforms(mine, load_categories())  # a bad mapping stops us here
    db = Database(url=settings.database_url, schema="publisher", pool_max=4)
    await db.connect()
    bus = await Bus.connect(
        settings.nats_url,
        name="spotcheck-publisher-relay",
        credentials=settings.nats_credentials(),
    )
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
        platforms=platforms,
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
