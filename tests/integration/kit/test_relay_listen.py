"""A relay's LISTEN connection dies with its PostgreSQL server (an outage, a failover, a
terminated backend): once a step reaches the database again the relay listens anew, so that a
NOTIFY from another process wakes it at once instead of after its idle timer."""

from __future__ import annotations

from pathlib import Path

from services.kit.db import Database
from services.kit.relay import RelayLoop
from tests.waiting import eventually

CHANNEL = "test_relay_listen"


async def _listening_pids(db: Database) -> set[int]:
    rows = await db.pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()",
        f'LISTEN "{CHANNEL}"',
    )
    return {r["pid"] for r in rows}


async def test_a_lost_listen_connection_is_opened_again(database_url: str, tmp_path: Path) -> None:
    db = Database(url=database_url, schema="registry")
    await db.connect()
    await db.migrate(tmp_path)
    steps = 0

    async def step() -> int:
        nonlocal steps
        await db.pool.fetchval("SELECT 1")  # a step reaches the database
        steps += 1
        return 0

    loop = RelayLoop(name="test", step=step, batch=10, idle_s=0.2, db=db, channel=CHANNEL)
    loop.start()
    try:
        await eventually(lambda: _listening_pids(db), what="the relay listening")
        [first] = await _listening_pids(db)
        await db.pool.execute("SELECT pg_terminate_backend($1)", first)

        async def listening_anew() -> bool:
            return bool((await _listening_pids(db)) - {first})

        await eventually(listening_anew, what="the relay listening on a new connection")
        # From now on only a NOTIFY can wake it within the test's patience.
        loop.idle_s = loop.partial_s = 3600
        await eventually(lambda: steps > 0, what="a step")
        before = steps
        await db.pool.execute(f"NOTIFY {CHANNEL}")
        await eventually(lambda: steps > before, what="a step woken by NOTIFY", timeout=10)
    finally:
        await loop.aclose()
        await db.close()
