"""SQL of the public site's reads (一公开): pages of tasks, results and plans, the company search
and a company's history, a year's overview. Read only, from the publisher's own copies.

Each page is filtered, ordered and cut in SQL (`LIMIT`/`OFFSET` over the indexes of migration
007), and counted with the same conditions; nothing reads a whole table into Python.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg

from contracts.draw import TaskItem
from contracts.publisher import (
    CompanyHistory,
    CompanyMatch,
    CompanyPage,
    FollowUp,
    NoticeOption,
    NoticeProgress,
    PlanNoticeItem,
    PlanNoticePage,
    PlanNoticeRow,
    PublicOverview,
    ResultNoticeItem,
    ResultNoticePage,
    ResultNoticeRow,
    ResultNoticeVersion,
    TaskNoticePage,
    TaskNoticeRow,
)
from services.publisher.domain.public_filters import NoticeFilter
from services.publisher.store.conn import Conn

PROGRESS_SQL = (
    "CASE WHEN EXISTS (SELECT 1 FROM results x WHERE x.task_id = t.task_id) "
    "THEN 'result_recorded' WHEN t.merged_into IS NOT NULL THEN 'merged' "
    "WHEN t.cancelled_at IS NOT NULL THEN 'cancelled' "
    "WHEN t.started_at IS NOT NULL THEN 'in_progress' ELSE 'not_started' END"
)
# The latest published version of each result (no later version of it is public: the mark
# migration 007's trigger keeps; the partial index `results_public` holds exactly these rows).
LATEST_PUBLISHED = "r.published_at IS NOT NULL AND NOT r.public_superseded"


class _Args:
    """Positional parameters of one statement: `add(value)` answers its `$n`."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _like(text: str) -> str:
    """Text a visitor typed, matched literally by LIKE (its % and _ are not wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _task_conditions(f: NoticeFilter, a: _Args, *, year_column: str | None) -> list[str]:
    """Conditions on the task `t` (and the year on `year_column`)."""
    out = []
    if f.year is not None and year_column is not None:
        out.append(
            f"{year_column} >= {a.add(date(f.year, 1, 1))} "
            f"AND {year_column} < {a.add(date(f.year + 1, 1, 1))}"
        )
    if f.department is not None:
        out.append(f"t.departments @> ARRAY[{a.add(f.department)}]::text[]")
    if f.item is not None:
        out.append(
            f"t.items @> jsonb_build_array(jsonb_build_object('code', {a.add(f.item)}::text))"
        )
    prefix = f.region_prefix
    if prefix is not None:
        if len(prefix) == 6:
            out.append(f"t.region_code = {a.add(prefix)}")
        else:
            # the codes under a prefecture or province: a range of digit strings
            low, high = prefix.ljust(6, "0"), str(int(prefix) + 1).ljust(6, "0")
            out.append(f"t.region_code >= {a.add(low)} AND t.region_code < {a.add(high)}")
    if f.draw is not None:
        out.append(f"t.draw_id = {a.add(f.draw)}")
    s = f.search
    if s is not None:
        if s.full_uscc:
            out.append(f"t.uscc = {a.add(s.text)}")
        elif s.uscc_like:
            out.append(
                f"(t.uscc LIKE {a.add(_like(s.text) + '%')} "
                f"OR t.entity_name LIKE {a.add('%' + _like(s.text) + '%')})"
            )
        else:
            out.append(f"t.entity_name LIKE {a.add('%' + _like(s.text) + '%')}")
    return out


def _where(conditions: list[str]) -> str:
    return (" WHERE " + " AND ".join(conditions)) if conditions else ""


def _task_row(r: asyncpg.Record) -> TaskNoticeRow:
    return TaskNoticeRow(
        task_id=r["task_id"],
        draw_id=r["draw_id"],
        plan_id=r["plan_id"],
        plan_title=r["plan_title"],
        plan_year=r["plan_year"],
        uscc=r["uscc"],
        entity_name=r["entity_name"],
        region_code=r["region_code"],
        departments=list(r["departments"]),
        items=[TaskItem.model_validate(i) for i in r["items"]],
        period_start=r["period_start"],
        period_end=r["period_end"],
        progress=NoticeProgress(r["progress"]),
        merged_into=r["merged_into"],
        draw_superseded_by=r["superseded_by"],
        kind=r["kind"],
        trigger=r["trigger"],
    )


TASK_COLUMNS = (
    "t.task_id, t.draw_id, t.plan_id, t.uscc, t.entity_name, t.region_code, t.departments, "
    "t.items, t.period_start, t.period_end, t.merged_into, d.superseded_by, t.kind, t.trigger, "
    f"p.title AS plan_title, p.year AS plan_year, {PROGRESS_SQL} AS progress"
)
TASK_JOINS = "LEFT JOIN draws d ON d.draw_id = t.draw_id LEFT JOIN plans p ON p.plan_id = t.plan_id"


async def task_page(conn: Conn, f: NoticeFilter) -> TaskNoticePage:
    """任务公告: one page of tasks (newest period first) and how many match. The page's keys
    are found first (the index's order, no joins), then only its rows are read in full."""
    a = _Args()
    where = _where(_task_conditions(f, a, year_column="t.period_start"))
    total = await conn.fetchval(f"SELECT count(*) FROM tasks t{where}", *a.values)
    rows = await conn.fetch(
        f"WITH page AS (SELECT t.task_id FROM tasks t{where} "
        f"ORDER BY t.period_start DESC, t.task_id "
        f"LIMIT {a.add(f.limit)} OFFSET {a.add(f.offset)}) "
        f"SELECT {TASK_COLUMNS} FROM page JOIN tasks t ON t.task_id = page.task_id {TASK_JOINS} "
        f"ORDER BY t.period_start DESC, t.task_id",
        *a.values,
    )
    return TaskNoticePage(
        total=total, offset=f.offset, limit=f.limit, tasks=[_task_row(r) for r in rows]
    )


async def _histories(
    conn: Conn, latest: list[asyncpg.Record]
) -> dict[str, list[ResultNoticeVersion]]:
    """The earlier published versions of these results, newest first."""
    if not latest:
        return {}
    rows = await conn.fetch(
        "SELECT o.result_id, o.version, o.published_at, o.items, o.correction_reason "
        "FROM results o JOIN unnest($1::text[], $2::int[]) AS l(result_id, version) "
        "ON o.result_id = l.result_id AND o.version < l.version "
        "WHERE o.published_at IS NOT NULL ORDER BY o.result_id, o.version DESC",
        [r["result_id"] for r in latest],
        [r["version"] for r in latest],
    )
    out: dict[str, list[ResultNoticeVersion]] = defaultdict(list)
    for o in rows:
        out[o["result_id"]].append(
            ResultNoticeVersion(
                version=o["version"],
                published_at=o["published_at"],
                categories=[i["category_name"] for i in o["items"]],
                correction_reason=o["correction_reason"],
            )
        )
    return out


def _result_row(r: asyncpg.Record, history: list[ResultNoticeVersion]) -> ResultNoticeRow:
    names = {i["code"]: i["name"] for i in r["task_items"]}
    return ResultNoticeRow(
        result_id=r["result_id"],
        version=r["version"],
        task_id=r["task_id"],
        draw_id=r["draw_id"],
        plan_id=r["plan_id"],
        uscc=r["uscc"],
        entity_name=r["entity_name"],
        region_code=r["region_code"],
        departments=list(r["departments"]),
        check_date=r["check_date"],
        due_date=r["due_date"],
        due_date_provisional=r["due_date_provisional"],
        published_at=r["published_at"],
        violation=r["violation"],
        items=[
            ResultNoticeItem(
                item_code=i["item_code"],
                item_name=names.get(i["item_code"], i["item_code"]),
                category=i["category"],
                category_name=i["category_name"],
                problems=i.get("problems") or "",
            )
            for i in r["items"]
        ],
        follow_up=None if r["follow_up"] is None else FollowUp.model_validate(r["follow_up"]),
        correction_reason=r["correction_reason"],
        history=history,
    )


RESULT_COLUMNS = (
    "r.result_id, r.version, r.task_id, r.check_date, r.due_date, r.due_date_provisional, "
    "r.published_at, r.violation, r.items, r.follow_up, r.correction_reason, "
    "t.draw_id, t.plan_id, t.uscc, t.entity_name, t.region_code, t.departments, "
    "t.items AS task_items"
)


def _result_conditions(f: NoticeFilter, a: _Args) -> tuple[str, str]:
    """The FROM and WHERE of the results matching `f` (the task joined only when a filter is
    on the task)."""
    on_task = _task_conditions(f, a, year_column=None)
    out = [LATEST_PUBLISHED, *on_task]
    if f.year is not None:
        out.append(
            f"r.check_date >= {a.add(date(f.year, 1, 1))} "
            f"AND r.check_date < {a.add(date(f.year + 1, 1, 1))}"
        )
    if f.categories:
        out.append(f"r.categories && {a.add(list(f.categories))}::text[]")
    source = "results r JOIN tasks t ON t.task_id = r.task_id" if on_task else "results r"
    return source, _where(out)


async def result_page(conn: Conn, f: NoticeFilter) -> ResultNoticePage:
    """结果公告: one page of published results (newest publication first), how many match.
    The page's keys are found first, then only its rows are read in full."""
    a = _Args()
    source, where = _result_conditions(f, a)
    total = await conn.fetchval(f"SELECT count(*) FROM {source}{where}", *a.values)
    rows = await conn.fetch(
        f"WITH page AS (SELECT r.result_id, r.version FROM {source}{where} "
        f"ORDER BY r.published_at DESC, r.result_id "
        f"LIMIT {a.add(f.limit)} OFFSET {a.add(f.offset)}) "
        f"SELECT {RESULT_COLUMNS} FROM page "
        f"JOIN results r ON r.result_id = page.result_id AND r.version = page.version "
        f"JOIN tasks t ON t.task_id = r.task_id ORDER BY r.published_at DESC, r.result_id",
        *a.values,
    )
    histories = await _histories(conn, rows)
    return ResultNoticePage(
        total=total,
        offset=f.offset,
        limit=f.limit,
        results=[_result_row(r, histories.get(r["result_id"], [])) for r in rows],
    )


async def plan_page(conn: Conn, f: NoticeFilter) -> PlanNoticePage:
    """计划公告: one page of approved plans (newest first), with their draws."""
    a = _Args()
    conditions = []
    if f.plan is not None:
        conditions.append(f"p.plan_id = {a.add(f.plan)}")
    if f.year is not None:
        conditions.append(f"p.year = {a.add(f.year)}")
    if f.department is not None:
        conditions.append(f"p.departments @> ARRAY[{a.add(f.department)}]::text[]")
    if f.item is not None:
        conditions.append(
            f"p.items @> jsonb_build_array(jsonb_build_object('code', {a.add(f.item)}::text))"
        )
    where = _where(conditions)
    total = await conn.fetchval(f"SELECT count(*) FROM plans p{where}", *a.values)
    rows = await conn.fetch(
        f"SELECT p.*, ARRAY(SELECT d.draw_id FROM draws d WHERE d.plan_id = p.plan_id "
        f"ORDER BY d.completed_at DESC NULLS LAST, d.draw_id) AS draws "
        f"FROM plans p{where} ORDER BY p.year DESC, p.approved_at DESC, p.plan_id "
        f"LIMIT {a.add(f.limit)} OFFSET {a.add(f.offset)}",
        *a.values,
    )
    return PlanNoticePage(
        total=total,
        offset=f.offset,
        limit=f.limit,
        plans=[
            PlanNoticeRow(
                plan_id=r["plan_id"],
                year=r["year"],
                title=r["title"],
                departments=list(r["departments"]),
                approved_at=r["approved_at"],
                strata=r["strata"],
                rules_version=r["rules_version"],
                items=[
                    PlanNoticeItem(
                        code=i["code"],
                        name=i.get("name") or i["code"],
                        department=i.get("department") or "",
                        kind=i.get("kind") or "",
                    )
                    for i in r["items"]
                ],
                draws=list(r["draws"]),
            )
            for r in rows
        ],
    )


async def company_page(conn: Conn, f: NoticeFilter) -> CompanyPage:
    """Entities with public records whose name or USCC answers the search, most recently
    drawn first."""
    a = _Args()
    where = _where(_task_conditions(f, a, year_column=None))
    total = await conn.fetchval(f"SELECT count(DISTINCT t.uscc) FROM tasks t{where}", *a.values)
    rows = await conn.fetch(
        f"""SELECT t.uscc,
                   (array_agg(t.entity_name ORDER BY t.received_at DESC))[1] AS entity_name,
                   (array_agg(t.region_code ORDER BY t.received_at DESC))[1] AS region_code,
                   count(*) AS tasks, max(t.period_end) AS last_period_end,
                   (SELECT count(*) FROM results r JOIN tasks u ON u.task_id = r.task_id
                     WHERE u.uscc = t.uscc AND {LATEST_PUBLISHED}) AS results
              FROM tasks t{where}
             GROUP BY t.uscc ORDER BY max(t.period_end) DESC, t.uscc
             LIMIT {a.add(f.limit)} OFFSET {a.add(f.offset)}""",
        *a.values,
    )
    return CompanyPage(
        total=total,
        offset=f.offset,
        limit=f.limit,
        companies=[
            CompanyMatch(
                uscc=r["uscc"],
                entity_name=r["entity_name"],
                region_code=r["region_code"],
                tasks=r["tasks"],
                results=r["results"],
                last_period_end=r["last_period_end"],
            )
            for r in rows
        ],
    )


async def company_history(conn: Conn, uscc: str) -> CompanyHistory:
    """An entity's tasks (newest period first) and published results (newest first)."""
    tasks = await conn.fetch(
        f"SELECT {TASK_COLUMNS} FROM tasks t {TASK_JOINS} WHERE t.uscc = $1 "
        "ORDER BY t.period_start DESC, t.task_id",
        uscc,
    )
    results = await conn.fetch(
        f"SELECT {RESULT_COLUMNS} FROM results r JOIN tasks t ON t.task_id = r.task_id "
        f"WHERE t.uscc = $1 AND {LATEST_PUBLISHED} ORDER BY r.check_date DESC, r.result_id",
        uscc,
    )
    histories = await _histories(conn, results)
    latest = max(tasks, key=lambda r: (r["period_start"], r["task_id"]), default=None)
    return CompanyHistory(
        uscc=uscc,
        entity_name=None if latest is None else latest["entity_name"],
        region_code=None if latest is None else latest["region_code"],
        tasks=[_task_row(r) for r in tasks],
        results=[_result_row(r, histories.get(r["result_id"], [])) for r in results],
    )


async def overview(conn: Conn, year: int, categories: list[NoticeOption]) -> PublicOverview:
    """A year's figures and the values the filters offer (years, departments, regions and
    items that have plans or tasks; the categories given)."""
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    years = [r["year"] for r in await conn.fetch("SELECT DISTINCT year FROM plans ORDER BY 1 DESC")]
    plans = await conn.fetchval("SELECT count(*) FROM plans WHERE year = $1", year)
    draws = await conn.fetchval(
        "SELECT count(*) FROM draws d JOIN plans p ON p.plan_id = d.plan_id "
        "WHERE p.year = $1 AND d.superseded_by IS NULL",
        year,
    )
    # The draws' tasks and the triggered ones (触发检查) are two figures, never one.
    kinds = {
        r["kind"]: r["n"]
        for r in await conn.fetch(
            "SELECT t.kind, count(*) AS n FROM tasks t "
            "WHERE t.period_start >= $1 AND t.period_start < $2 "
            "AND t.merged_into IS NULL AND t.draw_id NOT IN "
            "(SELECT d.draw_id FROM draws d WHERE d.superseded_by IS NOT NULL) GROUP BY t.kind",
            start,
            end,
        )
    }
    counted = await conn.fetchrow(
        f"SELECT count(*) AS results, count(*) FILTER (WHERE r.violation) AS violations "
        f"FROM results r WHERE r.check_date >= $1 AND r.check_date < $2 AND {LATEST_PUBLISHED}",
        start,
        end,
    )
    departments = [
        r["d"]
        for r in await conn.fetch("SELECT DISTINCT unnest(departments) AS d FROM plans ORDER BY 1")
    ]
    # The distinct regions read off the index one jump at a time (a loose index scan), not
    # by reading every task.
    regions = [
        r["c"]
        for r in await conn.fetch(
            "WITH RECURSIVE c AS (SELECT min(region_code) AS c FROM tasks UNION ALL "
            "SELECT (SELECT min(region_code) FROM tasks WHERE region_code > c.c) FROM c "
            "WHERE c.c IS NOT NULL) SELECT c FROM c WHERE c IS NOT NULL"
        )
    ]
    items = [
        NoticeOption(code=r["code"], name=r["name"] or r["code"], department=r["department"] or "")
        for r in await conn.fetch(
            "SELECT DISTINCT ON (i->>'code') i->>'code' AS code, i->>'name' AS name, "
            "i->>'department' AS department FROM plans, jsonb_array_elements(items) AS i "
            "ORDER BY i->>'code', approved_at DESC"
        )
    ]
    return PublicOverview(
        year=year,
        years=years,
        plans=plans,
        draws=draws,
        tasks=kinds.get("random", 0),
        triggered_tasks=kinds.get("triggered", 0),
        results=counted["results"],
        violations=counted["violations"],
        departments=departments,
        regions=regions,
        items=items,
        categories=categories,
    )
