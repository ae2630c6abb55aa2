"""Benchmark: the public site's reads (一公开) at 250,000 tasks and 250,000 published results.

A fresh publisher schema (the service's own migrations, indexes of 007 included) is filled in
SQL with 250,000 tasks of 20 draws over two years, 8 regions, 3 departments and 12 items, with
Chinese names from a vocabulary of 60 words, and one published result per task (5 % corrected:
a second version); then each read the site makes is timed through the publisher's own store
functions (the SQL `GET /public/notices/*`, `/public/companies*` and `/public/overview.json`
run): a page and its count. Best and median of `--runs`; the plans of the slowest are printed
with `--explain`. The tests never assert timings.

    .venv/bin/python bench/public_notices.py [--tasks 250000] [--runs 5] [--database-url URL]

Without --database-url an embedded PostgreSQL is started in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.kit.db import Database  # noqa: E402
from services.publisher import store  # noqa: E402
from services.publisher.domain.categories import load_categories  # noqa: E402
from services.publisher.domain.public_filters import notice_filter  # noqa: E402

WORDS = (
    "青花 瓷业 陶瓷 红茶 云雾 昌南 浮梁 乐平 高岭 窑火 玲珑 粉彩 颜色 釉里 薄胎 景德 雕塑 "
    "茶叶 农资 五金 建材 餐饮 饭店 酒家 超市 便利 药房 诊所 汽修 物流 电子 科技 网络 文化 "
    "传媒 广告 印刷 服装 鞋业 家具 装饰 工程 机械 化工 塑料 纸业 食品 酒业 水果 蔬菜 粮油 "
    "养殖 种植 旅游 酒店 教育 培训 健康 美容"
).split()
SUFFIXES = ["有限公司", "有限责任公司", "店", "经营部", "专业合作社", "商行"]
PLACES = ["景德镇市", "昌江区", "浮梁县", "乐平市", "珠山区", "九江市", "上饶市", "南昌市"]
REGIONS = ["360202", "360203", "360222", "360281", "360402", "361102", "360102", "360104"]


async def fill(conn: Any, n: int) -> None:
    """`n` tasks and their published results (5 % with a correction), in SQL."""
    await conn.execute(
        """
        INSERT INTO plans (plan_id, year, title, departments, approved_at, strata,
                           rules_version, items)
        SELECT 'P' || y || '-' || d, y, y || '年度' || d || '抽查计划', ARRAY[d],
               make_timestamptz(y, 2, 1, 0, 0, 0), 800, 'bench',
               (SELECT jsonb_agg(jsonb_build_object('code', d || '-00' || i, 'name', '事项' || i,
                       'department', d, 'kind', 'general')) FROM generate_series(1, 4) i)
          FROM unnest(ARRAY[2025, 2026]) y, unnest(ARRAY['SCJG', 'SW', 'STHJ']) d
        """
    )
    await conn.execute(
        """
        INSERT INTO draws (draw_id, plan_id, completed_at, tasks)
        SELECT 'D-' || g, 'P' || (2025 + g % 2) || '-' || (ARRAY['SCJG','SW','STHJ'])[1 + g % 3],
               now() - (g || ' days')::interval, $1 / 20
          FROM generate_series(0, 19) g
        """,
        n,
    )
    await conn.execute(
        """
        INSERT INTO tasks (task_id, draw_id, plan_id, uscc, entity_name, region_code, departments,
                           lead_department, items, team, period_start, period_end, batch)
        SELECT 'D-' || (i % 20) || ':' || u, 'D-' || (i % 20),
               'P' || (2025 + (i % 20) % 2) || '-' || d,
               u,
               ($2::text[])[1 + (h % 8)] || ($3::text[])[1 + (h / 8) % $6] ||
               ($3::text[])[1 + (h / 480) % $6] || ($4::text[])[1 + (h / 28800) % 6],
               ($5::text[])[1 + (h % 8)], ARRAY[d], d,
               jsonb_build_array(jsonb_build_object('code', d || '-00' || (1 + i % 4),
                                 'name', '事项' || (1 + i % 4), 'department', d)),
               ARRAY['I-' || (i % 500), 'I-' || ((i + 7) % 500)],
               make_date(2025 + (i % 20) % 2, 1 + i % 12, 1),
               make_date(2025 + (i % 20) % 2, 1 + i % 12, 28), 1
          FROM (SELECT i, abs(hashtext(i::text)) AS h,
                       (ARRAY['SCJG','SW','STHJ'])[1 + i % 3] AS d,
                       '91' || (ARRAY['360202','360203','360222','360281','360402','361102',
                                      '360102','360104'])[1 + abs(hashtext(i::text)) % 8]
                       || 'MA' || upper(substr(md5(i::text), 1, 8)) AS u
                  FROM generate_series(1, $1) i) s
        """,
        n,
        PLACES,
        WORDS,
        SUFFIXES,
        REGIONS,
        len(WORDS),
    )
    await conn.execute(
        """
        INSERT INTO results (result_id, version, task_id, submitted_by, check_date, due_date,
                             method, items, categories, violation, confirmations, attachments,
                             accepted_at, follow_up)
        SELECT 'R-' || t.task_id, 1, t.task_id, 'bench', t.period_start + 10, t.period_start + 40,
               '实地检查',
               jsonb_build_array(jsonb_build_object('item_code', t.items->0->>'code',
                 'category', c, 'category_name', CASE c WHEN '1' THEN '未发现问题'
                   WHEN '2' THEN '违反市场监管相关规定' ELSE '发现问题已责令改正' END,
                 'problems', '')),
               ARRAY[c], c <> '1', '[]', '[]', now(),
               jsonb_build_object('second', abs(hashtext(t.task_id)) % 86400)
          FROM (SELECT *, (ARRAY['1','1','1','1','1','1','1','2','E','1'])
                            [1 + abs(hashtext(task_id)) % 10] AS c
                  FROM tasks) t
        """
    )
    await conn.execute(
        """
        INSERT INTO results (result_id, version, task_id, supersedes, correction_reason,
                             submitted_by, check_date, due_date, method, items, categories,
                             violation, confirmations, attachments, accepted_at, follow_up)
        SELECT result_id, 2, task_id, 1, '录入错误', 'bench', check_date, due_date, method,
               items, categories, violation, '[]', '[]', now(), follow_up
          FROM results WHERE abs(hashtext(result_id)) % 20 = 0
        """
    )
    # Published as the relay does it, by an update (the trigger marks the corrected versions;
    # the publication time parked in follow_up above, a correction three days after).
    started = time.perf_counter()
    await conn.execute(
        """
        UPDATE results SET follow_up = NULL,
               published_at = make_timestamptz(extract(year FROM check_date)::int,
                                               extract(month FROM check_date)::int, 20, 0, 0, 0)
                 + ((follow_up->>'second') || ' seconds')::interval
                 + ((version - 1) * 3 || ' days')::interval
        """
    )
    print(f"published every version in one statement: {time.perf_counter() - started:.1f} s")
    await conn.execute("VACUUM ANALYZE")  # what autovacuum leaves a settled table in


async def timed(
    name: str, runs: int, call: Callable[[], Awaitable[Any]], describe: Callable[[Any], str]
) -> tuple[str, float]:
    """Best and median of `runs` calls (after one warm-up), what the last one answered."""
    answer = await call()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = await call()
        seconds.append(time.perf_counter() - started)
    best, median = min(seconds) * 1000, statistics.median(seconds) * 1000
    print(f"  {name:<52} {best:7.1f} ms  (median {median:7.1f})   {describe(answer)}", flush=True)
    return name, best


async def run(url: str, n: int, runs: int) -> None:
    schema = f"bench_public_{uuid.uuid4().hex[:8]}"
    db = Database(url=url, schema=schema)
    await db.connect()
    try:
        await db.migrate(ROOT / "services" / "publisher" / "migrations")
        started = time.perf_counter()
        async with db.pool.acquire() as conn:
            await fill(conn, n)
            tasks = await conn.fetchval("SELECT count(*) FROM tasks")
            results = await conn.fetchval("SELECT count(*) FROM results")
        print(
            f"filled {tasks:,} tasks and {results:,} result versions in "
            f"{time.perf_counter() - started:.1f} s (schema {schema})",
            flush=True,
        )
        categories = load_categories()
        pool = db.pool

        def page(kind: str, **kw: Any) -> Callable[[], Awaitable[Any]]:
            f = notice_filter(categories=categories, **kw)
            fn = {
                "tasks": store.task_page,
                "results": store.result_page,
                "plans": store.plan_page,
                "companies": store.company_page,
            }[kind]

            async def call() -> Any:
                async with pool.acquire() as conn:
                    return await fn(conn, f)

            return call

        def rows(p: Any) -> str:
            shown = (
                getattr(p, "tasks", None)
                or getattr(p, "results", None)
                or getattr(p, "companies", None)
                or getattr(p, "plans", None)
                or []
            )
            return f"total {p.total:,}, {len(shown)} on the page"

        async with pool.acquire() as conn:
            some = await conn.fetchrow(
                "SELECT uscc, entity_name FROM tasks ORDER BY task_id LIMIT 1"
            )
        print(f"{runs} runs each; a page is 20 rows and its count:")
        cases = [
            ("任务公告, no filter, page 1", page("tasks")),
            ("任务公告, page 5,000 (offset 99,980)", page("tasks", offset=99_980)),
            ("任务公告, year 2026 + SW", page("tasks", year=2026, department="SW")),
            ("任务公告, region 360200 (prefecture)", page("tasks", region="360200")),
            ("任务公告, item SCJG-002", page("tasks", item="SCJG-002")),
            ("任务公告, name part 青花瓷业", page("tasks", q="青花瓷业")),
            ("任务公告, name part 饭店 (2 characters)", page("tasks", q="饭店")),
            ("任务公告, USCC prefix 91360281MA", page("tasks", q="91360281MA")),
            ("结果公告, no filter, page 1", page("results")),
            ("结果公告, page 500", page("results", offset=9_980)),
            ("结果公告, category A (violations) + 2026", page("results", category="A", year=2026)),
            ("结果公告, region 360281 + STHJ", page("results", region="360281", department="STHJ")),
            ("结果公告, name part 红茶专业合作社", page("results", q="红茶专业合作社")),
            ("计划公告, 2026", page("plans", year=2026)),
            ("company search 昌江区青花", page("companies", q="昌江区青花")),
            ("company search, a whole USCC", page("companies", q=some["uscc"])),
        ]
        slowest = []
        for name, call in cases:
            slowest.append(await timed(name, runs, call, rows))

        async def history() -> Any:
            async with pool.acquire() as conn:
                return await store.company_history(conn, some["uscc"])

        slowest.append(
            await timed(
                "company history",
                runs,
                history,
                lambda h: f"{len(h.tasks)} tasks, {len(h.results)} results",
            )
        )
        cats = [{"code": c.code, "name": c.name} for c in categories.all()]

        async def overview() -> Any:
            from contracts.publisher import NoticeOption

            async with pool.acquire() as conn:
                return await store.overview(conn, 2026, [NoticeOption(**c) for c in cats])

        slowest.append(
            await timed(
                "overview 2026 (home page)",
                runs,
                overview,
                lambda o: f"{o.tasks:,} tasks, {o.results:,} results",
            )
        )
        worst = max(slowest, key=lambda x: x[1])
        print(f"slowest: {worst[0]} {worst[1]:.1f} ms")
    finally:
        await db.pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await db.close()


def on_postgres(run: Callable[[str], Awaitable[None]], url: str | None, prefix: str) -> None:
    """Run `run(url)` against the given PostgreSQL, or an embedded one started for it in a
    temporary folder named with `prefix` (removed after)."""
    if url:
        asyncio.run(run(url))
        return
    from spotcheck.embedded import EmbeddedPostgres
    from tests.stack import new_workdir

    folder = new_workdir(prefix)
    pg = EmbeddedPostgres(folder / "pg")
    try:
        asyncio.run(run(pg.start()))
    finally:
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=250_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    on_postgres(lambda url: run(url, args.tasks, args.runs), args.database_url, "bench-public-")


if __name__ == "__main__":
    main()
