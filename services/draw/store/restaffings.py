"""SQL of re-staffing one task: the task as it stands, what the pick needs, the swap, the record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.draw import TaskRestaffed
from services.draw.store.rows import Conn


@dataclass(frozen=True, slots=True)
class RestaffTask:
    """A task as re-staffing reads it: its row, its `TaskAssigned` body and item expertise."""

    task_id: str
    draw_id: str
    plan_id: str
    uscc: str
    state: str
    progress: str
    period_end: date
    body: dict[str, Any]
    expertise: dict[str, list[str]]


async def restaff_task(conn: Conn, task_id: str, *, lock: bool = False) -> RestaffTask | None:
    """A draw's task by id (`lock` takes its row lock), or None. A triggered task (触发检查)
    has no draw, hence no draw seed to re-staff it with: not one of these (not yet supported)."""
    row = await conn.fetchrow(
        "SELECT task_id, draw_id, plan_id, uscc, state, progress, period_end, body, expertise "
        "FROM tasks WHERE task_id = $1 AND kind = 'random'" + (" FOR UPDATE" if lock else ""),
        task_id,
    )
    if row is None:
        return None
    return RestaffTask(
        task_id=row["task_id"],
        draw_id=row["draw_id"],
        plan_id=row["plan_id"],
        uscc=row["uscc"],
        state=row["state"],
        progress=row["progress"],
        period_end=row["period_end"],
        body=row["body"],
        expertise=row["expertise"] or {},
    )


async def removed_from(conn: Conn, task_id: str) -> tuple[int, frozenset[str]]:
    """(restaffings so far, inspectors they removed) of a task."""
    rows = await conn.fetch("SELECT replaced FROM restaffings WHERE task_id = $1", task_id)
    return len(rows), frozenset(r["replaced"] for r in rows)


async def draw_counts(conn: Conn, draw_id: str) -> dict[str, int]:
    """Tasks per inspector in this draw (assigned ones): the balance the pick keeps."""
    rows = await conn.fetch(
        "SELECT m.inspector_id, count(*) AS c FROM team_members m JOIN tasks t USING (task_id) "
        "WHERE t.draw_id = $1 AND t.state = 'assigned' GROUP BY m.inspector_id",
        draw_id,
    )
    return {r["inspector_id"]: int(r["c"]) for r in rows}


async def last_team_before(conn: Conn, uscc: str, draw_id: str) -> frozenset[str]:
    """The team of the entity's latest staffed task in a draw seeded before this one: the
    `last_inspector` input the draw itself used (its own tasks did not exist yet)."""
    rows = await conn.fetch(
        "WITH last AS (SELECT t.task_id FROM tasks t JOIN draws d USING (draw_id) "
        "  WHERE t.uscc = $1 AND t.state IN ('assigned', 'merged') AND t.draw_id <> $2 "
        "  AND d.seeded_at < (SELECT seeded_at FROM draws WHERE draw_id = $2) "
        "  ORDER BY t.period_end DESC, t.task_id DESC LIMIT 1) "
        "SELECT m.inspector_id FROM last JOIN team_members m USING (task_id)",
        uscc,
        draw_id,
    )
    return frozenset(r["inspector_id"] for r in rows)


async def swap_member(
    conn: Conn, task_id: str, *, replaced: str, replacement: str, body: dict[str, Any]
) -> None:
    """The task's new team: its body (the new `TaskAssigned` JSON) and its member rows."""
    await conn.execute(
        "UPDATE team_members SET inspector_id = $3 WHERE task_id = $1 AND inspector_id = $2",
        task_id,
        replaced,
        replacement,
    )
    await conn.execute("UPDATE tasks SET body = $2 WHERE task_id = $1", task_id, body)


async def insert_restaffing(conn: Conn, r: TaskRestaffed) -> None:
    """The record of one restaffing (written once)."""
    await conn.execute(
        "INSERT INTO restaffings (task_id, n, draw_id, body, replaced, replacement, done_by, "
        "done_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        r.task_id,
        r.n,
        r.draw_id,
        r.model_dump(mode="json"),
        r.replaced.inspector_id,
        r.replacement.inspector_id,
        r.by,
        r.at,
    )


async def restaffings(conn: Conn, draw_id: str) -> list[TaskRestaffed]:
    """A draw's restaffings, by task and number."""
    rows = await conn.fetch(
        "SELECT body FROM restaffings WHERE draw_id = $1 ORDER BY task_id, n", draw_id
    )
    return [TaskRestaffed.model_validate(r["body"]) for r in rows]


async def open_teams(conn: Conn, draw_id: str) -> list[tuple[str, str, list[str]]]:
    """(task id, USCC, team) of the draw's open tasks (assigned, without a result), in order."""
    rows = await conn.fetch(
        "SELECT t.task_id, t.uscc, array_agg(m.inspector_id ORDER BY m.inspector_id) AS team "
        "FROM tasks t JOIN team_members m USING (task_id) WHERE t.draw_id = $1 "
        "AND t.state = 'assigned' AND t.progress NOT IN ('result_recorded', 'cancelled') "
        "GROUP BY t.task_id, t.uscc, t.seq ORDER BY t.seq",
        draw_id,
    )
    return [(r["task_id"], r["uscc"], list(r["team"])) for r in rows]


async def draw_departments(conn: Conn, draw_id: str) -> list[str]:
    """The departments of the draw's tasks (whose roster re-staffing reads)."""
    rows = await conn.fetch(
        "SELECT DISTINCT jsonb_array_elements_text(body->'departments') AS d FROM tasks "
        "WHERE draw_id = $1 ORDER BY d",
        draw_id,
    )
    return [r["d"] for r in rows]
