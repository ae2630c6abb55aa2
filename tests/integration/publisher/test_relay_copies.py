"""Two relays on one outbox (DESIGN §11, issue 18): they share the work, never a row.

Each relay here is a copy of its own: its own PostgreSQL pool and NATS connection, as two
`python -m services.publisher.relay` processes would have. Rows are leased with
`FOR UPDATE SKIP LOCKED` (a later `next_attempt_at`), so two relays draining one outbox each
attempt different rows; a relay that leased rows and died leaves them to come due when its
lease ends, and the other relay then delivers them, once. (A relay process killed with SIGKILL
mid-batch and started again: test_relay.py.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from services.kit.bus import Bus
from services.kit.db import Database
from services.publisher import store
from services.publisher.app import spec
from services.publisher.domain.delivery import RetryPolicy
from services.publisher.relay import Relay
from services.publisher.settings import PublisherSettings

from .conftest import wait_delivered
from .test_relay import submit_all

DESTINATIONS = 3  # a result of category 1: disclosure, the stream, the credit feedback


@pytest.fixture
async def relays(nats_url: str) -> AsyncIterator[Callable[..., Any]]:
    """`relay = await start(svc, url)`: a relay copy running on the service's outbox."""
    async with AsyncExitStack() as stack:

        async def start(svc: Any, url: str, n: int) -> Relay:
            db = Database(url=svc.ctx.settings.database_url, schema="publisher", pool_max=4)
            await db.connect()
            stack.push_async_callback(db.close)
            bus = await Bus.connect(nats_url, name=f"relay-copy-{n}")
            stack.push_async_callback(bus.close)
            relay = Relay(
                db=db,
                bus=bus,
                source="spotcheck-publisher",
                disclosure_url=url,
                policy=RetryPolicy(base_seconds=0.05, cap_seconds=0.2),
                batch=10,
                lease_s=30,
                workers=1,
                idle_s=0.05,
            )
            task = asyncio.create_task(relay.run())

            async def stop() -> None:
                relay.stop()
                await asyncio.wait_for(task, 30)

            stack.push_async_callback(stop)
            return relay

        yield start


async def test_two_relays_drain_one_outbox_each_row_once(
    run_service: Any, disclosure: Any, relays: Callable[..., Any]
) -> None:
    endpoint = await disclosure(delay_s=0.02)  # a batch takes a while: both relays get work
    svc = await run_service(
        lambda: spec(PublisherSettings(relay_enabled=False)), disclosure_url=endpoint.url
    )
    n = 60
    await submit_all(svc, n)
    one, two = [await relays(svc, endpoint.url, i) for i in (1, 2)]
    await wait_delivered(svc, n * DESTINATIONS, timeout=120)
    # Every row attempted by exactly one relay, once: no failures, and the attempts add up.
    assert one.failed == 0 and two.failed == 0
    assert one.delivered + two.delivered == n * DESTINATIONS
    assert one.delivered > 0 and two.delivered > 0, (one.delivered, two.delivered)
    assert set(endpoint.calls) == {f"R-T-{i}:v1:disclosure" for i in range(n)}
    assert set(endpoint.calls.values()) == {1}
    attempts = await svc.ctx.db.pool.fetch("SELECT DISTINCT attempts FROM outbox")
    assert [r["attempts"] for r in attempts] == [1]


async def test_rows_leased_by_a_dead_relay_come_due_to_the_other_after_the_lease(
    run_service: Any, disclosure: Any, relays: Callable[..., Any]
) -> None:
    endpoint = await disclosure()
    svc = await run_service(
        lambda: spec(PublisherSettings(relay_enabled=False)), disclosure_url=endpoint.url
    )
    n = 30
    await submit_all(svc, n)
    # A relay leases 15 rows for 2 s and dies before delivering them (nothing recorded).
    leased = await store.claim_due(svc.ctx.db.pool, limit=15, lease_s=2.0)
    assert len(leased) == 15
    ids = [r.id for r in leased]
    lease_end = await svc.ctx.db.pool.fetchval(
        "SELECT max(next_attempt_at) FROM outbox WHERE id = ANY($1)", ids
    )
    survivor = await relays(svc, endpoint.url, 1)
    await wait_delivered(svc, n * DESTINATIONS, timeout=60)
    rows = await svc.ctx.db.pool.fetch(
        "SELECT id, idempotency_key, attempts, delivered_at FROM outbox ORDER BY id"
    )
    theirs = [r for r in rows if r["id"] in ids]
    others = [r for r in rows if r["id"] not in ids]
    # The survivor delivered the rest while the lease held, and the dead relay's rows only
    # after it ended, each once.
    assert min(r["delivered_at"] for r in others) < lease_end
    assert all(r["delivered_at"] >= lease_end for r in theirs), (lease_end, theirs)
    assert {r["attempts"] for r in rows} == {1}
    assert survivor.delivered == n * DESTINATIONS and survivor.failed == 0
    assert set(endpoint.calls.values()) == {1}
    keys = {r["idempotency_key"] for r in theirs if r["idempotency_key"].endswith(":disclosure")}
    assert keys <= set(endpoint.calls)
