"""SQL of the public side (公示): the four notices and the draws, from the publisher's own copies.

Only reads; `store/tasks.py` and `store/results.py` write the rows these queries read.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from services.publisher.domain.notices import (
    DrawNotice,
    ItemNotice,
    PlanNotice,
    ResultItemNotice,
    ResultNotice,
    ResultVersionNotice,
    TaskNotice,
)
from services.publisher.store.conn import Conn


async def item_notices(conn: Conn) -> list[ItemNotice]:
    """The item catalogue as the approved plans carry it, one line per item code."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (i->>'code') i->>'code' AS code, i->>'name' AS name,"
        " i->>'department' AS department, i->>'kind' AS kind"
        " FROM plans, jsonb_array_elements(items) AS i ORDER BY i->>'code', approved_at DESC"
    )
    return [ItemNotice(r["code"], r["name"], r["department"], r["kind"]) for r in rows]


async def plan_notices(conn: Conn) -> list[PlanNotice]:
    """Approved plans, newest first."""
    rows = await conn.fetch("SELECT * FROM plans ORDER BY approved_at DESC")
    return [
        PlanNotice(
            r["plan_id"],
            r["year"],
            r["title"],
            tuple(r["departments"]),
            r["approved_at"],
            r["strata"],
            r["rules_version"],
        )
        for r in rows
    ]


def _search_sql(query: str | None, alias: str) -> tuple[str, list[Any]]:
    q = (query or "").strip()
    if not q:
        return "", []
    # LIKE wildcards typed by the public are literal characters, not patterns.
    q = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if q.isascii() and q.isalnum():
        return (
            f" AND (upper({alias}.uscc) LIKE $1 || '%' OR {alias}.entity_name LIKE "
            f"'%' || $2 || '%')",
            [q.upper(), q],
        )
    return f" AND {alias}.entity_name LIKE '%' || $1 || '%'", [q]


async def draw_notices(conn: Conn, *, draw_id: str | None = None) -> list[DrawNotice]:
    """Draws we know of (newest first), or just one."""
    where, args = ("WHERE draw_id = $1", [draw_id]) if draw_id else ("", [])
    rows = await conn.fetch(
        f"SELECT * FROM draws {where} ORDER BY completed_at DESC NULLS LAST, draw_id", *args
    )
    return [
        DrawNotice(
            draw_id=r["draw_id"],
            plan_id=r["plan_id"],
            completed_at=r["completed_at"],
            tasks=r["tasks"],
            unstaffed=r["unstaffed"],
            seed=r["seed"],
            seed_source=r["seed_source"],
            commitment_sha256=r["commitment_sha256"],
            supersedes=r["supersedes"],
            superseded_by=r["superseded_by"],
            superseded_reason=r["superseded_reason"],
            superseded_at=r["superseded_at"],
            superseded_requested_by=r["superseded_requested_by"],
            superseded_confirmed_by=r["superseded_confirmed_by"],
        )
        for r in rows
    ]


async def task_notices(
    conn: Conn, *, query: str | None, draw_id: str | None = None, limit: int = 200
) -> list[TaskNotice]:
    """Tasks matching a search (USCC prefix or part of the name), optionally of one draw."""
    where, args = _search_sql(query, "t")
    if draw_id:
        args.append(draw_id)
        where += f" AND t.draw_id = ${len(args)}"
    rows = await conn.fetch(
        "SELECT t.*, d.superseded_by, CASE "
        "WHEN EXISTS (SELECT 1 FROM results r WHERE r.task_id = t.task_id) "
        "THEN 'result_recorded' WHEN t.started_at IS NOT NULL THEN 'in_progress' "
        "WHEN t.merged_into IS NOT NULL THEN 'merged' "
        "WHEN t.cancelled_at IS NOT NULL THEN 'cancelled' "
        "ELSE 'not_started' END AS progress "
        f"FROM tasks t LEFT JOIN draws d USING (draw_id) "
        f"WHERE true{where} ORDER BY t.period_start DESC, t.task_id LIMIT {int(limit)}",
        *args,
    )
    return [
        TaskNotice(
            r["task_id"],
            r["plan_id"],
            r["uscc"],
            r["entity_name"],
            tuple(i["name"] for i in r["items"]),
            tuple(r["departments"]),
            r["period_start"],
            r["period_end"],
            draw_id=r["draw_id"],
            superseded_by=r["superseded_by"],
            progress=r["progress"],
        )
        for r in rows
    ]


async def result_notices(conn: Conn, *, query: str | None, limit: int = 200) -> list[ResultNotice]:
    """Published results (latest published version, with earlier versions as history)."""
    where, args = _search_sql(query, "t")
    rows = await conn.fetch(
        f"""SELECT r.*, t.uscc, t.entity_name, t.departments FROM results r
            JOIN tasks t USING (task_id)
            WHERE r.published_at IS NOT NULL{where}
            ORDER BY r.result_id, r.version DESC""",
        *args,
    )
    by_result: dict[str, list[asyncpg.Record]] = {}
    for r in rows:
        by_result.setdefault(r["result_id"], []).append(r)
    notices = []
    for versions in by_result.values():
        latest, older = versions[0], versions[1:]
        notices.append(
            ResultNotice(
                result_id=latest["result_id"],
                version=latest["version"],
                task_id=latest["task_id"],
                uscc=latest["uscc"],
                entity_name=latest["entity_name"],
                authority=tuple(latest["departments"]),
                check_date=latest["check_date"],
                published_at=latest["published_at"],
                items=tuple(
                    ResultItemNotice(
                        i["item_code"], i["category"], i["category_name"], i.get("problems", "")
                    )
                    for i in latest["items"]
                ),
                violation=latest["violation"],
                correction_reason=latest["correction_reason"],
                due_date=latest["due_date"],
                due_date_provisional=latest["due_date_provisional"],
                history=tuple(
                    ResultVersionNotice(
                        o["version"],
                        o["published_at"],
                        tuple(i["category_name"] for i in o["items"]),
                        o["correction_reason"],
                    )
                    for o in older
                ),
            )
        )
    notices.sort(key=lambda n: n.published_at, reverse=True)
    return notices[:limit]
