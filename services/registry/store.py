"""SQL of the registry: entities with valid-time history, inspectors, risk classes, stats."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from contracts.registry import (
    EntityRecord,
    InspectorRecord,
    Recusal,
    StatsGroup,
    StatsReply,
    StatsRequest,
)
from services.registry import sqlfilter
from services.registry.domain.rows import ENTITY_FIELDS, INSPECTOR_COLUMNS

# A connection or a pooled connection proxy (asyncpg types them apart; both work here).
Conn = Any

E_COLS = ", ".join(ENTITY_FIELDS)
I_COLS = ", ".join(INSPECTOR_COLUMNS)
# Fields whose change makes a new version (all of them).
_E_DIFF = (
    f"({', '.join('e.' + c for c in ENTITY_FIELDS)}) IS DISTINCT FROM "
    f"({', '.join('s.' + c for c in ENTITY_FIELDS)})"
)
_I_DIFF = (
    f"({', '.join('i.' + c for c in INSPECTOR_COLUMNS)}) IS DISTINCT FROM "
    f"({', '.join('s.' + c for c in INSPECTOR_COLUMNS)})"
)


def entity_changed_sql(source: str, target: str) -> str:
    """Create temp table `target` holding the rows of `source` that differ from their entity.

    Applying a large import joins its rows to the directory once, here; the history copy and
    the update then touch only the (usually few) changed rows.
    """
    return (
        f"CREATE TEMP TABLE {target} ON COMMIT DROP AS "
        f"SELECT {', '.join('s.' + c for c in ENTITY_FIELDS)} "
        f"FROM {source} s JOIN entity e ON e.uscc = s.uscc WHERE {_E_DIFF}"
    )


def entity_delta_sql(source: str, target: str) -> str:
    """Create temp table `target` holding the rows of `source` that are new (`is_new`) or
    differ from their entity: one join of the rows with the directory."""
    return (
        f"CREATE TEMP TABLE {target} ON COMMIT DROP AS "
        f"SELECT {', '.join('s.' + c for c in ENTITY_FIELDS)}, e.uscc IS NULL AS is_new "
        f"FROM {source} s LEFT JOIN entity e ON e.uscc = s.uscc "
        f"WHERE e.uscc IS NULL OR {_E_DIFF}"
    )


def entity_apply_sql(source: str, *, ordered: bool = True) -> tuple[str, str, str]:
    """Three statements applying rows of `source` (aliased s, entity columns) at time $1.

    The first copies every version about to change into entity_history (closing it at $1);
    the second updates changed entities; the third inserts new ones, in USCC order so that the
    primary key grows at its end instead of splitting pages at random. Unchanged rows are left
    alone, so applying the same rows twice changes nothing.
    """
    history = (
        f"INSERT INTO entity_history ({E_COLS}, valid_from, valid_to) "
        f"SELECT {', '.join('e.' + c for c in ENTITY_FIELDS)}, e.valid_from, $1 "
        f"FROM entity e JOIN {source} s ON s.uscc = e.uscc WHERE {_E_DIFF}"
    )
    sets = ", ".join(f"{c} = s.{c}" for c in ENTITY_FIELDS[1:])
    update = (
        f"UPDATE entity e SET {sets}, valid_from = $1 FROM {source} s "
        f"WHERE s.uscc = e.uscc AND {_E_DIFF}"
    )
    insert = (
        f"INSERT INTO entity ({E_COLS}, valid_from) "
        f"SELECT {', '.join('s.' + c for c in ENTITY_FIELDS)}, $1 FROM {source} s "
        "WHERE NOT EXISTS (SELECT 1 FROM entity e WHERE e.uscc = s.uscc)"
        + (" ORDER BY s.uscc" if ordered else "")
    )
    return history, update, insert


def inspector_apply_sql(source: str) -> tuple[str, str]:
    """As `entity_apply_sql`, for inspectors."""
    history = (
        f"INSERT INTO inspector_history ({I_COLS}, valid_from, valid_to) "
        f"SELECT {', '.join('i.' + c for c in INSPECTOR_COLUMNS)}, i.valid_from, $1 "
        f"FROM inspector i JOIN {source} s ON s.inspector_id = i.inspector_id WHERE {_I_DIFF}"
    )
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in INSPECTOR_COLUMNS[1:])
    upsert = (
        f"INSERT INTO inspector ({I_COLS}, valid_from) "
        f"SELECT {', '.join('s.' + c for c in INSPECTOR_COLUMNS)}, $1 FROM {source} s "
        f"ON CONFLICT (inspector_id) DO UPDATE SET {sets}, valid_from = EXCLUDED.valid_from "
        f"WHERE ({', '.join('inspector.' + c for c in INSPECTOR_COLUMNS)}) IS DISTINCT FROM "
        f"({', '.join('EXCLUDED.' + c for c in INSPECTOR_COLUMNS)})"
    )
    return history, upsert


def entity_record(row: asyncpg.Record | dict[str, Any]) -> EntityRecord:
    """Contract form of an entity row."""
    return EntityRecord(**{c: row[c] for c in ENTITY_FIELDS})


def inspector_record(row: asyncpg.Record) -> InspectorRecord:
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


async def upsert_entity(conn: Conn, record: tuple[Any, ...], at: datetime) -> bool:
    """Apply one validated entity (in ENTITY_FIELDS order); True when something changed."""
    values = ", ".join(f"${i + 2}" for i in range(len(ENTITY_FIELDS)))
    casts = (
        "text, text, text, text, text, text, boolean, text, date, text[], text[], text, date"
    ).split(", ")
    typed = ", ".join(
        f"{v}::{t} AS {c}" for v, t, c in zip(values.split(", "), casts, ENTITY_FIELDS, strict=True)
    )
    source = f"(SELECT {typed})"
    history, update, insert = entity_apply_sql(source)
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"entity:{record[0]}")
    await conn.execute(history, at, *record)
    updated = await conn.execute(update, at, *record)
    inserted = await conn.execute(insert, at, *record)
    return bool(updated != "UPDATE 0" or inserted != "INSERT 0 0")


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


async def entity_at(conn: Conn, uscc: str, as_of: datetime | None) -> Any:
    """The entity as it was at `as_of` (now when None), or None if it did not exist then."""
    if as_of is None:
        return await conn.fetchrow(f"SELECT {E_COLS}, valid_from FROM entity WHERE uscc = $1", uscc)
    return await conn.fetchrow(
        f"SELECT {E_COLS}, valid_from FROM entity WHERE uscc = $1 AND valid_from <= $2 "
        f"UNION ALL SELECT {E_COLS}, valid_from FROM entity_history "
        "WHERE uscc = $1 AND valid_from <= $2 AND $2 < valid_to",
        uscc,
        as_of,
    )


async def entity_versions(conn: Conn, uscc: str) -> list[asyncpg.Record]:
    """Every version of an entity, oldest first, with valid_from and valid_to (null = current)."""
    return list(
        await conn.fetch(
            f"SELECT {E_COLS}, valid_from, valid_to FROM entity_history WHERE uscc = $1 "
            f"UNION ALL SELECT {E_COLS}, valid_from, NULL::timestamptz FROM entity "
            "WHERE uscc = $1 ORDER BY valid_from",
            uscc,
        )
    )


async def search_entities(
    conn: Conn,
    *,
    name_prefix: str | None,
    region_prefix: str | None,
    industry_prefix: str | None,
    risk_class: str | None,
    after: str,
    limit: int,
) -> list[asyncpg.Record]:
    """A page of entities in USCC order matching the given criteria."""
    params: list[Any] = [after, limit]
    cond = ["uscc > $1"]
    if name_prefix:
        params.append(
            name_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        cond.append(f"name LIKE ${len(params)}")
    if region_prefix:
        params.append(sqlfilter.region_prefixes([region_prefix])[0] + "%")
        cond.append(f"region_code LIKE ${len(params)}")
    if industry_prefix:
        params.append(sqlfilter.industry_patterns([industry_prefix])[0])
        cond.append(f"industry_code LIKE ${len(params)}")
    if risk_class:
        params.append(risk_class)
        cond.append(f"risk_class = ${len(params)}")
    sql = f"SELECT {E_COLS} FROM entity WHERE {' AND '.join(cond)} ORDER BY uscc LIMIT $2"
    return list(await conn.fetch(sql, *params))


async def set_risk_class(
    conn: Conn, uscc: str, risk_class: str, effective: date, at: datetime
) -> str:
    """Apply one reclassification; "applied", "unchanged", "stale" (older than the current
    class's date) or "unknown_entity"."""
    row = await conn.fetchrow(
        "SELECT risk_class, risk_class_date FROM entity WHERE uscc = $1 FOR UPDATE", uscc
    )
    if row is None:
        return "unknown_entity"
    if row["risk_class_date"] is not None and effective < row["risk_class_date"]:
        return "stale"
    if (row["risk_class"], row["risk_class_date"]) == (risk_class, effective):
        return "unchanged"
    await conn.execute(
        f"INSERT INTO entity_history ({E_COLS}, valid_from, valid_to) "
        f"SELECT {E_COLS}, valid_from, $2 FROM entity WHERE uscc = $1",
        uscc,
        at,
    )
    await conn.execute(
        "UPDATE entity SET risk_class = $2, risk_class_date = $3, valid_from = $4 WHERE uscc = $1",
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
        "FROM entity e LEFT JOIN push_items p ON p.uscc = e.uscc "
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
        "FROM entity e JOIN push_changes c ON c.uscc = e.uscc",
        at,
    )
    changed = await conn.fetchval(
        "WITH u AS (UPDATE entity e SET risk_class = c.new_class, risk_class_date = c.new_date, "
        "valid_from = $1 FROM push_changes c WHERE c.uscc = e.uscc RETURNING 1) "
        "SELECT count(*) FROM u",
        at,
    )
    unknown = await conn.fetchval(
        "SELECT count(*) FROM push_items p WHERE NOT EXISTS "
        "(SELECT 1 FROM entity e WHERE e.uscc = p.uscc)"
    )
    return {"items": len(items), "changed": int(changed), "unknown_entities": int(unknown)}


def quote_date(d: date) -> str:
    """A date as an SQL literal (dates have no quotes to escape)."""
    return f"DATE '{d.isoformat()}'"


_GROUP_EXPR = {
    "region": "e.region_code",
    "risk_class": "coalesce(e.risk_class, '')",
    "entity_type": "e.entity_type",
    "status": "e.status",
    "tag": "t.tag",
}


async def stats(conn: Conn, req: StatsRequest) -> StatsReply:
    """Counts of entities matching the filter, grouped by the requested fields."""
    params: list[Any] = []
    cond = sqlfilter.where(req.filter, params)
    total = await conn.fetchval(f"SELECT count(*) FROM entity e WHERE {cond}", *params)
    if not req.group_by:
        return StatsReply(total=int(total), groups=[])
    exprs = []
    for g in req.group_by:
        if g == "industry":
            exprs.append(f"left(e.industry_code, {max(1, min(5, int(req.industry_prefix_len)))})")
        else:
            exprs.append(_GROUP_EXPR[g])
    source = "entity e"
    if "tag" in req.group_by:
        source += (
            " CROSS JOIN LATERAL unnest(CASE WHEN cardinality(e.tags) = 0 THEN ARRAY['']"
            " ELSE e.tags END) AS t(tag)"
        )
    select = ", ".join(f"{x} AS g{i}" for i, x in enumerate(exprs))
    keys = ", ".join(f"g{i}" for i in range(len(exprs)))
    rows = await conn.fetch(
        f"SELECT {select}, count(*) AS n FROM {source} WHERE {cond} "
        f"GROUP BY {keys} ORDER BY {keys}",
        *params,
    )
    groups = [
        StatsGroup(key={g: str(r[f"g{i}"]) for i, g in enumerate(req.group_by)}, count=r["n"])
        for r in rows
    ]
    return StatsReply(total=int(total), groups=groups)


async def inspector_by_id(conn: Conn, inspector_id: str) -> Any:
    """One inspector, or None."""
    return await conn.fetchrow(
        f"SELECT {I_COLS} FROM inspector WHERE inspector_id = $1", inspector_id
    )


async def inspectors_page(
    conn: Conn, departments: list[str], offset: int, limit: int
) -> list[asyncpg.Record]:
    """A page of inspectors in id order, optionally of some departments."""
    if departments:
        return list(
            await conn.fetch(
                f"SELECT {I_COLS} FROM inspector WHERE department = ANY($1::text[]) "
                "ORDER BY inspector_id OFFSET $2 LIMIT $3",
                departments,
                offset,
                limit,
            )
        )
    return list(
        await conn.fetch(
            f"SELECT {I_COLS} FROM inspector ORDER BY inspector_id OFFSET $1 LIMIT $2",
            offset,
            limit,
        )
    )
