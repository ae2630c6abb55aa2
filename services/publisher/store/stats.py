"""SQL of the leaders' statistics (`GET /stats/tasks`): a year's tasks and results counted in
PostgreSQL, never read whole into Python. Industry and risk class are the ones each task came
with (task.assigned); a task that carries none counts under `''`.

A task belongs to the year its period starts in (the `tasks_period` index). Live tasks only:
a merged task (absorbed by a later visit) is counted through the task that absorbed it, and a
task of a redrawn draw without a result is replaced by the redraw's, and a task called off
before its visit (取消任务) is no task to do. Completed: some result
version is recorded. Overdue: as on the phone's cards (store/cards.py) — the period ended
before `today` and no result is recorded. Random and triggered tasks (触发检查) are never
counted together: the figures are of one `kind`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.publisher import (
    IndustryProblems,
    ItemProblems,
    RegionTally,
    RiskClassTally,
    TaskStats,
    TaskTally,
    Timeliness,
)
from services.publisher.store.conn import Conn

# One statement, so that the year's live tasks and their results are read once, and every
# figure comes from the same rows. $1 year, $2 region (exact code) or null, $3 department or
# null, $4 today, $5 kind (random | triggered), $6 the violation categories.
_STATS = """
WITH live AS MATERIALIZED (
    SELECT t.task_id, t.uscc, t.region_code, t.departments, t.team, t.items,
           coalesce(t.industry_code, '') AS industry_code, coalesce(t.risk_class, '') AS risk_class,
           (lr.task_id IS NOT NULL) AS completed,
           (lr.task_id IS NULL AND t.period_end < $4) AS overdue
    FROM tasks t
    LEFT JOIN draws dr ON dr.draw_id = t.draw_id
    LEFT JOIN LATERAL (SELECT r.task_id FROM results r WHERE r.task_id = t.task_id LIMIT 1) lr
           ON true
    WHERE t.period_start >= make_date($1, 1, 1) AND t.period_start < make_date($1 + 1, 1, 1)
      AND t.merged_into IS NULL
      AND NOT (dr.superseded_by IS NOT NULL AND lr.task_id IS NULL)
      AND NOT (t.cancelled_at IS NOT NULL AND lr.task_id IS NULL)
      AND ($2::text IS NULL OR t.region_code = $2)
      AND ($3::text IS NULL OR t.departments @> ARRAY[$3::text])
      AND t.kind = $5
),
versions AS MATERIALIZED (
    SELECT r.result_id, r.task_id, r.version, r.disclosed_at, r.due_date, r.items, r.categories,
           live.industry_code
    FROM results r JOIN live USING (task_id)
),
-- The latest version of each task's result (a correction replaces what the check found).
latest AS (
    SELECT v.* FROM versions v
    JOIN (SELECT task_id, max(version) AS version FROM versions GROUP BY task_id) m
      USING (task_id, version)
),
totals AS (
    SELECT count(*) AS tasks, count(*) FILTER (WHERE completed) AS completed,
           count(*) FILTER (WHERE overdue) AS overdue, count(DISTINCT uscc) AS entities_tasked,
           count(DISTINCT uscc) FILTER (WHERE completed) AS entities_checked
    FROM live
),
departments AS (
    SELECT d.department AS key, count(*) AS tasks, count(*) FILTER (WHERE completed) AS completed,
           count(*) FILTER (WHERE overdue) AS overdue,
           count(DISTINCT uscc) FILTER (WHERE completed) AS entities
    FROM live CROSS JOIN unnest(departments) AS d(department) GROUP BY 1
),
inspectors AS (
    SELECT m.inspector_id AS key, count(*) AS tasks,
           count(*) FILTER (WHERE completed) AS completed,
           count(*) FILTER (WHERE overdue) AS overdue,
           count(DISTINCT uscc) FILTER (WHERE completed) AS entities
    FROM live CROSS JOIN unnest(team) AS m(inspector_id) GROUP BY 1
),
regions AS (
    SELECT region_code, count(DISTINCT uscc) AS entities FROM live WHERE completed GROUP BY 1
),
-- Checked entities by the risk class their task carries ('' none).
classes AS (
    SELECT risk_class, count(DISTINCT uscc) AS entities FROM live WHERE completed GROUP BY 1
),
-- Each result once: its first publication against the first version's deadline (a correction
-- keeps the original deadline; the day is China's, as the deadline is). Published means
-- disclosed: every disclosure delivery done, the disclosing platforms' too (migration 015).
firsts AS (
    SELECT min(disclosed_at) AS published_at,
           min(due_date) FILTER (WHERE version = 1) AS due_date
    FROM versions GROUP BY result_id
),
timeliness AS (
    SELECT count(*) AS results,
           count(*) FILTER (WHERE published_at IS NOT NULL
                            AND (published_at AT TIME ZONE 'Asia/Shanghai')::date <= due_date)
               AS on_time,
           count(*) FILTER (WHERE published_at IS NOT NULL
                            AND (published_at AT TIME ZONE 'Asia/Shanghai')::date > due_date)
               AS late,
           count(*) FILTER (WHERE published_at IS NULL AND due_date < $4) AS overdue,
           count(*) FILTER (WHERE published_at IS NULL AND due_date >= $4) AS pending
    FROM firsts
),
-- Item names as the checked tasks carry them.
names AS (
    SELECT ti->>'code' AS item_code, max(ti->>'name') AS item_name
    FROM live CROSS JOIN LATERAL jsonb_array_elements(live.items) ti
    WHERE live.completed GROUP BY 1
),
items AS (
    SELECT ri->>'item_code' AS item_code, coalesce(max(names.item_name), '') AS item_name,
           count(*) AS checked,
           count(*) FILTER (WHERE ri->>'category' = ANY($6::text[])) AS problems
    FROM latest CROSS JOIN LATERAL jsonb_array_elements(latest.items) ri
    LEFT JOIN names ON names.item_code = ri->>'item_code'
    GROUP BY 1
),
-- By the industry the task carries ('' none): a problem when some item's category is a
-- violation, as for the items.
industries AS (
    SELECT industry_code, count(*) AS results,
           count(*) FILTER (WHERE categories && $6::text[]) AS problems
    FROM latest GROUP BY 1
)
SELECT (SELECT to_jsonb(totals) FROM totals) AS totals,
       (SELECT to_jsonb(timeliness) FROM timeliness) AS timeliness,
       (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY key), '[]') FROM departments x)
           AS by_department,
       (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY key), '[]') FROM inspectors x)
           AS by_inspector,
       (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY region_code), '[]') FROM regions x)
           AS by_region,
       (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY item_code), '[]') FROM items x)
           AS by_item,
       (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY industry_code), '[]') FROM industries x)
           AS by_industry,
       (SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY risk_class), '[]') FROM classes x)
           AS by_risk_class
"""


@dataclass(frozen=True)
class StatsFilter:
    """Which tasks the figures are of."""

    year: int
    region: str | None
    department: str | None
    today: date
    kind: str = "random"

    def args(self) -> list[Any]:
        """The first five positional parameters of `_STATS`."""
        return [self.year, self.region, self.department, self.today, self.kind]


async def task_stats(conn: Conn, f: StatsFilter, *, violations: list[str]) -> TaskStats:
    """A year's tasks and results: totals, per department, inspector, region, risk class, item
    and industry, and the results' publication against their deadline."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        # No JIT: the planner prices each jsonb_array_elements at 100 rows, crosses the JIT
        # threshold and spends a second compiling what runs in tens of milliseconds at a
        # county's size. Memory for the sorts and hashes of a province's year, so that they do
        # not spill to disk (bench/stats.py).
        await conn.execute("SET LOCAL jit = off")
        await conn.execute("SET LOCAL work_mem = '64MB'")
        row = await conn.fetchrow(_STATS, *f.args(), violations)
    assert row is not None  # aggregates always answer one row
    return TaskStats(
        year=f.year,
        region=f.region,
        department=f.department,
        kind=f.kind,
        **row["totals"],
        timeliness=Timeliness(**row["timeliness"]),
        by_department=[TaskTally(**r) for r in row["by_department"]],
        by_inspector=[TaskTally(**r) for r in row["by_inspector"]],
        by_region=[RegionTally(**r) for r in row["by_region"]],
        by_item=[ItemProblems(**r) for r in row["by_item"]],
        by_industry=[IndustryProblems(**r) for r in row["by_industry"]],
        by_risk_class=[RiskClassTally(**r) for r in row["by_risk_class"]],
    )
