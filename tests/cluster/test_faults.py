"""Two copies of every service on a 3-node NATS cluster, the demo's cycle running through them
while the test breaks things (issue 18, DESIGN §11).

`spotcheck up --copies 2` against the cluster of deploy/nats/cluster-node.conf (streams with
replicas 3) and a PostgreSQL of the test's own. While `spotcheck demo` runs its cycle in waves
(results 30 %, 60 %, 100 %), a fault thread kills -9 one copy of each service and of the relay
in turn (the supervisor starts it again), stops one NATS node and starts it again, and restarts
PostgreSQL. A wave cut short by a fault is run again: the demo is a client, and a client sees a
refusal while PostgreSQL is down; what it finished is kept and reused.

Afterwards, with every part healed and the outbox drained: every draw verifies; every result
is delivered exactly once to each destination — counted at the disclosure system (by
idempotency key; a repeat after a relay died between sending and recording carries the same
body, which is what the key is for) and in the PUBLISHER stream (each message id once); no task
is lost or duplicated between the draw and the publisher; every audit chain verifies.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from services.kit.bus import Bus
from spotcheck.embedded import EmbeddedPostgres
from spotcheck.stack import SERVICES
from tests.cluster.conftest import Disclosure
from tests.cluster.faults import Faults, all_ready, break_things
from tests.cluster.nats_cluster import NatsCluster
from tests.stack import Running, cli, started_stack
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(1200)

WAVES = (30, 60, 100)  # percent of staffed tasks with a result, wave by wave
NATS_SUBJECTS = {  # outbox destination → subject prefix of its messages in PUBLISHER
    "stream": "spotcheck.v1.publisher.result.published.",
    "credit": "spotcheck.v1.publisher.credit.feedback",
    "referral": "spotcheck.v1.publisher.referral.created",
    "licensing": "spotcheck.v1.publisher.licensing.feedback",
}


def _demo_wave(stack: Running, percent: int) -> subprocess.CompletedProcess[str]:
    return cli(
        stack,
        "demo",
        "--entities",
        "6000",
        "--inspectors",
        "60",
        "--results",
        str(percent),
        "--no-serve",
        timeout=900,
    )


async def _stream_message_ids(nats: NatsCluster) -> Counter[tuple[str, str]]:
    """(subject, Nats-Msg-Id) of every message of the PUBLISHER stream, counted."""
    bus = await Bus.connect(
        nats.url(), name="cluster-test", credentials=("cli", nats.passwords["cli"])
    )
    try:
        info = await bus.js.stream_info("PUBLISHER")
        # Ephemeral, reading only: no acknowledgements (none pending holds the reading back).
        sub = await bus.js.pull_subscribe(
            ">", stream="PUBLISHER", config=ConsumerConfig(ack_policy=AckPolicy.NONE)
        )
        seen: Counter[tuple[str, str]] = Counter()
        total = info.state.messages
        got = 0
        while got < total:
            batch = await sub.fetch(min(500, total - got), timeout=10)
            for msg in batch:
                seen[(msg.subject, (msg.headers or {}).get("Nats-Msg-Id", ""))] += 1
                got += 1
        await sub.unsubscribe()
        return seen
    finally:
        await bus.close()


async def _database_facts(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        return {
            "outbox": [
                dict(r)
                for r in await conn.fetch(
                    "SELECT destination, idempotency_key, state FROM publisher.outbox"
                )
            ],
            "draw_tasks": [
                dict(r)
                for r in await conn.fetch("SELECT task_id, draw_id, uscc, state FROM draw.tasks")
            ],
            "publisher_tasks": {
                r["task_id"] for r in await conn.fetch("SELECT task_id FROM publisher.tasks")
            },
            "results": await conn.fetchval(
                "SELECT count(*) FROM publisher.results WHERE version = 1"
            ),
            "results_tasks": await conn.fetchval(
                "SELECT count(DISTINCT task_id) FROM publisher.results"
            ),
        }
    finally:
        await conn.close()


def test_the_cycle_survives_killed_copies_a_lost_nats_node_and_a_postgres_restart(
    workdir: Path,
    nats_cluster: NatsCluster,
    postgres: EmbeddedPostgres,
    disclosure: Disclosure,
) -> None:
    pg_url = postgres.start()  # already running: its URL
    env = {
        "SPOTCHECK_NATS_CREDENTIALS_DIR": str(nats_cluster.credentials),
        "SPOTCHECK_STREAM_REPLICAS": "3",
        "SPOTCHECK_DISCLOSURE_URL": disclosure.url,
        # Retries soon after a fault, so the outbox drains within the test.
        "SPOTCHECK_PUBLISHER_RETRY_BASE_S": "0.5",
        "SPOTCHECK_PUBLISHER_RETRY_CAP_S": "5",
        "SPOTCHECK_PUBLISHER_RELAY_LEASE_S": "15",
    }
    args = ("--copies", "2", "--nats-url", nats_cluster.url(), "--database-url", pg_url)
    with started_stack(args=args, env=env, workdir=workdir) as stack:
        var_dir = workdir / "var"
        info = json.loads((var_dir / "stack.json").read_text())
        assert [c["part"] for c in info["services"]["draw"]["copies"]] == ["draw", "draw-2"]
        faults = Faults()
        breaker = threading.Thread(
            target=break_things,
            kwargs={
                "faults": faults,
                "var_dir": var_dir.resolve(),
                "info": info,
                "nats": nats_cluster,
                "pg": postgres,
            },
            daemon=True,
        )
        breaker.start()
        reruns: list[str] = []
        running: list[tuple[float, float]] = []  # when a wave ran (monotonic)
        # The waves, then whole cycles again (each rechecks and reuses all it made) for as
        # long as faults are still to come.
        percents = iter(WAVES)
        while (percent := next(percents, None)) is not None or not faults.finished.is_set():
            percent = percent or 100
            for _attempt in range(4):
                began = time.monotonic()
                wave = _demo_wave(stack, percent)
                running.append((began, time.monotonic()))
                if wave.returncode == 0:
                    break
                reruns.append(f"{percent}%: {wave.stderr.strip().splitlines()[-1:]}")
            else:
                raise AssertionError(f"the {percent}% wave failed 4 times: {reruns}")
        # A fault may cut a wave short only as an outage (503: try again), never as a 500.
        assert not [r for r in reruns if "HTTP 500" in r or "internal" in r], reruns
        assert faults.finished.wait(600), "the faults did not finish"
        if faults.error is not None:
            raise faults.error
        assert len(faults.done) == len(SERVICES) + 3, faults.done
        # Every fault struck while the cycle was running.
        for (what, _), at in zip(faults.done, faults.began, strict=True):
            assert any(a <= at <= b for a, b in running), f"{what}: no wave was running"
        # Once more after the last fault, whole: nothing of the cycle is left undone.
        final = _demo_wave(stack, 100)
        assert final.returncode == 0, final.stderr[-3000:]
        summary = json.loads((var_dir / "demo" / "summary.json").read_text())

        wait_until(lambda: all_ready(info), what="every copy ready at the end", timeout=120)

        # Every delivery made (no pending row left; none dead).
        def drained() -> bool:
            rows = asyncio.run(_database_facts(pg_url))["outbox"]
            return all(r["state"] == "delivered" for r in rows)

        wait_until(drained, what="the outbox drained", timeout=300)
        facts = asyncio.run(_database_facts(pg_url))
        draw_url = info["services"]["draw"]["copies"][1]["url"]

        # Every draw verifies (asked of the second copy: any copy answers).
        assert summary["draws"], "the demo made no draw"
        for draw in summary["draws"]:
            reply = httpx.get(f"{draw_url}/draws/{draw['draw_id']}/verify", timeout=120).json()
            assert reply["ok"] is True, reply

        # Each result delivered exactly once to each destination.
        by_destination: dict[str, set[str]] = {}
        for row in facts["outbox"]:
            by_destination.setdefault(row["destination"], set()).add(row["idempotency_key"])
        assert facts["results"] > 0 and len(by_destination["disclosure"]) == facts["results"]
        assert disclosure.keys() == by_destination["disclosure"]
        for key, bodies in disclosure.repeats().items():
            assert len(set(bodies)) == 1, f"{key} was sent again with another body"
        messages = asyncio.run(_stream_message_ids(nats_cluster))
        doubled = {k: n for k, n in messages.items() if n > 1 and k[1]}
        assert not doubled, f"messages stored twice under one id: {list(doubled)[:5]}"
        ids = {msg_id for (_, msg_id) in messages}
        for destination, prefix in NATS_SUBJECTS.items():
            keys = by_destination.get(destination, set())
            assert keys <= ids, f"{destination}: {len(keys - ids)} deliveries not in the stream"
            in_stream = sum(1 for (s, i) in messages if s.startswith(prefix) and i in keys)
            assert in_stream == len(keys), destination

        # No task lost or duplicated.
        draw_tasks = facts["draw_tasks"]
        assert len({t["task_id"] for t in draw_tasks}) == len(draw_tasks)
        live = [t for t in draw_tasks if t["state"] not in ("superseded",)]
        pairs = Counter((t["draw_id"], t["uscc"]) for t in live)
        assert not [p for p, n in pairs.items() if n > 1], "an entity drawn twice in one draw"
        assigned = {t["task_id"] for t in draw_tasks if t["state"] == "assigned"}
        assert assigned and assigned <= facts["publisher_tasks"], (
            f"{len(assigned - facts['publisher_tasks'])} assigned tasks never reached the publisher"
        )
        assert facts["publisher_tasks"] <= {t["task_id"] for t in draw_tasks}
        assert facts["results_tasks"] == facts["results"]

        # Every audit chain verifies, each asked of its second copy.
        token = cli(stack, "token", "--role", "auditor").stdout.strip()
        for name in SERVICES:
            url = info["services"][name]["copies"][1]["url"]
            check = httpx.get(
                f"{url}/audit/verify", headers={"Authorization": f"Bearer {token}"}, timeout=120
            ).json()
            assert check["ok"] is True and check["entries"] > 0, (name, check)

        print(  # the figures a reader of the CI log wants
            f"\nfaults healed: {[(w, round(s, 1)) for w, s in faults.done]}; waves run again: "
            f"{reruns}; results {facts['results']}; disclosure repeats "
            f"{len(disclosure.repeats())}; stream messages {sum(messages.values())}",
            file=sys.stderr,
        )
