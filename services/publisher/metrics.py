"""The publisher's gauges: results at risk / overdue and outbox rows per state, refreshed by a
background watch of the deadline report."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import asyncpg
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.publisher.queries import PublisherQueries

log = logging.getLogger("spotcheck.publisher.ops")


async def watch(queries: PublisherQueries, *, every_s: float) -> None:
    """Refresh the counts the metrics export, until cancelled."""
    while True:
        try:
            await queries.at_risk_and_overdue()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("deadline watch: %s", exc)
        await asyncio.sleep(every_s)


class PublisherCollector(Collector):
    """Exports the last counts: results at risk / overdue, outbox rows per state."""

    def __init__(self, queries: PublisherQueries) -> None:
        self.queries = queries

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Gauges from the last refresh."""
        counts = self.queries.counts
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


def register_metrics(registry: CollectorRegistry, queries: PublisherQueries) -> None:
    """Export the publisher's gauges from the app's registry (once per registry)."""
    with contextlib.suppress(ValueError):  # already registered
        registry.register(PublisherCollector(queries))
