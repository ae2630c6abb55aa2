"""SQL of a draw's committed strata and their frozen candidate lists (bytes as published)."""

from __future__ import annotations

from contracts.draw import DrawnRatio
from services.draw.store.rows import Conn, StratumRow
from services.kit.errors import NotFound


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


async def strata(conn: Conn, draw_id: str) -> list[StratumRow]:
    """A draw's strata sorted by stratum id (byte order)."""
    rows = await conn.fetch(
        "SELECT stratum_id, n, bp, count, k, candidates_sha256, object_name, selected, "
        'cutoff_ticket FROM strata WHERE draw_id = $1 ORDER BY stratum_id COLLATE "C"',
        draw_id,
    )
    return [
        StratumRow(
            stratum_id=r["stratum_id"],
            n=r["n"],
            bp=r["bp"],
            count=r["count"],
            k=r["k"],
            candidates_sha256=r["candidates_sha256"],
            object_name=r["object_name"],
            selected=None if r["selected"] is None else tuple(r["selected"]),
            cutoff_ticket=r["cutoff_ticket"],
        )
        for r in rows
    ]


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


async def drawn_by_risk_class(conn: Conn, *, year: int, department: str | None) -> list[DrawnRatio]:
    """Per risk class over a year's live draws that have selected (a superseded draw counts
    through its redraw): strata, candidates on the frozen lists, selections, and distinct
    entities selected (one drawn in two strata counts once). The risk class is the approved
    plan's, stratum by stratum."""
    rows = await conn.fetch(
        """WITH picked AS (
               SELECT coalesce(ps->>'risk_class', '') AS risk_class, s.n, s.selected
               FROM strata s
               JOIN draws d ON d.draw_id = s.draw_id
               JOIN plans p ON p.plan_id = d.plan_id
               LEFT JOIN LATERAL (
                   SELECT x AS ps FROM jsonb_array_elements(p.body->'strata') x
                   WHERE x->>'stratum_id' = s.stratum_id LIMIT 1
               ) planned ON true
               WHERE d.state <> 'superseded' AND s.selected IS NOT NULL
                 AND (p.body->>'year')::int = $1
                 AND ($2::text IS NULL OR p.body->'departments' ? $2)
           )
           SELECT c.risk_class, count(*) AS strata, coalesce(sum(c.n), 0) AS n,
                  coalesce(sum(cardinality(c.selected)), 0) AS k,
                  (SELECT count(DISTINCT u) FROM picked q CROSS JOIN unnest(q.selected) u
                    WHERE q.risk_class = c.risk_class) AS entities
           FROM picked c GROUP BY 1 ORDER BY 1""",
        year,
        department,
    )
    return [DrawnRatio(**dict(r)) for r in rows]


async def live_draws(conn: Conn, *, year: int, department: str | None) -> int:
    """A year's draws that have selected and were not superseded."""
    n = await conn.fetchval(
        """SELECT count(*) FROM draws d JOIN plans p ON p.plan_id = d.plan_id
           WHERE d.state IN ('selected', 'completed') AND (p.body->>'year')::int = $1
             AND ($2::text IS NULL OR p.body->'departments' ? $2)""",
        year,
        department,
    )
    return int(n)
