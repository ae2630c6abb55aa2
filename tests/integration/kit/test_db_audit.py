"""Migrations, the audit chain on PostgreSQL and its copy on the AUDIT stream."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats.js.errors
import pytest

from services.kit.audit import AuditTrail
from services.kit.bus import Bus
from services.kit.db import Database, DatabaseError


@pytest.fixture(params=["embedded", "external"])
def any_database_url(request: pytest.FixtureRequest) -> str:
    fixture = "database_url" if request.param == "embedded" else "external_database_url"
    return str(request.getfixturevalue(fixture))


async def test_migrations_apply_once_and_are_forward_only(
    any_database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "001_t.sql").write_text("CREATE TABLE t (id int PRIMARY KEY, name text);")
    db = Database(url=any_database_url, schema="svc_test")
    await db.connect()
    try:
        assert await db.migrate(tmp_path) == [
            "kit:001_audit.sql",
            "kit:002_outbox.sql",
            "001_t.sql",
        ]
        assert await db.migrate(tmp_path) == []
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES (1, '昌江区')")
        async with db.pool.acquire() as conn:
            assert await conn.fetchval("SELECT name FROM svc_test.t") == "昌江区"
        (tmp_path / "001_t.sql").write_text("CREATE TABLE t (id int);")
        with pytest.raises(DatabaseError, match="forward-only"):
            await db.migrate(tmp_path)
    finally:
        await db.close()


async def test_bad_database_url_is_one_clear_error() -> None:
    db = Database(url="postgresql://postgres@127.0.0.1:1/none", schema="x")
    with pytest.raises(DatabaseError, match="cannot reach PostgreSQL"):
        await db.connect()


async def test_audit_chain_is_committed_published_and_tamper_evident(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    db = Database(url=database_url, schema="draw")
    await db.connect()
    await db.migrate(tmp_path)
    bus = await Bus.connect(nats_url, name="t")
    await bus.ensure_stream("AUDIT", ["spotcheck.v1.audit.>"], deny_delete=True, deny_purge=True)
    audit = AuditTrail(service="draw", db=db, bus=bus)
    try:
        for i in range(3):
            async with db.transaction() as conn:
                await audit.append(
                    conn,
                    actor="officer",
                    action="seed",
                    subject=f"d{i}",
                    data={"seed": "3141592653589793238462", "n": i},
                )
        # A rolled-back change leaves no entry.
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await audit.append(conn, actor="x", action="y", subject="z")
                raise RuntimeError("rollback")
        assert (await audit.verify()).broken is None
        assert len(await audit.entries()) == 3

        assert await audit.publish_pending() == 3
        info = await bus.js.stream_info("AUDIT")
        assert info.state.messages == 4  # three entries and the chain's head
        assert info.config.deny_delete and info.config.deny_purge
        with pytest.raises(nats.js.errors.APIError, match="purge"):
            await bus.js.purge_stream("AUDIT")

        async with db.pool.acquire() as conn:
            await conn.execute(
                """UPDATE audit_log SET data = '{"seed": "1", "n": 1}' WHERE seq = 2"""
            )
        broken = (await audit.verify()).broken
        assert broken is not None and broken.seq == 2
    finally:
        await audit.stop()
        await bus.close()
        await db.close()


async def test_concurrent_appends_keep_one_chain(database_url: str, tmp_path: Path) -> None:
    db = Database(url=database_url, schema="planner")
    await db.connect()
    await db.migrate(tmp_path)
    audit = AuditTrail(service="planner", db=db, bus=None)

    async def one(i: int) -> None:
        async with db.transaction() as conn:
            await audit.append(conn, actor="a", action="plan.submit", subject=str(i))

    try:
        await asyncio.gather(*(one(i) for i in range(20)))
        entries = await audit.entries()
        assert [e.seq for e in entries] == list(range(1, 21))
        assert (await audit.verify()).broken is None
    finally:
        await db.close()


async def test_two_copies_copy_each_entry_to_the_stream_once_and_heads_in_order(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    """Two copies of a service share its chain (DESIGN §11): their audit relays running at
    once publish each entry once, and no head is published after a newer one."""
    from collections import Counter
    from typing import Any

    from tests.waiting import eventually

    sent: Counter[str] = Counter()
    heads: list[int] = []
    copies: list[tuple[Database, Bus, AuditTrail]] = []
    for n in range(2):
        db = Database(url=database_url, schema="draw")
        await db.connect()
        await db.migrate(tmp_path)
        bus = await Bus.connect(nats_url, name=f"copy-{n}")
        publish = bus.publish_event

        async def counted(subject: str, event: Any, *, _publish: Any = publish, **kw: Any) -> Any:
            if subject.endswith(".head"):
                heads.append(event.seq)
            else:
                sent[kw["event_id"]] += 1
            return await _publish(subject, event, **kw)

        bus.publish_event = counted  # type: ignore[method-assign]
        copies.append((db, bus, AuditTrail(service="draw", db=db, bus=bus)))
    db, bus, one = copies[0]
    await bus.ensure_stream("AUDIT", ["spotcheck.v1.audit.>"], deny_delete=True, deny_purge=True)
    try:
        for _, _, trail in copies:
            trail.start_publisher()
        for i in range(120):
            trail = copies[i % 2][2]
            async with copies[i % 2][0].transaction() as conn:
                await trail.append(conn, actor="officer", action="seed", subject=f"d{i}")

        async def copied() -> bool:
            left: int = await db.pool.fetchval("SELECT count(*) FROM audit_log WHERE NOT published")
            return left == 0 and bool(heads) and heads[-1] == 120

        await eventually(copied, what="both audit relays copying the chain")
        assert len(sent) == 120 and set(sent.values()) == {1}
        assert heads == sorted(heads)
        assert (await one.verify()).broken is None
    finally:
        for db, bus, trail in copies:
            await trail.stop()
            await bus.close()
            await db.close()
