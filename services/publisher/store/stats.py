"""SQL of the leaders' statistics (`GET /stats/tasks`): a year's tasks and results counted in
PostgreSQL, never read whole into Python.

A task belongs to the year its period starts in (the `tasks_period` index). Live tasks only:
a merged task (absorbed by a later visit) is counted through the task that absorbed it, and a
task of a redrawn draw without a result is replaced by the redraw's. Completed: some result
version is recorded. Overdue: as on the phone's cards (store/cards.py) — the period ended
before `today` and no result is recorded. Random and triggered tasks (触发检查) are never
counted together: the figures are of one `kind`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.publisher import (
    ItemProblems,
    RegionTally,
    TaskStats,
    TaskTally,
    Timeliness,
)
from services.publisher.store.conn import Conn

# $1 year, $2 region (exact code) or null, $3 department or null, $4 today, $5 kind.
_LIVE = """
WITH live AS (
    SELECT t.task_id, t.uscc, t.region_code, t.departments, t.team, t.items,
           (lr.task_id IS NOT NULL) AS completed,
           (lr.task_id IS NULL AND t.period_end < $4) AS overdue
    FROM tasks t
    LEFT JOIN draws dr ON dr.draw_id = t.draw_id
    LEFT JOIN LATERAL (SELECT r.task_id FROM results r WHERE r.task_id = t.task_id LIMIT 1) lr
           ON true
    WHERE t.period_start >= make_date($1, 1, 1) AND t.period_start < make_date($1 + 1, 1, 1)
      AND t.merged_into IS NULL
      AND NOT (dr.superseded_by IS NOT NULL AND lr.task_id IS NULL)
      AND ($2::text IS NULL OR t.region_code = $2)
      AND ($3::text IS NULL OR t.departments @> ARRAY[$3::text])
      AND t.kind = $5
)
"""

_TALLY = """
SELECT {key} AS key, count(*) AS tasks, count(*) FILTER (WHERE completed) AS completed,
       count(*) FILTER (WHERE overdue) AS overdue,
       count(DISTINCT uscc) FILTER (WHERE completed) AS entities
FROM live {source} GROUP BY 1 ORDER BY 1
"""

_TOTALS = """
SELECT count(*) AS tasks, count(*) FILTER (WHERE completed) AS completed,
       count(*) FILTER (WHERE overdue) AS overdue, count(DISTINCT uscc) AS entities_tasked,
       count(DISTINCT uscc) FILTER (WHERE completed) AS entities_checked
FROM live
"""

_REGIONS = """
SELECT region_code, count(DISTINCT uscc) AS entities FROM live WHERE completed
GROUP BY region_code ORDER BY region_code
"""

# Each result once: its first publication against the first version's deadline (a correction
# keeps the original deadline; the day is China's, as the deadline is).
_TIMELINESS = """
, firsts AS (
    SELECT r.result_id, min(r.published_at) AS published_at,
           (array_agg(r.due_date ORDER BY r.version))[1] AS due_date
    FROM results r JOIN live USING (task_id) GROUP BY r.result_id
)
SELECT count(*) AS results,
       count(*) FILTER (WHERE published_at IS NOT NULL
                        AND (published_at AT TIME ZONE 'Asia/Shanghai')::date <= due_date)
           AS on_time,
       count(*) FILTER (WHERE published_at IS NOT NULL
                        AND (published_at AT TIME ZONE 'Asia/Shanghai')::date > due_date) AS late,
       count(*) FILTER (WHERE published_at IS NULL AND due_date < $4) AS overdue,
       count(*) FILTER (WHERE published_at IS NULL AND due_date >= $4) AS pending
FROM firsts
"""

# The latest version of each task's result, item by item; $6 the violation categories.
_ITEMS = """
, latest AS (
    SELECT DISTINCT ON (r.task_id) r.task_id, r.items, live.items AS task_items
    FROM results r JOIN live USING (task_id) ORDER BY r.task_id, r.version DESC
)
SELECT ri->>'item_code' AS item_code,
       coalesce(max(ti->>'name'), '') AS item_name,
       count(*) AS checked,
       count(*) FILTER (WHERE ri->>'category' = ANY($6::text[])) AS problems
FROM latest
CROSS JOIN LATERAL jsonb_array_elements(latest.items) ri
LEFT JOIN LATERAL (
    SELECT ti FROM jsonb_array_elements(latest.task_items) ti
    WHERE ti->>'code' = ri->>'item_code' LIMIT 1
) names ON true
GROUP BY 1 ORDER BY 1
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
        """The positional parameters of `_LIVE`."""
        return [self.year, self.region, self.department, self.today, self.kind]


def _tally(rows: list[Any]) -> list[TaskTally]:
    return [
        TaskTally(
            key=r["key"],
            tasks=r["tasks"],
            completed=r["completed"],
            overdue=r["overdue"],
            entities=r["entities"],
        )
        for r in rows
    ]


async def task_stats(conn: Conn, f: StatsFilter, *, violations: list[str]) -> TaskStats:
    """A year's tasks and results: totals, per department, inspector, region and item, and
    the results' publication against their deadline."""
    args = f.args()
    totals = await conn.fetchrow(_LIVE + _TOTALS, *args)
    depts = await conn.fetch(
        _LIVE
        + _TALLY.format(
            key="d.department", source="CROSS JOIN unnest(departments) AS d(department)"
        ),
        *args,
    )
    inspectors = await conn.fetch(
        _LIVE
        + _TALLY.format(key="m.inspector_id", source="CROSS JOIN unnest(team) AS m(inspector_id)"),
        *args,
    )
    regions = await conn.fetch(_LIVE + _REGIONS, *args)
    timely = await conn.fetchrow(_LIVE + _TIMELINESS, *args)
    items = await conn.fetch(_LIVE + _ITEMS, *args, violations)
    assert totals is not None and timely is not None  # aggregates always answer one row
    return TaskStats(
        year=f.year,
        region=f.region,
        department=f.department,
        kind=f.kind,
        tasks=totals["tasks"],
        completed=totals["completed"],
        overdue=totals["overdue"],
        entities_tasked=totals["entities_tasked"],
        entities_checked=totals["entities_checked"],
        by_department=_tally(depts),
        by_inspector=_tally(inspectors),
        by_region=[
            RegionTally(region_code=r["region_code"], entities=r["entities"]) for r in regions
        ],
        timeliness=Timeliness(**dict(timely)),
        by_item=[ItemProblems(**dict(r)) for r in items],
    )
