"""Benchmark: results over HTTP → outbox → JetStream + a local HTTP disclosure endpoint.

Starts a real nats-server and embedded PostgreSQL, the publisher service as its own process
(`python -m services.publisher`, relay disabled), its relay as another process
(`python -m services.publisher.relay`; `--relay service` runs it inside the service instead),
and a local disclosure endpoint (a raw asyncio HTTP/1.1 server in a third process, so that it is
not the bottleneck). Loads the tasks into the publisher's task copies, then:

1. bulk intake, end to end: N results posted to `/results/batch` (`--batch` per request,
   `--in-flight` requests at once) while the relay delivers each to the disclosure endpoint
   (HTTP POST, Idempotency-Key), the result stream and credit feedback (JetStream). Reports the
   intake rate and results/s end to end (first request → last delivery confirmed), and checks
   the disclosure endpoint saw exactly N keys and the stream holds exactly 2N messages;
2. raw windowed `js.publish` (windows of 500) of the same N result payloads, same run:
   msgs/s, and the ratio end-to-end / raw (target ≥ 0.5);
3. single intake: `--single-n` results posted one per request to `/results` by
   `--single-concurrency` clients at once (closed loop): results/s;
4. steady rate: single results sent open-loop at `--rate`/s for `--steady-seconds` (each at its
   scheduled instant, whether or not earlier ones have answered), the relay delivering
   meanwhile: p50/p99 submission latency measured from the scheduled instant.

    .venv/bin/python bench/publisher.py [--n 100000] [--batch 100] [--rate 500]
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
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import nats  # noqa: E402
import psutil  # noqa: E402

from bench.rawpost import HttpPoster  # noqa: E402
from contracts.common import Role  # noqa: E402
from services.kit.auth import issue_token, load_or_create_key  # noqa: E402
from spotcheck.embedded import (  # noqa: E402
    EmbeddedPostgres,
    free_port,
    start_nats,
    stop_process,
    with_database,
)

RAW_WINDOW = 500


# ---- the disclosure endpoint (its own process) ------------------------------------------------


class _Stats:
    def __init__(self) -> None:
        self.calls = 0
        self.keys: set[str] = set()


class _DisclosureProtocol(asyncio.Protocol):
    """Keep-alive HTTP/1.1: answers every POST 200 and counts its Idempotency-Key."""

    def __init__(self, stats: _Stats) -> None:
        self.stats = stats
        self.buf = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            length, key = 0, ""
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "idempotency-key":
                    key = value.strip()
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length :]
            if head.startswith("GET /stats"):
                body = json.dumps(
                    {"calls": self.stats.calls, "keys": len(self.stats.keys)}
                ).encode()
            else:
                self.stats.calls += 1
                self.stats.keys.add(key)
                body = b'{"ok":true}'
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )


async def serve_disclosure(port: int) -> None:
    stats = _Stats()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _DisclosureProtocol(stats), "127.0.0.1", port, backlog=1024
    )
    async with server:
        await server.serve_forever()


async def disclosure_stats(port: int) -> dict[str, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /stats HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    await reader.readuntil(b"\r\n\r\n")
    data = await reader.read(1000)
    writer.close()
    stats: dict[str, int] = json.loads(data)
    return stats


# ---- helpers ----------------------------------------------------------------------------------


def body(task_id: str) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "check_date": "2026-03-10",
        "method": "实地检查",
        "method_record": {"place": "景德镇市昌江区瓷都大道1号"},
        "items": [{"item_code": "ITEM-01", "category": "1"}],
        "confirmations": [
            {"inspector_id": "I-1", "confirmed_at": "2026-03-10T10:00:00+08:00"},
            {"inspector_id": "I-2", "confirmed_at": "2026-03-10T10:00:00+08:00"},
        ],
    }


def encoded(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


async def load_tasks(db_url: str, ids: list[str]) -> None:
    items = json.dumps([{"code": "ITEM-01", "name": "企业公示信息", "department": "scjg"}])
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
                    items,
                    ["I-1", "I-2"],
                    date(2026, 3, 1),
                    date(2026, 6, 30),
                )
                for i, t in enumerate(ids)
            ],
        )
    finally:
        await conn.close()


async def wait_delivered(conn: asyncpg.Connection, expected: int, timeout: float) -> float:
    """Wait until `expected` deliveries are done; returns the instant it saw them."""
    end = time.perf_counter() + timeout
    n = 0
    while time.perf_counter() < end:
        n = await conn.fetchval("SELECT count(*) FROM publisher.outbox WHERE state = 'delivered'")
        if n >= expected:
            return time.perf_counter()
        await asyncio.sleep(0.05)
    raise RuntimeError(f"only {n} of {expected} deliveries done in {timeout}s")


async def wait_events_published(conn: asyncpg.Connection, timeout: float) -> None:
    """Wait until the service's event outbox (result.accepted) has nothing left to publish."""
    end = time.perf_counter() + timeout
    left = 0
    while time.perf_counter() < end:
        left = await conn.fetchval(
            "SELECT count(*) FROM publisher.event_outbox WHERE published_at IS NULL"
        )
        if left == 0:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{left} events still unpublished after {timeout}s")


async def raw_publish(nats_url: str, payloads: list[bytes]) -> float:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name="BENCHRAW", subjects=["bench.raw.>"])
    start = time.perf_counter()
    for i in range(0, len(payloads), RAW_WINDOW):
        await asyncio.gather(
            *(
                js.publish("bench.raw.360202.scjg", p, headers={"Nats-Msg-Id": f"raw-{i + j}"})
                for j, p in enumerate(payloads[i : i + RAW_WINDOW])
            )
        )
    rate = len(payloads) / (time.perf_counter() - start)
    await nc.close()
    return rate


def quantiles_ms(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=100)
    return q[49] * 1000, q[98] * 1000


async def wait_port(port: int, timeout: float = 30.0) -> None:
    end = time.perf_counter() + timeout
    while True:
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            if time.perf_counter() > end:
                raise
            await asyncio.sleep(0.05)


class CpuMeter:
    """CPU seconds used by each part of the run (2 shared cores: where the time goes)."""

    def __init__(self, pids: dict[str, int], pg_dir: Path) -> None:
        self.pids = pids
        self.pg_dir = pg_dir

    def _procs(self) -> dict[str, list[psutil.Process]]:
        out = {name: [psutil.Process(pid)] for name, pid in self.pids.items()}
        postmaster = int((self.pg_dir / "postmaster.pid").read_text().split()[0])
        pm = psutil.Process(postmaster)
        out["postgres"] = [pm, *pm.children(recursive=True)]
        return out

    def snapshot(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for name, procs in self._procs().items():
            total = 0.0
            for p in procs:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system
                except psutil.Error:
                    pass
            totals[name] = total
        return totals

    @staticmethod
    def report(before: dict[str, float], after: dict[str, float], wall: float) -> str:
        parts = [
            f"{k} {after[k] - before.get(k, 0.0):.1f}"
            for k in sorted(after, key=lambda k: before.get(k, 0.0) - after[k])
        ]
        return f"CPU seconds in {wall:.1f} s wall (2 cores): " + ", ".join(parts)


# ---- the run ----------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    n, batch = args.n, args.batch
    steady_n = int(args.rate * args.steady_seconds)
    tmp = Path(tempfile.mkdtemp(prefix="bench-publisher-"))
    nats_port, http_port, d_port = free_port(), free_port(), free_port()
    nats_proc = start_nats(tmp / "nats", port=nats_port, log_file=tmp / "nats.log")
    pg = EmbeddedPostgres(tmp / "pg")
    pg_url = pg.start()
    conn = await asyncpg.connect(pg_url)
    await conn.execute('CREATE DATABASE "bench"')
    await conn.close()
    db_url = with_database(pg_url, "bench")
    nats_url = f"nats://127.0.0.1:{nats_port}"
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(argv: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen[bytes]:
        with open(tmp / log_name, "wb") as log:
            p = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        procs.append(p)
        return p

    env = {
        **os.environ,
        "SPOTCHECK_NATS_URL": nats_url,
        "SPOTCHECK_DATABASE_URL": db_url,
        "SPOTCHECK_PUBLISHER_PORT": str(http_port),
        "SPOTCHECK_VAR_DIR": str(tmp / "var"),
        "SPOTCHECK_DISCLOSURE_URL": f"http://127.0.0.1:{d_port}/results",
        "SPOTCHECK_LOG_LEVEL": "WARNING",
        "SPOTCHECK_PUBLISHER_RELAY_ENABLED": "true" if args.relay == "service" else "false",
        "PYTHONPATH": str(ROOT),
    }
    db: asyncpg.Connection | None = None
    try:
        spawn([sys.executable, __file__, "--serve-disclosure", str(d_port)], env, "disclosure.log")
        spawn([sys.executable, "-m", "services.publisher"], env, "service.log")
        await wait_port(d_port)
        await wait_port(http_port, timeout=60)
        if args.relay == "process":  # after the service: its migrations create the outbox
            spawn([sys.executable, "-m", "services.publisher.relay"], env, "relay.log")
        key = load_or_create_key(tmp / "var" / "jwt.key")
        token = issue_token(key, role=Role.PLANNER, dept="scjg", sub="bench", ttl_s=24 * 3600)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        base = f"http://127.0.0.1:{http_port}"
        ids = [f"T{i:07d}" for i in range(n)]
        single_ids = [f"U{i:07d}" for i in range(args.single_n)]
        steady_ids = [f"S{i:07d}" for i in range(steady_n)]
        await load_tasks(db_url, ids + single_ids + steady_ids)
        db = await asyncpg.connect(db_url)
        names = ["disclosure", "service", "relay"][: len(procs)]
        meter = CpuMeter(
            {"bench": os.getpid(), "nats": nats_proc.pid}
            | {name: p.pid for name, p in zip(names, procs, strict=True)},
            tmp / "pg",
        )
        cpu0 = meter.snapshot()

        # 1. bulk intake, end to end
        bulk = HttpPoster(f"{base}/results/batch", connections=args.in_flight, timeout_s=600)

        async def post_batch(part: list[str]) -> None:
            reply = await bulk.post(encoded([body(t) for t in part]), headers)
            outcomes = json.loads(reply.body)
            assert reply.status == 200 and all(o.get("accepted") for o in outcomes), reply.body[
                :300
            ]

        t0 = time.perf_counter()
        await asyncio.gather(*(post_batch(ids[i : i + batch]) for i in range(0, n, batch)))
        t_submitted = time.perf_counter()
        t_done = await wait_delivered(db, 3 * n, timeout=3600)
        cpu1 = meter.snapshot()
        await bulk.aclose()
        e2e = n / (t_done - t0)
        seen = await disclosure_stats(d_port)
        # The service's event outbox also announces each result to the draw (result.accepted):
        # count the deliveries' subjects apart from it, once the outbox has published it all.
        await wait_events_published(db, timeout=600)
        nc = await nats.connect(nats_url)
        info = await nc.jetstream().stream_info("PUBLISHER", subjects_filter=">")
        await nc.close()
        by_subject = info.state.subjects or {}
        announced = by_subject.get("spotcheck.v1.publisher.result.accepted", 0)
        in_stream = sum(by_subject.values()) - announced

        # 2. raw windowed js.publish of the same payloads
        rows = await db.fetch(
            "SELECT payload::text AS p FROM publisher.outbox "
            "WHERE destination = 'stream' ORDER BY id LIMIT $1",
            n,
        )
        raw = await raw_publish(nats_url, [r["p"].encode() for r in rows])
        print(f"results: {n}, deliveries: {3 * n} (disclosure HTTP, result stream, credit)")
        print(f"relay: {args.relay}")
        print(
            f"bulk intake over HTTP (/results/batch, {batch} per request, {args.in_flight} in "
            f"flight): {n / (t_submitted - t0):,.0f} results/s ({t_submitted - t0:.1f} s)"
        )
        print(
            f"end to end (HTTP → outbox → JetStream + disclosure): {e2e:,.0f} results/s "
            f"({t_done - t0:.1f} s)"
        )
        print(
            f"raw windowed js.publish (windows of {RAW_WINDOW}), same payloads: {raw:,.0f} msgs/s"
        )
        print(f"ratio end-to-end / raw: {e2e / raw:.2f} (target ≥ 0.5)")
        print(
            f"disclosure endpoint: {seen['calls']} calls, {seen['keys']} keys; "
            f"PUBLISHER stream: {in_stream} delivery messages (expected {2 * n}) and "
            f"{announced} result.accepted (expected {n})",
            flush=True,
        )
        print(CpuMeter.report(cpu0, cpu1, t_done - t0), flush=True)
        assert seen["keys"] == n and in_stream == 2 * n and announced == n, (
            seen,
            in_stream,
            announced,
        )

        # 3. single intake, closed loop
        single = HttpPoster(f"{base}/results", connections=args.single_concurrency, timeout_s=120)
        queue = list(reversed(single_ids))
        failed = 0

        async def client() -> None:
            nonlocal failed
            while queue:
                reply = await single.post(encoded(body(queue.pop())), headers)
                failed += reply.status != 201

        cpu0 = meter.snapshot()
        s0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(args.single_concurrency)))
        single_rate = args.single_n / (time.perf_counter() - s0)
        cpu1 = meter.snapshot()
        print(
            f"single intake over HTTP (/results, {args.single_concurrency} clients): "
            f"{single_rate:,.0f} results/s ({failed} failed)",
            flush=True,
        )
        print(CpuMeter.report(cpu0, cpu1, args.single_n / single_rate), flush=True)
        await wait_delivered(db, 3 * (n + args.single_n), timeout=600)

        # 4. steady open-loop rate
        latencies: list[float] = []
        errors: list[str] = []

        async def one(t: str, due: float) -> None:
            try:
                reply = await single.post(encoded(body(t)), headers)
            except Exception as exc:
                errors.append(type(exc).__name__)
                return
            if reply.status != 201:
                errors.append(str(reply.status))
                return
            latencies.append(time.perf_counter() - due)

        await single.aclose()
        single = HttpPoster(f"{base}/results", connections=512, timeout_s=120)
        tasks = []
        cpu0 = meter.snapshot()
        s0 = time.perf_counter()
        for i, t in enumerate(steady_ids):
            due = s0 + i / args.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(t, due)))
        sent = time.perf_counter()
        await asyncio.gather(*tasks)
        answered = time.perf_counter()
        cpu1 = meter.snapshot()
        t_relay = await wait_delivered(db, 3 * (n + args.single_n + steady_n), timeout=600)
        await single.aclose()
        p50, p99 = quantiles_ms(latencies)
        print(
            f"steady {steady_n} single submissions, open loop at {args.rate:g}/s "
            f"(sent in {sent - s0:.1f} s, all answered after {answered - s0:.1f} s): "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies) * 1000:.1f} ms, "
            f"{len(errors)} failed; last delivery {t_relay - answered:.1f} s after the last "
            "answer",
            flush=True,
        )
        print(CpuMeter.report(cpu0, cpu1, answered - s0), flush=True)
    finally:
        if db is not None:
            await db.close()
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        pg.stop()
        stop_process(nats_proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="results in the end-to-end run")
    ap.add_argument("--batch", type=int, default=100, help="results per /results/batch request")
    ap.add_argument("--in-flight", type=int, default=4, help="batch requests at once")
    ap.add_argument("--single-n", type=int, default=5_000, help="results in the single run")
    ap.add_argument("--single-concurrency", type=int, default=32)
    ap.add_argument("--rate", type=float, default=500.0, help="steady results/s")
    ap.add_argument("--steady-seconds", type=float, default=20.0)
    ap.add_argument("--relay", choices=("process", "service"), default="process")
    ap.add_argument("--serve-disclosure", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_disclosure:
        asyncio.run(serve_disclosure(args.serve_disclosure))
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
