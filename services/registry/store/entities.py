"""SQL of the entity directory: entities with valid-time history, search, stats."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.registry import (
    EntityRecord,
    EntityVersion,
    StatsGroup,
    StatsReply,
    StatsRequest,
)
from services.registry.domain.rows import ENTITY_FIELDS
from services.registry.store import Conn, filters

E_COLS = ", ".join(ENTITY_FIELDS)
# Fields whose change makes a new version (all of them).
_E_DIFF = (
    f"({', '.join('e.' + c for c in ENTITY_FIELDS)}) IS DISTINCT FROM "
    f"({', '.join('s.' + c for c in ENTITY_FIELDS)})"
)


def entity_changed_sql(source: str, target: str) -> str:
    """Create temp table `target` holding the rows of `source` that differ from their entity.

    Applying a large import joins its rows to the directory once, here; the history copy and
    the update then touch only the (usually few) changed rows.
    """
    return (
        f"CREATE TEMP TABLE {target} ON COMMIT DROP AS "
        f"SELECT {', '.join('s.' + c for c in ENTITY_FIELDS)} "
        f"FROM {source} s JOIN entities e ON e.uscc = s.uscc WHERE {_E_DIFF}"
    )


def entity_delta_sql(source: str, target: str) -> str:
    """Create temp table `target` holding the rows of `source` that are new (`is_new`) or
    differ from their entity: one join of the rows with the directory."""
    return (
        f"CREATE TEMP TABLE {target} ON COMMIT DROP AS "
        f"SELECT {', '.join('s.' + c for c in ENTITY_FIELDS)}, e.uscc IS NULL AS is_new "
        f"FROM {source} s LEFT JOIN entities e ON e.uscc = s.uscc "
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
        f"FROM entities e JOIN {source} s ON s.uscc = e.uscc WHERE {_E_DIFF}"
    )
    sets = ", ".join(f"{c} = s.{c}" for c in ENTITY_FIELDS[1:])
    update = (
        f"UPDATE entities e SET {sets}, valid_from = $1 FROM {source} s "
        f"WHERE s.uscc = e.uscc AND {_E_DIFF}"
    )
    insert = (
        f"INSERT INTO entities ({E_COLS}, valid_from) "
        f"SELECT {', '.join('s.' + c for c in ENTITY_FIELDS)}, $1 FROM {source} s "
        "WHERE NOT EXISTS (SELECT 1 FROM entities e WHERE e.uscc = s.uscc)"
        + (" ORDER BY s.uscc" if ordered else "")
    )
    return history, update, insert


def entity_record(row: Any) -> EntityRecord:
    """Contract form of an entity row."""
    return EntityRecord(**{c: row[c] for c in ENTITY_FIELDS})


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


async def entity_at(conn: Conn, uscc: str, as_of: datetime | None) -> EntityRecord | None:
    """The entity as it was at `as_of` (now when None), or None if it did not exist then."""
    if as_of is None:
        row = await conn.fetchrow(
            f"SELECT {E_COLS}, valid_from FROM entities WHERE uscc = $1", uscc
        )
        return None if row is None else entity_record(row)
    row = await conn.fetchrow(
        f"SELECT {E_COLS}, valid_from FROM entities WHERE uscc = $1 AND valid_from <= $2 "
        f"UNION ALL SELECT {E_COLS}, valid_from FROM entity_history "
        "WHERE uscc = $1 AND valid_from <= $2 AND $2 < valid_to",
        uscc,
        as_of,
    )
    return None if row is None else entity_record(row)


async def entity_versions(conn: Conn, uscc: str) -> list[EntityVersion]:
    """Every version of an entity, oldest first, with valid_from and valid_to (None = current)."""
    rows = await conn.fetch(
        f"SELECT {E_COLS}, valid_from, valid_to FROM entity_history WHERE uscc = $1 "
        f"UNION ALL SELECT {E_COLS}, valid_from, NULL::timestamptz FROM entities "
        "WHERE uscc = $1 ORDER BY valid_from",
        uscc,
    )
    return [
        EntityVersion(entity=entity_record(v), valid_from=v["valid_from"], valid_to=v["valid_to"])
        for v in rows
    ]


async def search_entities(
    conn: Conn,
    *,
    name_prefix: str | None,
    region_prefix: str | None,
    industry_prefix: str | None,
    risk_class: str | None,
    after: str,
    limit: int,
) -> list[EntityRecord]:
    """A page of entities in USCC order matching the given criteria."""
    params: list[Any] = [after, limit]
    cond = ["uscc > $1"]
    if name_prefix:
        params.append(
            name_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        cond.append(f"name LIKE ${len(params)}")
    if region_prefix:
        params.append(filters.region_prefixes([region_prefix])[0] + "%")
        cond.append(f"region_code LIKE ${len(params)}")
    if industry_prefix:
        params.append(filters.industry_patterns([industry_prefix])[0])
        cond.append(f"industry_code LIKE ${len(params)}")
    if risk_class:
        params.append(risk_class)
        cond.append(f"risk_class = ${len(params)}")
    sql = f"SELECT {E_COLS} FROM entities WHERE {' AND '.join(cond)} ORDER BY uscc LIMIT $2"
    return [entity_record(r) for r in await conn.fetch(sql, *params)]


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
    cond = filters.where(req.filter, params)
    total = await conn.fetchval(f"SELECT count(*) FROM entities e WHERE {cond}", *params)
    if not req.group_by:
        return StatsReply(total=int(total), groups=[])
    exprs = []
    for g in req.group_by:
        if g == "industry":
            exprs.append(f"left(e.industry_code, {max(1, min(5, int(req.industry_prefix_len)))})")
        else:
            exprs.append(_GROUP_EXPR[g])
    source = "entities e"
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
