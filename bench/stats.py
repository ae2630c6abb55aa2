"""Benchmark: the leaders' statistics (`GET /stats/tasks`, console /console/stats) at 250,000
tasks a year.

The publisher's schema is filled as `bench/public_notices.py` fills it (250,000 tasks of 20
draws over two years, one published result per task, 5 % corrected), then the figures the
statistics page asks for are timed through the publisher's own store function
(`store.task_stats`, the SQL the route runs) for a whole year, one region and one department.
`--tasks` counts both years: the default 500,000 puts 250,000 in the year measured.

Baseline, same session and same rows: the floor of any count over them — the year's tasks read
once with their latest result (`count(*)`, `count(DISTINCT uscc)` over tasks ⋈ results). The
ratio says what the page's figures cost next to reading the data once.
Best and median of `--runs` after a warm-up. Tests never assert timings.

    .venv/bin/python bench/stats.py [--tasks 500000] [--runs 5] [--database-url URL]

Without --database-url an embedded PostgreSQL is started in a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.public_notices import fill, on_postgres  # noqa: E402
from services.kit.db import Database  # noqa: E402
from services.publisher import store  # noqa: E402
from services.publisher.domain.categories import load_categories  # noqa: E402

# The same rows as the statistics' `live` reads for a year, with their results, counted once.
FLOOR = """
SELECT count(*) AS tasks, count(DISTINCT t.uscc) AS entities, count(r.task_id) AS results
FROM tasks t
LEFT JOIN LATERAL (SELECT r.task_id FROM results r WHERE r.task_id = t.task_id LIMIT 1) r
       ON true
WHERE t.period_start >= make_date($1, 1, 1) AND t.period_start < make_date($1 + 1, 1, 1)
  AND ($2::text IS NULL OR t.region_code = $2)
  AND ($3::text IS NULL OR t.departments @> ARRAY[$3::text])
"""


async def best_of(runs: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, float, Any]:
    """Best and median seconds of `runs` calls after one warm-up, and the last answer."""
    answer = await call()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = await call()
        seconds.append(time.perf_counter() - started)
    return min(seconds), statistics.median(seconds), answer


async def run(url: str, n: int, runs: int) -> None:
    schema = f"bench_stats_{uuid.uuid4().hex[:8]}"
    db = Database(url=url, schema=schema)
    await db.connect()
    try:
        await db.migrate(ROOT / "services" / "publisher" / "migrations")
        started = time.perf_counter()
        async with db.pool.acquire() as conn:
            await fill(conn, n)
            tasks = await conn.fetchval("SELECT count(*) FROM tasks")
        print(f"filled {tasks:,} tasks in {time.perf_counter() - started:.1f} s", flush=True)
        violations = [c.code for c in load_categories().all() if c.violation]
        pool = db.pool
        cases = [
            ("year 2026, whole county", 2026, None, None),
            ("year 2026, region 360281", 2026, "360281", None),
            ("year 2026, department SW", 2026, None, "SW"),
        ]
        print(f"{runs} runs each, after a warm-up (best, median):")
        worst = 0.0
        for name, year, region, department in cases:
            f = store.StatsFilter(
                year=year, region=region, department=department, today=date(2026, 12, 3)
            )

            async def stats(f: store.StatsFilter = f) -> Any:
                async with pool.acquire() as conn:
                    return await store.task_stats(conn, f, violations=violations)

            async def floor(f: store.StatsFilter = f) -> Any:
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute("SET LOCAL jit = off")  # as task_stats runs
                    return await conn.fetchrow(FLOOR, *f.args()[:3])

            s_best, s_med, answer = await best_of(runs, stats)
            b_best, b_med, base = await best_of(runs, floor)
            ratio = s_best / b_best
            worst = max(worst, ratio)
            print(
                f"  {name:<28} stats {s_best * 1000:7.1f} ms (median {s_med * 1000:7.1f})"
                f"   floor {b_best * 1000:6.1f} ms (median {b_med * 1000:6.1f})"
                f"   ratio {ratio:4.1f}×"
                f"   {answer.tasks:,} tasks, "
                f"{len(answer.by_inspector):,} inspectors, {base['results']:,} with results",
                flush=True,
            )
        print(f"worst ratio statistics / one read of the same rows: {worst:.1f}×")
    finally:
        await db.pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=500_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    on_postgres(lambda url: run(url, args.tasks, args.runs), args.database_url, "bench-stats-")


if __name__ == "__main__":
    main()
