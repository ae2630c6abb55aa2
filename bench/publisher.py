"""Benchmark: results over HTTP → outbox → JetStream + a local HTTP disclosure endpoint.

Starts a real nats-server and embedded PostgreSQL, runs the publisher service as its own process
(`python -m services.publisher`), loads N tasks into its task copies, then:
1. submits N results over HTTP in batches (POST /results/batch, 500 each, 4 in flight) and
   waits until every delivery (disclosure HTTP, result stream, credit feedback) is done:
   results/s end to end;
2. publishes the same N result bodies with raw windowed `js.publish` (windows of 500) to a
   bench stream, in the same run: msgs/s; target end-to-end ≥ 0.5 × raw;
3. submits single results (POST /results) at a steady 500 results/s: p50/p99 latency.

    .venv/bin/python bench/publisher.py [--n 100000] [--steady-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import nats  # noqa: E402
import uvicorn  # noqa: E402

from contracts.common import Role  # noqa: E402
from services.kit.auth import issue_token, load_or_create_key  # noqa: E402
from spotcheck.embedded import (  # noqa: E402
    EmbeddedPostgres,
    free_port,
    start_nats,
    stop_process,
    with_database,
)

BATCH = 500
IN_FLIGHT = 4


class Disclosure:
    """A local disclosure endpoint: counts effects by Idempotency-Key."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.calls += 1
        for k, v in scope["headers"]:
            if k == b"idempotency-key":
                self.keys.add(v.decode())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def body(task_id: str) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "check_date": "2026-03-10",
        "method": "实地检查",
        "items": [{"item_code": "ITEM-01", "category": "1"}],
        "confirmations": [
            {"inspector_id": "I-1", "confirmed_at": "2026-03-10T10:00:00+08:00"},
            {"inspector_id": "I-2", "confirmed_at": "2026-03-10T10:00:00+08:00"},
        ],
    }


async def load_tasks(db_url: str, ids: list[str]) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.copy_records_to_table(
            "tasks",
            schema_name="publisher",
            columns=[
                "task_id",
                "draw_id",
                "plan_id",
                "uscc",
                "entity_name",
                "region_code",
                "departments",
                "lead_department",
                "items",
                "team",
                "period_start",
                "period_end",
            ],
            records=[
                (
                    t,
                    "D-B",
                    "P-B",
                    f"91360202MA{i:08d}",
                    f"景德镇测试企业{i}有限公司",
                    "360202",
                    ["scjg"],
                    "scjg",
                    json.dumps([{"code": "ITEM-01", "name": "企业公示信息", "department": "scjg"}]),
                    ["I-1", "I-2"],
                    __import__("datetime").date(2026, 3, 1),
                    __import__("datetime").date(2026, 6, 30),
                )
                for i, t in enumerate(ids)
            ],
        )
    finally:
        await conn.close()


async def wait_delivered(db_url: str, expected: int, timeout: float) -> float:
    conn = await asyncpg.connect(db_url)
    try:
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            n = await conn.fetchval(
                "SELECT count(*) FROM publisher.outbox WHERE state = 'delivered'"
            )
            if n >= expected:
                return time.perf_counter()
            await asyncio.sleep(0.2)
        raise RuntimeError(f"only {n} of {expected} deliveries done in {timeout}s")
    finally:
        await conn.close()


async def raw_publish(nats_url: str, payloads: list[bytes]) -> float:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name="BENCHRAW", subjects=["bench.raw.>"])
    start = time.perf_counter()
    for i in range(0, len(payloads), BATCH):
        await asyncio.gather(
            *(
                js.publish("bench.raw.360202.scjg", p, headers={"Nats-Msg-Id": f"raw-{i + j}"})
                for j, p in enumerate(payloads[i : i + BATCH])
            )
        )
    rate = len(payloads) / (time.perf_counter() - start)
    await nc.close()
    return rate


async def run(n: int, steady_s: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-publisher-"))
    nats_port, http_port = free_port(), free_port()
    nats_proc = start_nats(tmp / "nats", port=nats_port, log_file=tmp / "nats.log")
    pg = EmbeddedPostgres(tmp / "pg")
    pg_url = pg.start()
    conn = await asyncpg.connect(pg_url)
    await conn.execute('CREATE DATABASE "bench"')
    await conn.close()
    db_url = with_database(pg_url, "bench")
    nats_url = f"nats://127.0.0.1:{nats_port}"

    disclosure = Disclosure()
    d_port = free_port()
    d_server = uvicorn.Server(
        uvicorn.Config(
            disclosure, host="127.0.0.1", port=d_port, log_level="warning", lifespan="off"
        )
    )
    d_task = asyncio.create_task(d_server.serve())
    env = {
        **os.environ,
        "SPOTCHECK_NATS_URL": nats_url,
        "SPOTCHECK_DATABASE_URL": db_url,
        "SPOTCHECK_PUBLISHER_PORT": str(http_port),
        "SPOTCHECK_VAR_DIR": str(tmp / "var"),
        "SPOTCHECK_DISCLOSURE_URL": f"http://127.0.0.1:{d_port}/results",
        "SPOTCHECK_LOG_LEVEL": "WARNING",
        "SPOTCHECK_MAX_BODY_BYTES": str(50 * 1024 * 1024),
        "PYTHONPATH": str(ROOT),
    }
    log = open(tmp / "service.log", "wb")  # noqa: ASYNC230 - once, before the clock runs
    service = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "services.publisher"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{http_port}"
    try:
        async with httpx.AsyncClient(
            base_url=base,
            timeout=httpx.Timeout(120, pool=None),
            limits=httpx.Limits(max_connections=2000, max_keepalive_connections=500),
        ) as http:
            for _ in range(600):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            key = load_or_create_key(tmp / "var" / "jwt.key")
            http.headers["Authorization"] = "Bearer " + issue_token(
                key, role=Role.PLANNER, dept="scjg", sub="bench", ttl_s=24 * 3600
            )
            steady_n = int(500 * steady_s)
            ids = [f"T{i:07d}" for i in range(n)]
            steady_ids = [f"S{i:07d}" for i in range(steady_n)]
            await load_tasks(db_url, ids + steady_ids)

            # 1. end to end
            limit = asyncio.Semaphore(IN_FLIGHT)

            async def post_batch(part: list[str]) -> None:
                async with limit:
                    r = await http.post("/results/batch", json=[body(t) for t in part])
                    r.raise_for_status()
                    assert all(o.get("accepted") for o in r.json()), r.json()[:1]

            t0 = time.perf_counter()
            await asyncio.gather(*(post_batch(ids[i : i + BATCH]) for i in range(0, n, BATCH)))
            t_submitted = time.perf_counter()
            t_done = await wait_delivered(db_url, 3 * n, timeout=3600)
            e2e = n / (t_done - t0)
            assert len(disclosure.keys) == n, (len(disclosure.keys), n)

            # 2. raw windowed js.publish of the same payloads
            conn = await asyncpg.connect(db_url)
            rows = await conn.fetch(
                "SELECT payload::text AS p FROM publisher.outbox "
                "WHERE destination = 'stream' ORDER BY id LIMIT $1",
                n,
            )
            await conn.close()
            payloads = [r["p"].encode() for r in rows]
            raw = await raw_publish(nats_url, payloads)
            print(f"results: {n}, deliveries: {3 * n} (disclosure HTTP, result stream, credit)")
            print(
                f"submitted over HTTP: {n / (t_submitted - t0):,.0f} results/s "
                f"({t_submitted - t0:.1f} s)"
            )
            print(
                f"end to end (HTTP → outbox → JetStream + disclosure): {e2e:,.0f} results/s "
                f"({t_done - t0:.1f} s)"
            )
            print(f"raw windowed js.publish (windows of {BATCH}), same payloads: {raw:,.0f} msgs/s")
            print(f"ratio end-to-end / raw: {e2e / raw:.2f} (target ≥ 0.5)")
            print(
                f"disclosure endpoint: {disclosure.calls} calls, {len(disclosure.keys)} keys",
                flush=True,
            )

            # 3. steady 500 results/s, single submissions
            latencies: list[float] = []
            errors: list[str] = []

            async def one(t: str) -> None:
                s = time.perf_counter()
                try:
                    r = await http.post("/results", json=body(t))
                    r.raise_for_status()
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
                    return
                latencies.append(time.perf_counter() - s)

            tasks = []
            s0 = time.perf_counter()
            for i, t in enumerate(steady_ids):
                delay = s0 + i / 500 - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(t)))
            await asyncio.gather(*tasks)
            achieved = steady_n / (time.perf_counter() - s0)
            q = statistics.quantiles(latencies, n=100)

        print(
            f"steady {steady_n} single submissions offered at 500/s, completed at "
            f"{achieved:,.0f}/s: p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, "
            f"{len(errors)} failed"
        )
    finally:
        service.terminate()
        try:
            service.wait(timeout=20)
        except subprocess.TimeoutExpired:
            service.kill()
        d_server.should_exit = True
        await d_task
        pg.stop()
        stop_process(nats_proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="results in the throughput run")
    ap.add_argument("--steady-seconds", type=float, default=20.0)
    args = ap.parse_args()
    asyncio.run(run(args.n, args.steady_seconds))


if __name__ == "__main__":
    main()
