"""The first load of an empty entity directory: build the table whole, then put it in place.

A province's first import is millions of rows into an empty directory. Inserting them into
`entity` row by row writes each one through the executor and the WAL one at a time; building
a new table with `CREATE TABLE … AS` writes them in bulk, about a third faster, and its
indexes are then built by one sort each. The new table takes the definition of `entity` from
the catalogue (columns, NOT NULL, defaults, primary key and other indexes) and replaces it in
the same transaction, under an exclusive lock taken before the directory was found empty: the
load is atomic like any other import, and nobody sees a half-built directory.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from services.registry.domain.rows import ENTITY_FIELDS

# Below this, a first load goes the ordinary way: the catalogue work is not worth it.
FIRST_LOAD_MIN_ROWS = 50_000
_NEW = "entity_load"
log = logging.getLogger("spotcheck.registry.import")


async def first_load(conn: Any, staged: int) -> bool:
    """Whether `staged` rows go into an empty directory as a first load; if so, `entity` is
    locked (ACCESS EXCLUSIVE) until the end of the caller's transaction."""
    if staged < FIRST_LOAD_MIN_ROWS:
        return False
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM entity)"):
        return False
    await conn.execute("LOCK TABLE entity IN ACCESS EXCLUSIVE MODE")
    # checked again under the lock: a writer may have come first
    return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM entity)")


async def load_first(conn: Any, source: str, at: datetime) -> int:
    """Replace the empty, locked `entity` table by one built from `source` (aliased s, entity
    columns) with every row valid from `at`; returns the number of rows. Raises
    asyncpg.UniqueViolationError when a USCC occurs twice (nothing changed then, once the
    caller's savepoint is rolled back)."""
    columns = await conn.fetch(
        "SELECT a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS dflt "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d "
        "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = 'entity'::regclass AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum"
    )
    names = [c["attname"] for c in columns]
    if names != [*ENTITY_FIELDS, "valid_from"]:
        raise RuntimeError(f"entity columns changed ({names}): update bulk.load_first")
    types = await conn.fetch(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, "
        "(SELECT c.collname FROM pg_collation c WHERE c.oid = a.attcollation "
        " AND a.attcollation <> 0) AS coll "
        "FROM pg_attribute a WHERE a.attrelid = 'entity'::regclass AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY a.attnum"
    )
    select = ", ".join(
        f"s.{t['attname']}::{t['type']}"
        + (f' COLLATE "{t["coll"]}"' if t["coll"] and t["coll"] != "default" else "")
        + f" AS {t['attname']}"
        for t in types
        if t["attname"] != "valid_from"
    )
    # CREATE TABLE AS takes no parameters: the moment is written as a literal
    moment = at.isoformat()
    t0 = time.perf_counter()
    loaded = await conn.execute(
        f"CREATE TABLE {_NEW} AS SELECT {select}, '{moment}'::timestamptz AS valid_from "
        f"FROM {source} s"
    )
    alters = [f"ALTER COLUMN {c['attname']} SET NOT NULL" for c in columns if c["attnotnull"]]
    alters += [
        f"ALTER COLUMN {c['attname']} SET DEFAULT {c['dflt']}"
        for c in columns
        if c["dflt"] is not None
    ]
    t1 = time.perf_counter()
    if alters:
        await conn.execute(f"ALTER TABLE {_NEW} {', '.join(alters)}")
    t2 = time.perf_counter()
    constraints = await conn.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS def, conindid FROM pg_constraint "
        "WHERE conrelid = 'entity'::regclass AND contype IN ('p', 'u', 'c', 'x')"
    )
    owned = {c["conindid"] for c in constraints}
    indexes = await conn.fetch(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def, i.indexrelid "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'entity'::regclass"
    )
    for c in constraints:
        await conn.execute(f"ALTER TABLE {_NEW} ADD CONSTRAINT {_NEW}_{c['conname']} {c['def']}")
    for ix in indexes:
        if ix["indexrelid"] in owned:
            continue
        definition = ix["def"].replace(
            f"INDEX {ix['relname']} ON ", f"INDEX {_NEW}_{ix['relname']} ON ", 1
        )
        head, _, tail = definition.partition(" USING ")
        head = head.rsplit(" ON ", 1)[0] + f" ON {_NEW}"
        await conn.execute(f"{head} USING {tail}")
    t3 = time.perf_counter()
    not_null_names = await _not_null_names(conn, "entity")
    await conn.execute("DROP TABLE entity")
    await conn.execute(f"ALTER TABLE {_NEW} RENAME TO entity")
    for c in constraints:
        await conn.execute(
            f"ALTER TABLE entity RENAME CONSTRAINT {_NEW}_{c['conname']} TO {c['conname']}"
        )
    for ix in indexes:
        if ix["indexrelid"] not in owned:
            await conn.execute(f"ALTER INDEX {_NEW}_{ix['relname']} RENAME TO {ix['relname']}")
    # PostgreSQL 18 names NOT NULL constraints after their table: give them the old names
    for column, name in (await _not_null_names(conn, "entity")).items():
        if column in not_null_names and name != not_null_names[column]:
            await conn.execute(
                f"ALTER TABLE entity RENAME CONSTRAINT {name} TO {not_null_names[column]}"
            )
    await conn.execute("ANALYZE entity")
    log.info(
        "first load: build %.2f s, NOT NULL %.2f s, indexes %.2f s, put in place %.2f s",
        t1 - t0,
        t2 - t1,
        t3 - t2,
        time.perf_counter() - t3,
    )
    return int(loaded.split()[-1])


async def _not_null_names(conn: Any, table: str) -> dict[str, str]:
    """Column → name of its NOT NULL constraint (PostgreSQL 18 and later; empty before)."""
    rows = await conn.fetch(
        "SELECT a.attname, c.conname FROM pg_constraint c JOIN pg_attribute a "
        "ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.conrelid = $1::regclass AND c.contype = 'n'",
        table,
    )
    return {r["attname"]: r["conname"] for r in rows}
