"""SQL of the inspector directory: inspectors with valid-time history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.registry import InspectorRecord, Recusal
from services.registry.domain.rows import INSPECTOR_COLUMNS
from services.registry.store import Conn

I_COLS = ", ".join(INSPECTOR_COLUMNS)
# Fields whose change makes a new version (all of them).
_I_DIFF = (
    f"({', '.join('i.' + c for c in INSPECTOR_COLUMNS)}) IS DISTINCT FROM "
    f"({', '.join('s.' + c for c in INSPECTOR_COLUMNS)})"
)


def inspector_apply_sql(source: str) -> tuple[str, str]:
    """As `entity_apply_sql`, for inspectors."""
    history = (
        f"INSERT INTO inspector_history ({I_COLS}, valid_from, valid_to) "
        f"SELECT {', '.join('i.' + c for c in INSPECTOR_COLUMNS)}, i.valid_from, $1 "
        f"FROM inspectors i JOIN {source} s ON s.inspector_id = i.inspector_id WHERE {_I_DIFF}"
    )
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in INSPECTOR_COLUMNS[1:])
    upsert = (
        f"INSERT INTO inspectors ({I_COLS}, valid_from) "
        f"SELECT {', '.join('s.' + c for c in INSPECTOR_COLUMNS)}, $1 FROM {source} s "
        f"ON CONFLICT (inspector_id) DO UPDATE SET {sets}, valid_from = EXCLUDED.valid_from "
        f"WHERE ({', '.join('inspectors.' + c for c in INSPECTOR_COLUMNS)}) IS DISTINCT FROM "
        f"({', '.join('EXCLUDED.' + c for c in INSPECTOR_COLUMNS)})"
    )
    return history, upsert


def inspector_record(row: Any) -> InspectorRecord:
    """Contract form of an inspector row."""
    record = {c: row[c] for c in INSPECTOR_COLUMNS}
    relations = record.pop("recusal_relations") or []
    # a row written without relations (before migration 005, or by hand): "declared"
    relations = [*relations, *["declared"] * (len(record["recusal_usccs"]) - len(relations))]
    record["recusals"] = [
        Recusal(uscc=u, relation=r)
        for u, r in zip(record["recusal_usccs"], relations, strict=False)
    ]
    return InspectorRecord(**record)


async def upsert_inspector(conn: Conn, record: tuple[Any, ...], at: datetime) -> bool:
    """Apply one validated inspector (in INSPECTOR_COLUMNS order)."""
    casts = "text, text, text, text[], text, date, text[], text, integer, text[], text[]".split(
        ", "
    )
    typed = ", ".join(
        f"${i + 2}::{t} AS {c}"
        for i, (t, c) in enumerate(zip(casts, INSPECTOR_COLUMNS, strict=True))
    )
    history, upsert = inspector_apply_sql(f"(SELECT {typed})")
    await conn.execute(history, at, *record)
    status = await conn.execute(upsert, at, *record)
    return bool(status != "INSERT 0 0")


async def inspector_by_id(conn: Conn, inspector_id: str) -> InspectorRecord | None:
    """One inspector, or None."""
    row = await conn.fetchrow(
        f"SELECT {I_COLS} FROM inspectors WHERE inspector_id = $1", inspector_id
    )
    return None if row is None else inspector_record(row)


async def inspectors_page(
    conn: Conn, departments: list[str], offset: int, limit: int
) -> list[InspectorRecord]:
    """A page of inspectors in id order, optionally of some departments."""
    if departments:
        rows = await conn.fetch(
            f"SELECT {I_COLS} FROM inspectors WHERE department = ANY($1::text[]) "
            "ORDER BY inspector_id OFFSET $2 LIMIT $3",
            departments,
            offset,
            limit,
        )
    else:
        rows = await conn.fetch(
            f"SELECT {I_COLS} FROM inspectors ORDER BY inspector_id OFFSET $1 LIMIT $2",
            offset,
            limit,
        )
    return [inspector_record(r) for r in rows]
