"""SQL of the draw service (asyncpg). Ceremony facts are written once (see the migration)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

from contracts.draw import SeedParty
from contracts.planner import PlanApproved
from services.draw.domain.machine import Draw, DrawState, RedrawRequest, WorkDone
from services.draw.domain.seeds import Party, PartyCeremony, SeedSource
from services.draw.domain.tasks import OpenTask, Progress
from services.kit.errors import NotFound

Conn = Any  # asyncpg.Connection or a pool proxy of one

_DRAW_COLUMNS = (
    "draw_id, plan_id, state, commitment_sha256, committed_at, seed, seed_source, "
    "seed_entered_by, seeded_at, supersedes, superseded_by, redraw_reason, redraw_by, redraw_at, "
    "redraw_confirmed_by, redraw_requested_by, redraw_requested_reason, redraw_requested_at"
)


async def save_plan(conn: Conn, plan: PlanApproved) -> None:
    """Keep an approved plan (a redelivery or a re-approval replaces the stored body)."""
    await conn.execute(
        "INSERT INTO plans (plan_id, body) VALUES ($1, $2) "
        "ON CONFLICT (plan_id) DO UPDATE SET body = EXCLUDED.body, received_at = now()",
        plan.plan_id,
        plan.model_dump(mode="json"),
    )


async def get_plan(conn: Conn, plan_id: str) -> PlanApproved:
    """An approved plan; `NotFound` when the draw never received it."""
    body = await conn.fetchval("SELECT body FROM plans WHERE plan_id = $1", plan_id)
    if body is None:
        raise NotFound(f"no approved plan {plan_id!r} (has the planner approved it?)")
    return PlanApproved.model_validate(body)


def _draw(row: asyncpg.Record) -> Draw:
    return Draw(
        draw_id=row["draw_id"],
        plan_id=row["plan_id"],
        state=DrawState(row["state"]),
        commitment_sha256=row["commitment_sha256"],
        committed_at=row["committed_at"],
        seed=row["seed"],
        seed_source=SeedSource(row["seed_source"]) if row["seed_source"] else None,
        seed_entered_by=row["seed_entered_by"],
        seeded_at=row["seeded_at"],
        supersedes=row["supersedes"],
        superseded_by=row["superseded_by"],
        redraw_reason=row["redraw_reason"],
        redraw_by=row["redraw_by"],
        redraw_at=row["redraw_at"],
        redraw_confirmed_by=row["redraw_confirmed_by"],
        redraw_pending=None
        if row["redraw_requested_by"] is None
        else RedrawRequest(
            reason=row["redraw_requested_reason"],
            by=row["redraw_requested_by"],
            at=row["redraw_requested_at"],
        ),
    )


async def get_draw(conn: Conn, draw_id: str, *, lock: bool = False) -> Draw:
    """A draw's ceremony facts (`lock` takes a row lock for a state change)."""
    sql = f"SELECT {_DRAW_COLUMNS} FROM draws WHERE draw_id = $1"
    row = await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), draw_id)
    if row is None:
        raise NotFound(f"no draw {draw_id!r}")
    return _draw(row)


async def draw_extra(conn: Conn, draw_id: str) -> Any:
    """Columns of a draw that the domain object does not carry."""
    row = await conn.fetchrow(
        "SELECT rules_version, snapshot_id, created_by, completed_at FROM draws WHERE draw_id = $1",
        draw_id,
    )
    if row is None:
        raise NotFound(f"no draw {draw_id!r}")
    return row


async def insert_draw(conn: Conn, draw: Draw, *, rules_version: str, created_by: str) -> None:
    """A new draw in state freezing."""
    await conn.execute(
        "INSERT INTO draws (draw_id, plan_id, rules_version, state, created_by, supersedes, "
        "redraw_reason, redraw_by, redraw_at, redraw_confirmed_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        draw.draw_id,
        draw.plan_id,
        rules_version,
        draw.state.value,
        created_by,
        draw.supersedes,
        draw.redraw_reason,
        draw.redraw_by,
        draw.redraw_at,
        draw.redraw_confirmed_by,
    )


async def update_draw(conn: Conn, draw: Draw, **extra: Any) -> None:
    """Write a draw's new state (the triggers refuse a changed seed or commitment)."""
    pending = draw.redraw_pending
    fields = {
        "state": draw.state.value,
        "commitment_sha256": draw.commitment_sha256,
        "committed_at": draw.committed_at,
        "seed": draw.seed,
        "seed_source": draw.seed_source.value if draw.seed_source else None,
        "seed_entered_by": draw.seed_entered_by,
        "seeded_at": draw.seeded_at,
        "superseded_by": draw.superseded_by,
        "redraw_reason": draw.redraw_reason,
        "redraw_by": draw.redraw_by,
        "redraw_at": draw.redraw_at,
        "redraw_confirmed_by": draw.redraw_confirmed_by,
        "redraw_requested_by": pending.by if pending else None,
        "redraw_requested_reason": pending.reason if pending else None,
        "redraw_requested_at": pending.at if pending else None,
        **extra,
    }
    names = list(fields)
    sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
    await conn.execute(
        f"UPDATE draws SET {sets} WHERE draw_id = $1", draw.draw_id, *fields.values()
    )


async def active_draw_of_plan(conn: Conn, plan_id: str) -> str | None:
    """The plan's draw that is not superseded, if any."""
    value: str | None = await conn.fetchval(
        "SELECT draw_id FROM draws WHERE plan_id = $1 AND state <> 'superseded' "
        "ORDER BY created_at DESC LIMIT 1",
        plan_id,
    )
    return value


async def list_draws(conn: Conn) -> list[asyncpg.Record]:
    """Every draw, newest first."""
    return list(
        await conn.fetch(
            "SELECT draw_id, plan_id, state FROM draws ORDER BY created_at DESC, draw_id"
        )
    )


async def insert_stratum(
    conn: Conn,
    draw_id: str,
    *,
    stratum_id: str,
    n: int,
    bp: int | None,
    count: int | None,
    k: int,
    candidates_sha256: str,
    object_name: str,
    body: bytes,
) -> None:
    """A committed stratum with its frozen list (bytes exactly as published)."""
    await conn.execute(
        "INSERT INTO strata (draw_id, stratum_id, n, bp, count, k, candidates_sha256, "
        "object_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        draw_id,
        stratum_id,
        n,
        bp,
        count,
        k,
        candidates_sha256,
        object_name,
    )
    await conn.execute(
        "INSERT INTO candidate_lists (draw_id, stratum_id, body) VALUES ($1, $2, $3)",
        draw_id,
        stratum_id,
        body,
    )


async def strata(conn: Conn, draw_id: str) -> list[asyncpg.Record]:
    """A draw's strata sorted by stratum id (byte order)."""
    return list(
        await conn.fetch(
            "SELECT stratum_id, n, bp, count, k, candidates_sha256, object_name, selected, "
            'cutoff_ticket FROM strata WHERE draw_id = $1 ORDER BY stratum_id COLLATE "C"',
            draw_id,
        )
    )


async def candidate_list(conn: Conn, draw_id: str, stratum_id: str) -> bytes:
    """A frozen list exactly as published."""
    body: bytes | None = await conn.fetchval(
        "SELECT body FROM candidate_lists WHERE draw_id = $1 AND stratum_id = $2",
        draw_id,
        stratum_id,
    )
    if body is None:
        raise NotFound(f"draw {draw_id!r} has no stratum {stratum_id!r}")
    return body


async def set_selection(
    conn: Conn, draw_id: str, stratum_id: str, selected: list[str], cutoff: str | None
) -> None:
    """Write a stratum's selection once."""
    await conn.execute(
        "UPDATE strata SET selected = $3, cutoff_ticket = $4 "
        "WHERE draw_id = $1 AND stratum_id = $2",
        draw_id,
        stratum_id,
        selected,
        cutoff,
    )


async def strata_of_uscc(conn: Conn, draw_id: str, uscc: str) -> list[str]:
    """The strata of a draw whose frozen list holds this USCC (a whole line of the list)."""
    line = b"\n" + uscc.encode("utf-8") + b"\n"
    rows = await conn.fetch(
        "SELECT stratum_id FROM candidate_lists WHERE draw_id = $1 "
        "AND position($2::bytea IN ('\\x0a'::bytea || body)) > 0 "
        'ORDER BY stratum_id COLLATE "C"',
        draw_id,
        line,
    )
    return [r["stratum_id"] for r in rows]


async def parties(conn: Conn, draw_id: str) -> PartyCeremony:
    """The commit-reveal state of a draw."""
    rows = await conn.fetch(
        "SELECT party_id, commitment_sha256, secret, registered_by FROM seed_parties "
        "WHERE draw_id = $1 ORDER BY registered_at, party_id",
        draw_id,
    )
    people = tuple(
        Party(r["party_id"], r["commitment_sha256"], r["secret"], r["registered_by"]) for r in rows
    )
    return PartyCeremony(parties=people, closed=any(p.secret is not None for p in people))


def public_parties(ceremony: PartyCeremony) -> list[SeedParty]:
    """Parties as the record publishes them."""
    return [SeedParty.model_validate(p) for p in ceremony.public()]


async def add_party(conn: Conn, draw_id: str, party: Party) -> None:
    """Register a party's commitment."""
    await conn.execute(
        "INSERT INTO seed_parties (draw_id, party_id, commitment_sha256, registered_by) "
        "VALUES ($1, $2, $3, $4)",
        draw_id,
        party.party_id,
        party.commitment_sha256,
        party.registered_by,
    )


async def reveal_party(conn: Conn, draw_id: str, party_id: str, secret: str) -> None:
    """Store a party's revealed secret."""
    await conn.execute(
        "UPDATE seed_parties SET secret = $3, revealed_at = now() "
        "WHERE draw_id = $1 AND party_id = $2 AND secret IS NULL",
        draw_id,
        party_id,
        secret,
    )


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

    A check is a task of a live draw: assigned, unstaffed, or merged into another task. A
    merged task and the task that absorbed it (which carries its items) are one visit, so
    they count once.
    """
    rows = await conn.fetch(
        "SELECT uscc FROM tasks t WHERE t.state IN ('assigned', 'unstaffed', 'merged') "
        "AND t.period_end >= $3 "
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
    their progress (whether one may be absorbed is `tasks.merge_visits`' decision)."""
    rows = await conn.fetch(
        "SELECT task_id, plan_id, uscc, body, progress FROM tasks WHERE uscc = ANY($1::text[]) "
        "AND state IN ('assigned', 'unstaffed') AND plan_id <> $2 "
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


async def task_bodies(conn: Conn, task_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Stored bodies (and expertise) of tasks, by id."""
    rows = await conn.fetch(
        "SELECT task_id, body, expertise FROM tasks WHERE task_id = ANY($1::text[])",
        list(task_ids),
    )
    return {r["task_id"]: {"body": r["body"], "expertise": r["expertise"]} for r in rows}


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


async def tasks(conn: Conn, draw_id: str, *, offset: int, limit: int) -> list[dict[str, Any]]:
    """A draw's tasks in task order (the TaskAssigned bodies plus their state and progress)."""
    rows = await conn.fetch(
        "SELECT body, state, merged_into, progress FROM tasks WHERE draw_id = $1 ORDER BY seq "
        "OFFSET $2 LIMIT $3",
        draw_id,
        offset,
        limit,
    )
    return [
        {
            "task": r["body"],
            "state": r["state"],
            "merged_into": r["merged_into"],
            "progress": r["progress"],
        }
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


async def queue_task_events(conn: Conn, events: Iterable[tuple[str, str, str]]) -> None:
    """Queue many events `(event_id, subject, JSON body)` in the kit's outbox table by COPY.

    `ctx.outbox.add` is one INSERT per event; a province draw queues 250k task events.
    """
    await conn.copy_records_to_table(
        "event_outbox", records=events, columns=["event_id", "subject", "body"]
    )


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
