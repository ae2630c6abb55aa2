"""The first load of an empty entity directory: build a new table beside it, then put it in place.

A province's first import is millions of rows into an empty directory. Inserting them into
`entities` row by row goes through the executor and the WAL one row at a time, on one core, and
each index grows by millions of random insertions. Instead, `build` makes a table of the same
definition, `entities_load_<import>`, using both cores:
  - two connections each convert and insert half of the staged rows (`INSERT … SELECT`; 7.1 s
    for 5M rows where one `CREATE TABLE … AS`, on one core, took 8.5–11.9 s);
  - then the two connections build the unique index on USCC and the other indexes at the same
    time, each by one sort.
No reader of the directory sees the new table until `put_in_place`, which, inside the import's
commit transaction, locks `entities`, checks it is still empty, and replaces it: the load is
atomic like any other import. A build left behind by a crash is dropped by the next attempt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

import asyncpg

from services.kit.db import Database
from services.registry.domain.rows import ENTITY_FIELDS

log = logging.getLogger("spotcheck.registry.import")

# Below this, a first load goes the ordinary way: the extra work is not worth it.
FIRST_LOAD_MIN_ROWS = 50_000
# Memory for one index build of a province (5M USCCs sort in ~350 MB, names in ~410 MB).
MAINTENANCE_WORK_MEM = "512MB"


def table_for(import_id: str) -> str:
    """The table a first load of `import_id` is built in. Its indexes are named
    `<table>_<index>`: `entities_load_<32 hex digits>_entities_pkey` is 60 characters, within
    PostgreSQL's 63 (a longer name would be cut, the same way wherever it is written)."""
    return f"entities_load_{import_id}"


async def is_empty(conn: Any) -> bool:
    """Whether the entity directory holds no row."""
    return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM entities)")


async def can_rebuild(conn: Any) -> bool:
    """Whether `entities` is defined by nothing that a table built beside it would lack: no
    grants, triggers, row security, foreign keys, rules or views, exclusion constraints,
    storage options, functions of its row type, or another owner. Otherwise a first load
    goes the ordinary way."""
    blockers = await conn.fetchval(
        """
        SELECT coalesce(c.relacl <> acldefault('r', c.relowner), false) OR c.relrowsecurity
            OR (c.reloptions IS NOT NULL)
            OR (c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user))
            OR EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal)
            OR EXISTS (SELECT 1 FROM pg_constraint k WHERE (k.conrelid = c.oid
                       AND k.contype NOT IN ('p', 'u', 'c', 'n')) OR k.confrelid = c.oid)
            OR EXISTS (SELECT 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                       WHERE d.refobjid = c.oid AND d.classid = 'pg_rewrite'::regclass)
            OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
            OR EXISTS (SELECT 1 FROM pg_depend d WHERE d.refobjid = c.reltype
                       AND d.deptype = 'n')
        FROM pg_class c WHERE c.oid = 'entities'::regclass
        """
    )
    return not blockers


async def build(
    db: Database, conn: Any, *, import_id: str, sources: tuple[str, str], at: datetime
) -> int | None:
    """Build `entities_load_<import>` from the two halves `sources` (parenthesised queries of
    entity columns), every row valid from `at`, with the indexes of `entities`, on `conn` and one
    more pooled connection; returns the number of rows, or None when a USCC occurs twice (the
    table is dropped then)."""
    table = table_for(import_id)
    columns = ", ".join(f"s.{c}" for c in ENTITY_FIELDS)
    inserts = [
        f"INSERT INTO {table} SELECT {columns}, $1::timestamptz FROM {source} s"
        for source in sources
    ]
    constraints = await conn.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS def, conindid FROM pg_constraint "
        "WHERE conrelid = 'entities'::regclass AND contype IN ('p', 'u')"
    )
    indexes = await conn.fetch(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def, i.indexrelid "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'entities'::regclass"
    )
    owned = {c["conindid"]: c for c in constraints}
    statements = []
    for ix in indexes:
        # "CREATE [UNIQUE] INDEX name ON schema.entities USING …" → the same on the new table
        head, _, tail = ix["def"].partition(" USING ")
        kind = head.split(" INDEX ", 1)[0]
        constraint = owned.get(ix["indexrelid"])
        if constraint is not None:
            kind = "CREATE UNIQUE"  # the key's index, attached as the constraint when in place
        statements.append(f"{kind} INDEX {table}_{ix['relname']} ON {table} USING {tail}")
    t0 = time.perf_counter()
    async with db.pool.acquire() as other:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        # No autovacuum until it is in place: a vacuum started on it would hold up the index
        # builds and the swap.
        await conn.execute(
            f"CREATE TABLE {table} (LIKE entities INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING STORAGE INCLUDING COMPRESSION) WITH (autovacuum_enabled = false)"
        )
        try:
            done = await asyncio.gather(
                conn.execute(inserts[0], at), other.execute(inserts[1], at), return_exceptions=True
            )
            for d in done:
                if isinstance(d, BaseException):
                    raise d
            rows = sum(int(str(d).split()[-1]) for d in done)
        except BaseException:
            await conn.execute(f"DROP TABLE IF EXISTS {table}")
            raise
        t1 = time.perf_counter()
        for c in (conn, other):
            # each build on one core: the two run side by side
            await c.execute(
                f"SET max_parallel_maintenance_workers = 0; "
                f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'"
            )

        async def run_all(c: Any, todo: list[str]) -> None:
            for statement in todo:
                await c.execute(statement)

        # each connection builds its share one index after another; both run to their end
        # before either connection is used again
        results = await asyncio.gather(
            run_all(conn, statements[0::2]),
            run_all(other, statements[1::2]),
            return_exceptions=True,
        )
        for c in (conn, other):
            await c.execute("RESET max_parallel_maintenance_workers; RESET maintenance_work_mem")
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await conn.execute(f"DROP TABLE IF EXISTS {table}")
            if any(isinstance(f, asyncpg.UniqueViolationError) for f in failures):
                return None
            raise failures[0]
    log.info(
        "first load %s: %s rows written in %.2f s, indexes built in %.2f s",
        import_id,
        rows,
        t1 - t0,
        time.perf_counter() - t1,
    )
    return rows


async def put_in_place(conn: Any, *, import_id: str) -> bool:
    """Inside the import's commit transaction: replace the empty `entities` by the built table.
    False (nothing changed) when the directory is no longer empty."""
    table = table_for(import_id)
    await conn.execute("LOCK TABLE entities IN ACCESS EXCLUSIVE MODE")
    if not await is_empty(conn):
        return False
    constraints = await conn.fetch(
        "SELECT c.conname, c.contype::text AS contype, i.relname AS index FROM pg_constraint c "
        "JOIN pg_class i ON i.oid = c.conindid "
        "WHERE c.conrelid = 'entities'::regclass AND c.contype IN ('p', 'u')"
    )
    indexes = await conn.fetch(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'entities'::regclass"
    )
    not_null_names = await _not_null_names(conn, "entities")
    kinds = {c["index"]: c for c in constraints}
    await conn.execute("DROP TABLE entities")
    await conn.execute(f"ALTER TABLE {table} RENAME TO entities")
    for ix in indexes:
        name = ix["relname"]
        built = f"{table}_{name}"
        if name in kinds:
            kind = "PRIMARY KEY" if kinds[name]["contype"] == "p" else "UNIQUE"
            await conn.execute(
                f"ALTER TABLE entities ADD CONSTRAINT {kinds[name]['conname']} {kind} "
                f"USING INDEX {built}"
            )
        else:
            await conn.execute(f"ALTER INDEX {built} RENAME TO {name}")
    # PostgreSQL 18 names NOT NULL constraints after their table: give them the old names
    for column, name in (await _not_null_names(conn, "entities")).items():
        if column in not_null_names and name != not_null_names[column]:
            await conn.execute(
                f"ALTER TABLE entities RENAME CONSTRAINT {name} TO {not_null_names[column]}"
            )
    await conn.execute("ALTER TABLE entities RESET (autovacuum_enabled)")
    await conn.execute("ANALYZE entities")
    return True


async def drop_built(conn: Any, *, import_id: str) -> None:
    """Drop a built table that was not put in place."""
    await conn.execute(f"DROP TABLE {table_for(import_id)}")


async def _not_null_names(conn: Any, table: str) -> dict[str, str]:
    """Column → name of its NOT NULL constraint (PostgreSQL 18 and later; empty before)."""
    rows = await conn.fetch(
        "SELECT a.attname, c.conname FROM pg_constraint c JOIN pg_attribute a "
        "ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.conrelid = $1::regclass AND c.contype = 'n'",
        table,
    )
    return {r["attname"]: r["conname"] for r in rows}
