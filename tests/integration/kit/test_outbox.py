"""The outbox publishes an event if and only if its transaction commits, exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts.base import Contract
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.outbox import Outbox


class Fact(Contract):
    n: int


async def test_outbox_publishes_committed_events_once(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    db = Database(url=database_url, schema="registry")
    await db.connect()
    await db.migrate(tmp_path)
    bus = await Bus.connect(nats_url, name="t")
    await bus.ensure_stream("OUT", ["out.>"])
    outbox = Outbox(db=db, bus=bus)
    try:
        async with db.transaction() as conn:
            await outbox.add(conn, "out.fact", Fact(n=1), event_id="fact-1")
            await outbox.add(conn, "out.fact", Fact(n=1), event_id="fact-1")  # repeat ignored
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await outbox.add(conn, "out.fact", Fact(n=2), event_id="fact-2")
                raise RuntimeError("rolled back")
        assert await outbox.flush() == 1
        assert await outbox.flush() == 0

        # A crash after publishing but before marking: the row is pending again.
        async with db.pool.acquire() as conn:
            await conn.execute("UPDATE event_outbox SET published_at = NULL")
        assert await Outbox(db=db, bus=bus).flush() == 1
        info = await bus.js.stream_info("OUT")
        assert info.state.messages == 1
        msg = await bus.js.get_msg("OUT", 1)
        assert Fact.model_validate_json(msg.data).n == 1
        assert msg.headers and msg.headers["Nats-Msg-Id"] == "fact-1"
    finally:
        await bus.close()
        await db.close()


async def test_relay_runs_in_background(database_url: str, nats_url: str, tmp_path: Path) -> None:
    import asyncio

    db = Database(url=database_url, schema="draw")
    await db.connect()
    await db.migrate(tmp_path)
    bus = await Bus.connect(nats_url, name="t")
    await bus.ensure_stream("OUT2", ["out2.>"])
    outbox = Outbox(db=db, bus=bus)
    outbox.start()
    try:
        async with db.transaction() as conn:
            for i in range(700):
                await outbox.add(conn, "out2.fact", Fact(n=i))
        for _ in range(100):
            if (await bus.js.stream_info("OUT2")).state.messages == 700:
                break
            await asyncio.sleep(0.1)
        assert (await bus.js.stream_info("OUT2")).state.messages == 700
    finally:
        await outbox.stop()
        await bus.close()
        await db.close()


async def test_add_many_in_bulk_keeps_order_and_skips_repeats(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    from services.kit.outbox import COPY_MIN

    db = Database(url=database_url, schema="planner")
    await db.connect()
    await db.migrate(tmp_path)
    bus = await Bus.connect(nats_url, name="t")
    outbox = Outbox(db=db, bus=bus)
    n = COPY_MIN + 200
    try:
        async with db.transaction() as conn:
            await outbox.add(conn, "out3.fact", Fact(n=5), event_id="bulk-5")
        async with db.transaction() as conn:
            # Pre-serialised bodies (str) and models mixed; bulk-5 was queued already.
            await outbox.add_many(
                conn,
                [
                    ("out3.fact", Fact(n=i) if i % 2 else Fact(n=i).model_dump_json(), f"bulk-{i}")
                    for i in range(n)
                ],
            )
        async with db.transaction() as conn:  # all fresh: the plain COPY path
            await outbox.add_many(
                conn, [("out3.fact", Fact(n=i).model_dump_json(), f"more-{i}") for i in range(n)]
            )
        async with db.pool.acquire() as conn:
            ids = [
                r["event_id"]
                for r in await conn.fetch(
                    "SELECT event_id FROM event_outbox WHERE subject = 'out3.fact' ORDER BY id"
                )
            ]
            body = await conn.fetchval("SELECT body FROM event_outbox WHERE event_id = 'bulk-7'")
        expected = [f"bulk-{i}" for i in range(n) if i != 5]
        assert ids == ["bulk-5", *expected, *(f"more-{i}" for i in range(n))]
        assert Fact.model_validate_json(body).n == 7
    finally:
        await bus.close()
        await db.close()


async def test_two_copies_of_a_service_publish_each_event_once(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    """Two copies share one outbox table (DESIGN §11): whether both flush at once or both
    relays run, each event is published by one of them, not by both (JetStream would drop
    the repeat, but only within its duplicate window, and at twice the work)."""
    import asyncio
    from collections import Counter

    from tests.waiting import eventually

    sent: Counter[str] = Counter()
    copies: list[tuple[Database, Bus, Outbox]] = []
    for n in range(2):
        db = Database(url=database_url, schema="draw")
        await db.connect()
        await db.migrate(tmp_path)
        bus = await Bus.connect(nats_url, name=f"copy-{n}")
        publish = bus.publish_raw

        async def counted(subject: str, data: bytes, *, _publish: Any = publish, **kw: Any) -> Any:
            sent[kw["event_id"]] += 1
            return await _publish(subject, data, **kw)

        bus.publish_raw = counted  # type: ignore[method-assign]
        copies.append((db, bus, Outbox(db=db, bus=bus, batch=100)))
    (db, bus, one), (_, _, two) = copies
    await bus.ensure_stream("OUT4", ["out4.>"])
    try:
        async with db.transaction() as conn:
            await one.add_many(conn, [("out4.fact", Fact(n=i), f"a-{i}") for i in range(1000)])
        assert sum(await asyncio.gather(one.flush(), two.flush())) == 1000
        assert len(sent) == 1000 and set(sent.values()) == {1}

        one.start()
        two.start()
        for start in range(0, 1000, 100):
            async with db.transaction() as conn:
                await one.add_many(
                    conn, [("out4.fact", Fact(n=i), f"b-{i}") for i in range(start, start + 100)]
                )
            two.relay.nudge()

        async def drained() -> bool:
            left: int = await db.pool.fetchval(
                "SELECT count(*) FROM event_outbox WHERE published_at IS NULL"
            )
            return left == 0

        await eventually(drained, what="both relays draining the outbox")
        assert len(sent) == 2000 and set(sent.values()) == {1}
        assert (await bus.js.stream_info("OUT4")).state.messages == 2000
    finally:
        for db, bus, outbox in copies:
            await outbox.stop()
            await bus.close()
            await db.close()
