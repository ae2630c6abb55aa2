"""Benchmark: one copy of each service against two, and two while things break (issue 18).

Each scenario starts, from nothing, what a province runs: a 3-node NATS cluster from
deploy/nats/cluster-node.conf (streams with replicas 3), a PostgreSQL of its own, a disclosure
endpoint (bench/publisher.py's, in its own process) and `spotcheck up --copies N` on them. Then
it runs the cycle and times two parts of it:

- the draw: the demo's county (`--entities`) imported, its rules and plans, then every plan's
  public draw (commitment, seed, selection, batches, teams) through the service's HTTP API as
  the demo does — wall time of the draws;
- the publisher end to end: `--results` results posted to `/results/batch` (100 per request,
  8 in flight, spread over the publisher's copies) for tasks loaded into its task copies, until
  every delivery (disclosure HTTP, result stream, credit feedback) is confirmed — results/s.

Scenarios, one run: `1 copy`, `2 copies`, and `2 copies, faults` (the faults of tests/cluster in
turn while the draws and the results run: kill -9 a copy of each service and of the relay, one
NATS node stopped and started, PostgreSQL restarted). Each figure is printed beside the single
copy's of the same run (a ratio). On 2 cores the copies share the same two cores: the second
copy buys availability, not speed; the ratio says what it costs.

    .venv/bin/python bench/scale.py [--entities 30000] [--results 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from rich.console import Console  # noqa: E402

from bench.publisher import body, disclosure_stats, encoded, load_tasks, wait_port  # noqa: E402
from bench.rawpost import HttpPoster  # noqa: E402
from contracts.common import Role  # noqa: E402
from services.kit.auth import issue_token, load_or_create_key  # noqa: E402
from services.kit.settings import load_settings  # noqa: E402
from spotcheck.demo import ceremony, prepare  # noqa: E402
from spotcheck.demo.common import Demo, Options  # noqa: E402
from spotcheck.embedded import EmbeddedPostgres, free_port, stop_process  # noqa: E402
from spotcheck.stack.processes import ensure_runtime_dir  # noqa: E402
from tests.cluster.faults import Faults, break_things  # noqa: E402
from tests.cluster.nats_cluster import NatsCluster  # noqa: E402
from tests.stack import started_stack  # noqa: E402

BATCH = 100
IN_FLIGHT = 8
SCENARIOS = (("1 copy", 1, False), ("2 copies", 2, False), ("2 copies, faults", 2, True))


def draw_phase(var_dir: Path, entities: int) -> float:
    """Import the county, its rules and plans (not timed), then run every plan's draw: seconds."""
    settings = load_settings(var_dir=var_dir)
    demo = Demo(
        options=Options(entities=entities, inspectors=max(80, entities // 400), serve=False),
        settings=settings,
        console=Console(quiet=True),
    )
    prepare.start_stack(demo)  # the running stack of this folder
    prepare.county(demo)
    prepare.rules(demo)
    prepare.plans(demo)
    t0 = time.perf_counter()
    for plan in demo.facts.plans:
        demo.facts.draws.append(ceremony.run_draw(demo, plan))
    return time.perf_counter() - t0


async def results_phase(
    info: dict[str, Any], db_url: str, key_file: Path, n: int, d_port: int, window: list[float]
) -> tuple[float, dict[str, int]]:
    """Post `n` results over the publisher's copies until every delivery is confirmed:
    (results/s end to end, what the disclosure endpoint saw); `window` gets when it ran."""
    ids = [f"T{i:07d}" for i in range(n)]
    await load_tasks(db_url, ids)
    token = issue_token(
        load_or_create_key(key_file), role=Role.PLANNER, dept="scjg", sub="bench", ttl_s=86400
    )
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    copies = [c["url"] for c in info["services"]["publisher"]["copies"]]
    posters = [
        HttpPoster(f"{u}/results/batch", connections=IN_FLIGHT, timeout_s=600) for u in copies
    ]
    db = await asyncpg.connect(db_url)
    queue = [ids[i : i + BATCH] for i in range(0, n, BATCH)]

    async def worker(k: int) -> None:
        turn = k
        while queue:
            part = queue.pop()
            for _attempt in range(60):  # a copy being killed, PostgreSQL restarting: again
                poster = posters[turn % len(posters)]
                turn += 1
                try:
                    reply = await poster.post(encoded([body(t) for t in part]), headers)
                except Exception:
                    await asyncio.sleep(0.5)
                    continue
                if reply.status == 200:
                    break
                await asyncio.sleep(0.5)
            else:
                raise RuntimeError(f"a batch was refused 60 times: {reply.status}")

    t0 = time.perf_counter()
    window[0] = time.monotonic()
    await asyncio.gather(*(worker(k) for k in range(IN_FLIGHT)))
    expected = 3 * n  # disclosure, result stream, credit feedback
    while True:
        try:
            if db.is_closed():
                db = await asyncpg.connect(db_url)
            done = await db.fetchval(
                "SELECT count(*) FROM publisher.outbox WHERE state = 'delivered'"
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await db.close()  # PostgreSQL restarting (a fault): ask again in a moment
            await asyncio.sleep(0.2)
            continue
        if done >= expected:
            break
        await asyncio.sleep(0.05)
    t_done = time.perf_counter()
    window[1] = time.monotonic()
    await db.close()
    for p in posters:
        await p.aclose()
    return n / (t_done - t0), await disclosure_stats(d_port)


def scenario(name: str, copies: int, faults: bool, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(f"/tmp/bench-scale-{os.getpid()}-{copies}{'f' if faults else ''}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    work.chmod(0o755)
    nats = NatsCluster(work / "nats")
    nats.folder.mkdir()
    nats.start()
    pg = EmbeddedPostgres(work / "pg")
    pg_url = pg.start()
    d_port = free_port()
    disclosure = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/publisher.py"), "--serve-disclosure", str(d_port)],
        cwd=ROOT,
    )
    asyncio.run(wait_port(d_port))
    env = {
        "SPOTCHECK_NATS_CREDENTIALS_DIR": str(nats.credentials),
        "SPOTCHECK_STREAM_REPLICAS": "3",
        "SPOTCHECK_DISCLOSURE_URL": f"http://127.0.0.1:{d_port}/results",
        "SPOTCHECK_LOG_LEVEL": "WARNING",
        "SPOTCHECK_PUBLISHER_RETRY_BASE_S": "0.5",
        "SPOTCHECK_PUBLISHER_RETRY_CAP_S": "5",
        "SPOTCHECK_PUBLISHER_RELAY_LEASE_S": "15",
    }
    up = ("--copies", str(copies), "--nats-url", nats.url(), "--database-url", pg_url)
    saved = dict(os.environ)
    try:
        with started_stack(args=up, env=env, workdir=work) as stack:
            var_dir = work / "var"
            info = json.loads((var_dir / "stack.json").read_text())
            # The demo's client reads where the stack runs from the environment of this process.
            os.environ.update({k: v for k, v in stack.env.items() if k.startswith("SPOTCHECK_")})
            breaker: threading.Thread | None = None
            broken = Faults()
            if faults:
                breaker = threading.Thread(
                    target=break_things,
                    kwargs={
                        "faults": broken,
                        "var_dir": var_dir.resolve(),
                        "info": info,
                        "nats": nats,
                        "pg": pg,
                    },
                    daemon=True,
                )
            draw_s = draw_phase(var_dir, args.entities)
            if breaker is not None:
                breaker.start()  # the faults fall on the results (the draws were timed above)
            window = [0.0, 0.0]
            rate, seen = asyncio.run(
                results_phase(info, pg_url, var_dir / "jwt.key", args.results, d_port, window)
            )
            if breaker is not None:
                breaker.join(600)
                if broken.error is not None:
                    raise broken.error
        return {
            "name": name,
            "draw_s": draw_s,
            "rate": rate,
            "keys": seen["keys"],
            "calls": seen["calls"],
            "faults": [(w, round(s, 1)) for w, s in broken.done],
            "faults_within": sum(1 for at in broken.began if window[0] <= at <= window[1]),
        }
    finally:
        os.environ.clear()
        os.environ.update(saved)
        stop_process(disclosure)
        pg.stop()
        nats.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ensure_runtime_dir()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entities", type=int, default=30_000)
    ap.add_argument("--results", type=int, default=20_000)
    ap.add_argument("--serve-disclosure", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    rows = []
    for name, copies, faults in SCENARIOS:
        rows.append(scenario(name, copies, faults, args))
        print(f"{name}: {json.dumps(rows[-1], ensure_ascii=False)}", flush=True)
    base = rows[0]
    print(f"entities {args.entities}, results {args.results}; 3 NATS nodes (replicas 3), 2 cores")
    print(f"{'scenario':<18} {'draws (s)':>10} {'× 1 copy':>9} {'results/s':>10} {'× 1 copy':>9}")
    for r in rows:
        print(
            f"{r['name']:<18} {r['draw_s']:>10.1f} {r['draw_s'] / base['draw_s']:>9.2f} "
            f"{r['rate']:>10,.0f} {r['rate'] / base['rate']:>9.2f}"
        )
    for r in rows:
        assert r["keys"] == args.results, f"{r['name']}: disclosure saw {r['keys']} keys"
        repeats = r["calls"] - r["keys"]
        extra = (
            f"; {r['faults_within']} of {len(r['faults'])} faults began while the results ran; "
            f"each healed in (s): {r['faults']}"
            if r["faults"]
            else ""
        )
        print(f"{r['name']}: disclosure {r['keys']} keys once each, {repeats} repeats{extra}")


if __name__ == "__main__":
    main()
