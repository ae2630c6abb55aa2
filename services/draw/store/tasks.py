"""SQL of a draw's tasks: what earlier tasks say (exclusions, open visits, loads, last teams),
writing a province's tasks by COPY, progress, and the public list."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from services.draw.domain.machine import WorkDone
from services.draw.domain.tasks import OpenTask, Progress
from services.draw.store.rows import Conn, StoredTask, TaskRow


async def excluded_usccs(
    conn: Conn,
    *,
    item_codes: Sequence[str],
    departments: Sequence[str],
    since: date,
    times: int = 1,
) -> list[str]:
    """Entities checked at least `times` times for one of these items by one of these
    departments in tasks whose period ends on or after `since` (a frequency window).

    A check is a task of a live draw: assigned, unstaffed, or merged into another task, and
    not cancelled before its visit. A merged task and the task that absorbed it (which carries
    its items) are one visit, so they count once. Triggered checks (触发检查) are counted apart:
    they never keep an entity out of a random draw (else opening one would shield an entity
    from the draw).
    """
    rows = await conn.fetch(
        "SELECT uscc FROM tasks t WHERE t.state IN ('assigned', 'unstaffed', 'merged') "
        "AND t.kind = 'random' AND t.progress <> 'cancelled' AND t.period_end >= $3 "
        "AND EXISTS (SELECT 1 FROM jsonb_array_elements(t.body->'items') i "
        "            WHERE i->>'code' = ANY($1::text[]) AND i->>'department' = ANY($2::text[])) "
        "GROUP BY uscc HAVING count(DISTINCT coalesce(t.merged_into, t.task_id)) >= $4",
        list(item_codes),
        list(departments),
        since,
        times,
    )
    return sorted(r["uscc"] for r in rows)


async def open_tasks(
    conn: Conn, usccs: Sequence[str], *, plan_id: str, start: date, end: date
) -> list[OpenTask]:
    """Open tasks of other plans for these entities whose period overlaps [start, end], with
    their progress (whether one may be absorbed is `tasks.merge_visits`' decision). A triggered
    task is never absorbed into a random one: it stays its own visit, counted apart."""
    rows = await conn.fetch(
        "SELECT task_id, plan_id, uscc, body, progress FROM tasks WHERE uscc = ANY($1::text[]) "
        "AND state IN ('assigned', 'unstaffed') AND plan_id <> $2 AND kind = 'random' "
        "AND period_start <= $4 AND period_end >= $3",
        list(usccs),
        plan_id,
        start,
        end,
    )
    out = []
    for r in rows:
        b = r["body"]
        out.append(
            OpenTask(
                task_id=r["task_id"],
                plan_id=r["plan_id"],
                uscc=r["uscc"],
                item_codes=tuple(i["code"] for i in b["items"]),
                departments=tuple(b["departments"]),
                methods=tuple(b.get("methods", [])),
                period_start=date.fromisoformat(b["period_start"]),
                period_end=date.fromisoformat(b["period_end"]),
                progress=Progress(r["progress"]),
            )
        )
    return out


async def task_bodies(conn: Conn, task_ids: Sequence[str]) -> dict[str, StoredTask]:
    """Stored bodies (and expertise) of tasks, by id."""
    rows = await conn.fetch(
        "SELECT task_id, body, expertise FROM tasks WHERE task_id = ANY($1::text[])",
        list(task_ids),
    )
    return {r["task_id"]: StoredTask(body=r["body"], expertise=r["expertise"] or {}) for r in rows}


async def loads(conn: Conn, *, since: date) -> dict[str, int]:
    """Open tasks per inspector whose period ends on or after `since`."""
    rows = await conn.fetch(
        "SELECT m.inspector_id, count(*) AS c FROM team_members m JOIN tasks t USING (task_id) "
        "WHERE t.state = 'assigned' AND t.period_end >= $1 GROUP BY m.inspector_id",
        since,
    )
    return {r["inspector_id"]: int(r["c"]) for r in rows}


async def last_inspectors(conn: Conn, usccs: Sequence[str]) -> dict[str, frozenset[str]]:
    """The team of the latest staffed task of each entity."""
    rows = await conn.fetch(
        "WITH last AS (SELECT DISTINCT ON (uscc) uscc, task_id FROM tasks "
        "  WHERE uscc = ANY($1::text[]) AND state IN ('assigned', 'merged') "
        "  ORDER BY uscc, period_end DESC, task_id DESC) "
        "SELECT l.uscc, array_agg(m.inspector_id) AS team FROM last l "
        "JOIN team_members m USING (task_id) GROUP BY l.uscc",
        list(usccs),
    )
    return {r["uscc"]: frozenset(r["team"]) for r in rows}


async def insert_tasks(
    conn: Conn,
    rows: Iterable[tuple[Any, ...]],
    members: Iterable[tuple[str, str]],
) -> None:
    """Tasks (body as JSON text or value, expertise as a JSON value) and members, by COPY.

    asyncpg's binary COPY has no jsonb encoder, so rows go through a text staging table.
    """
    cols = (
        "task_id, draw_id, seq, plan_id, uscc, state, period_start, period_end, body, "
        "expertise, unstaffed_reason"
    )
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS tasks_in (task_id text, draw_id text, seq integer, "
        "plan_id text, uscc text, state text, period_start date, period_end date, body text, "
        "expertise text, unstaffed_reason text) ON COMMIT DELETE ROWS"
    )
    await conn.copy_records_to_table(
        "tasks_in",
        # A body may come serialised already (staffing.py: the same text is the event).
        records=(
            (*r[:8], r[8] if isinstance(r[8], str) else dumps(r[8]), dumps(r[9]), r[10])
            for r in rows
        ),
        columns=[c.strip() for c in cols.split(",")],
    )
    await conn.execute(
        f"INSERT INTO tasks ({cols}) SELECT task_id, draw_id, seq, plan_id, uscc, state, "
        "period_start, period_end, body::jsonb, expertise::jsonb, unstaffed_reason FROM tasks_in"
    )
    await conn.copy_records_to_table(
        "team_members", records=members, columns=["task_id", "inspector_id"]
    )


async def mark_merged(conn: Conn, merged: dict[str, str]) -> None:
    """Absorbed tasks: kept, marked merged into the new task."""
    if merged:
        await conn.executemany(
            "UPDATE tasks SET state = 'merged', merged_into = $2 WHERE task_id = $1",
            list(merged.items()),
        )


async def supersede_tasks(conn: Conn, draw_id: str) -> None:
    """A superseded draw's tasks stop counting; tasks it had absorbed are open again."""
    await conn.execute(
        "UPDATE tasks SET state = 'assigned', merged_into = NULL WHERE merged_into IN "
        "(SELECT task_id FROM tasks WHERE draw_id = $1)",
        draw_id,
    )
    await conn.execute(
        "UPDATE tasks SET state = 'superseded' WHERE draw_id = $1 AND state <> 'merged'", draw_id
    )


async def tasks(conn: Conn, draw_id: str, *, offset: int, limit: int) -> list[TaskRow]:
    """A draw's tasks in task order (the TaskAssigned bodies plus their state and progress)."""
    rows = await conn.fetch(
        "SELECT body, state, merged_into, progress FROM tasks WHERE draw_id = $1 ORDER BY seq "
        "OFFSET $2 LIMIT $3",
        draw_id,
        offset,
        limit,
    )
    return [
        TaskRow(
            task=r["body"], state=r["state"], merged_into=r["merged_into"], progress=r["progress"]
        )
        for r in rows
    ]


async def task_progress(conn: Conn, task_id: str, *, lock: bool = False) -> Progress | None:
    """A task's progress (`lock` takes a row lock for a change), or None for an unknown task."""
    sql = "SELECT progress FROM tasks WHERE task_id = $1" + (" FOR UPDATE" if lock else "")
    value: str | None = await conn.fetchval(sql, task_id)
    return None if value is None else Progress(value)


async def set_progress(conn: Conn, task_id: str, progress: Progress, *, at: datetime) -> None:
    """Write a task's progress (the caller decided it moves forward)."""
    await conn.execute(
        "UPDATE tasks SET progress = $2, progress_at = $3 WHERE task_id = $1",
        task_id,
        progress.value,
        at,
    )


async def work_done(conn: Conn, draw_id: str) -> WorkDone:
    """How many of a draw's tasks are in progress and how many have their result."""
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE progress = 'in_progress') AS started, "
        "count(*) FILTER (WHERE progress = 'result_recorded') AS done "
        "FROM tasks WHERE draw_id = $1",
        draw_id,
    )
    return WorkDone(in_progress=int(row["started"]), results=int(row["done"]))


async def task_counts(conn: Conn, draw_id: str) -> tuple[int, int]:
    """(tasks, unstaffed) of a draw."""
    row = await conn.fetchrow(
        "SELECT count(*) AS n, count(*) FILTER (WHERE unstaffed_reason IS NOT NULL) AS u "
        "FROM tasks WHERE draw_id = $1",
        draw_id,
    )
    return int(row["n"]), int(row["u"])


def dumps(value: Any) -> str:
    """JSON text for a jsonb column written by COPY."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
