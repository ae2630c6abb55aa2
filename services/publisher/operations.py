"""Operator views: deliveries and dead letters, replay, deadlines and their metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from contracts.publisher import DeadlineEntry, Delivery, DeliveryState
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.errors import NotFound
from services.publisher import store
from services.publisher.calendars import Calendars
from services.publisher.domain import delivery as policy
from services.publisher.domain.deadlines import DeadlineState, deadline

log = logging.getLogger("spotcheck.publisher.ops")


def _delivery(r: asyncpg.Record) -> Delivery:
    return Delivery(
        id=r["id"],
        result_id=r["result_id"],
        version=r["version"],
        destination=r["destination"],
        idempotency_key=r["idempotency_key"],
        state=DeliveryState(r["state"]),
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"] if r["state"] == "pending" else None,
        last_error=r["last_error"],
        delivered_at=r["delivered_at"],
    )


class Operations:
    """What `spotcheck publisher …` asks of the service."""

    def __init__(
        self,
        *,
        db: Database,
        audit: AuditTrail,
        calendars: Calendars,
        wake: asyncio.Event,
        public_base_url: str,
    ) -> None:
        self.db = db
        self.audit = audit
        self.calendars = calendars
        self.wake = wake
        self.public_base_url = public_base_url
        self.counts: dict[str, int] = {}

    async def deliveries(self, *, state: DeliveryState | None, limit: int) -> list[Delivery]:
        """Outbox rows, optionally of one state."""
        async with self.db.pool.acquire() as conn:
            rows = await store.list_deliveries(
                conn, state=state.value if state else None, limit=limit
            )
        return [_delivery(r) for r in rows]

    async def replay(self, delivery_id: int, *, actor: str) -> Delivery:
        """A dead letter goes back to pending (same key); audited."""
        async with self.db.transaction() as conn:
            row = await store.get_delivery(conn, delivery_id)
            if row is None:
                raise NotFound(f"no delivery {delivery_id}")
            outcome = policy.replay(DeliveryState(row["state"]), now=datetime.now(UTC))
            await store.set_pending(conn, delivery_id, outcome)
            await self.audit.append(
                conn,
                actor=actor,
                action="delivery.replayed",
                subject=str(delivery_id),
                data={
                    "idempotency_key": row["idempotency_key"],
                    "last_error": row["last_error"],
                    "attempts": row["attempts"],
                },
            )
            row = await store.get_delivery(conn, delivery_id)
        self.wake.set()
        assert row is not None
        return _delivery(row)

    async def versions(self, result_id: str) -> list[dict[str, Any]]:
        """Every version of a result, oldest first."""
        async with self.db.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM results WHERE result_id = $1 ORDER BY version", result_id
            )
        return [
            {
                k: (v.isoformat() if isinstance(v, date | datetime) else v)
                for k, v in dict(r).items()
            }
            for r in rows
        ]

    async def at_risk_and_overdue(self, *, today: date | None = None) -> list[DeadlineEntry]:
        """Unpublished results at risk or overdue; refreshes the metric counts."""
        today = today or datetime.now(UTC).date()
        async with self.db.pool.acquire() as conn:
            workdays = self.calendars.workdays_of(await store.read_calendar(conn))
            rows = await store.unpublished(conn)
            outbox = await store.outbox_counts(conn)
        out: list[DeadlineEntry] = []
        counts = {s.value: 0 for s in DeadlineState}
        for r in rows:
            d = deadline(r["check_date"], today=today, workdays=workdays)
            counts[d.state.value] += 1
            if d.state in (DeadlineState.AT_RISK, DeadlineState.OVERDUE):
                out.append(
                    DeadlineEntry(
                        result_id=r["result_id"],
                        version=r["version"],
                        task_id=r["task_id"],
                        uscc=r["uscc"],
                        check_date=r["check_date"],
                        due_date=d.due,
                        state=d.state.value,
                        working_days_left=d.working_days_left,
                        provisional=d.provisional,
                    )
                )
        self.counts = {
            **{f"deadline_{k}": v for k, v in counts.items()},
            **{f"outbox_{k}": v for k, v in outbox.items()},
        }
        return out

    async def watch(self, *, every_s: float) -> None:
        """Refresh the counts the metrics export, until cancelled."""
        while True:
            try:
                await self.at_risk_and_overdue()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("deadline watch: %s", exc)
            await asyncio.sleep(every_s)


class PublisherCollector(Collector):
    """Exports the last counts: results at risk / overdue, outbox rows per state."""

    def __init__(self, ops: Operations) -> None:
        self.ops = ops

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Gauges from the last refresh."""
        counts = self.ops.counts
        g = GaugeMetricFamily(
            "spotcheck_publisher_results",
            "Unpublished results by deadline state (at_risk, overdue, on_time)",
            labels=["state"],
        )
        for state in ("at_risk", "overdue", "on_time"):
            g.add_metric([state], counts.get(f"deadline_{state}", 0))
        yield g
        o = GaugeMetricFamily(
            "spotcheck_publisher_outbox", "Outbox deliveries by state", labels=["state"]
        )
        for state in ("pending", "delivered", "dead"):
            o.add_metric([state], counts.get(f"outbox_{state}", 0))
        yield o


def register_metrics(registry: CollectorRegistry, ops: Operations) -> None:
    """Export the publisher's gauges from the app's registry (once per registry)."""
    with contextlib.suppress(ValueError):  # already registered
        registry.register(PublisherCollector(ops))
