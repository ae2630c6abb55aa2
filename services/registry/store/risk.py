"""SQL of risk classes from the credit system: one reclassification, and full pushes (their
chunks gathered in `risk_push_chunks` until complete, then applied at once)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.registry.domain.rows import ENTITY_FIELDS
from services.registry.store import Conn
from services.registry.store.entities import E_COLS


async def set_risk_class(
    conn: Conn, uscc: str, risk_class: str, effective: date, at: datetime
) -> str:
    """Apply one reclassification; "applied", "unchanged", "stale" (older than the current
    class's date) or "unknown_entity"."""
    row = await conn.fetchrow(
        "SELECT risk_class, risk_class_date FROM entities WHERE uscc = $1 FOR UPDATE", uscc
    )
    if row is None:
        return "unknown_entity"
    if row["risk_class_date"] is not None and effective < row["risk_class_date"]:
        return "stale"
    if (row["risk_class"], row["risk_class_date"]) == (risk_class, effective):
        return "unchanged"
    await conn.execute(
        f"INSERT INTO entity_history ({E_COLS}, valid_from, valid_to) "
        f"SELECT {E_COLS}, valid_from, $2 FROM entities WHERE uscc = $1",
        uscc,
        at,
    )
    await conn.execute(
        "UPDATE entities SET risk_class = $2, risk_class_date = $3, valid_from = $4"
        " WHERE uscc = $1",
        uscc,
        risk_class,
        effective,
        at,
    )
    return "applied"


async def apply_full_push(
    conn: Conn, items: list[tuple[str, str]], effective: date, at: datetime
) -> dict[str, int]:
    """Replace every entity's risk class with a full push, in the caller's transaction.

    Entities in the push get its class; entities missing from a full push become unclassified
    (a full push is the whole classification). Returns counts.
    """
    await conn.execute(
        'CREATE TEMP TABLE push_items (uscc text COLLATE "C" PRIMARY KEY, risk_class text NOT NULL)'
        " ON COMMIT DROP"
    )
    await conn.copy_records_to_table("push_items", records=items, columns=["uscc", "risk_class"])
    target = (
        "(SELECT e.uscc, p.risk_class AS new_class, "
        "CASE WHEN p.uscc IS NULL THEN NULL ELSE $2::date END AS new_date "
        "FROM entities e LEFT JOIN push_items p ON p.uscc = e.uscc "
        "WHERE (e.risk_class, e.risk_class_date) IS DISTINCT FROM "
        "(p.risk_class, CASE WHEN p.uscc IS NULL THEN NULL ELSE $2::date END))"
    )
    # CREATE TABLE AS takes no parameters: the date goes in as a literal (no quoting risk).
    await conn.execute(
        "CREATE TEMP TABLE push_changes ON COMMIT DROP AS "
        f"SELECT * FROM {target.replace('$2', quote_date(effective))} t"
    )
    await conn.execute(
        f"INSERT INTO entity_history ({E_COLS}, valid_from, valid_to) "
        f"SELECT {', '.join('e.' + c for c in ENTITY_FIELDS)}, e.valid_from, $1 "
        "FROM entities e JOIN push_changes c ON c.uscc = e.uscc",
        at,
    )
    changed = await conn.fetchval(
        "WITH u AS (UPDATE entities e SET risk_class = c.new_class, risk_class_date = c.new_date, "
        "valid_from = $1 FROM push_changes c WHERE c.uscc = e.uscc RETURNING 1) "
        "SELECT count(*) FROM u",
        at,
    )
    unknown = await conn.fetchval(
        "SELECT count(*) FROM push_items p WHERE NOT EXISTS "
        "(SELECT 1 FROM entities e WHERE e.uscc = p.uscc)"
    )
    return {"items": len(items), "changed": int(changed), "unknown_entities": int(unknown)}


def quote_date(d: date) -> str:
    """A date as an SQL literal (dates have no quotes to escape)."""
    return f"DATE '{d.isoformat()}'"


async def push_state(conn: Conn, push_id: str) -> str | None:
    """ "applied" or "refused" once a full push was decided, else None."""
    state: str | None = await conn.fetchval(
        "SELECT state FROM risk_pushes WHERE push_id = $1", push_id
    )
    return state


async def add_push_chunk(
    conn: Conn,
    *,
    push_id: str,
    chunk: int,
    total_chunks: int,
    effective: date,
    items: list[list[str]],
) -> None:
    """Keep one chunk of a full push (a redelivered chunk changes nothing)."""
    await conn.execute(
        "INSERT INTO risk_push_chunks (push_id, chunk, total_chunks, effective_date, items)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (push_id, chunk) DO NOTHING",
        push_id,
        chunk,
        total_chunks,
        effective,
        items,
    )


async def lock_push(conn: Conn, push_id: str) -> None:
    """In the caller's transaction: one applier per push (serialises chunks of the same push)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"push:{push_id}")


async def push_chunks_kept(conn: Conn, push_id: str) -> int:
    """How many chunks of a push are kept."""
    return int(
        await conn.fetchval("SELECT count(*) FROM risk_push_chunks WHERE push_id = $1", push_id)
    )


async def push_items(conn: Conn, push_id: str) -> list[list[Any]]:
    """The items ([uscc, risk class] pairs) of each kept chunk of a push, in chunk order."""
    rows = await conn.fetch(
        "SELECT items FROM risk_push_chunks WHERE push_id = $1 ORDER BY chunk", push_id
    )
    return [list(r["items"]) for r in rows]


async def decide_push(
    conn: Conn, push_id: str, *, state: str, items: int, reason: str | None = None
) -> None:
    """Record a push as "applied" or "refused" and drop its kept chunks."""
    if reason is None:
        await conn.execute(
            "INSERT INTO risk_pushes (push_id, state, items) VALUES ($1, $2, $3)",
            push_id,
            state,
            items,
        )
    else:
        await conn.execute(
            "INSERT INTO risk_pushes (push_id, state, items, reason) VALUES ($1, $2, $3, $4)",
            push_id,
            state,
            items,
            reason,
        )
    await conn.execute("DELETE FROM risk_push_chunks WHERE push_id = $1", push_id)
