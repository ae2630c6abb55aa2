"""SQL of imports: runs and their chunks, the duplicate search and the apply of a commit.

The apply statements (`entities.entity_apply_sql`, `inspectors.inspector_apply_sql`) run over
the rows of an import given as a parenthesised query (`staging.rows_sql`); unchanged rows are
left alone, so applying the same rows twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.kit.errors import Conflict
from services.registry.store import Conn, bulk
from services.registry.store.entities import (
    entity_apply_sql,
    entity_changed_sql,
    entity_delta_sql,
)
from services.registry.store.inspectors import inspector_apply_sql
from services.registry.store.staging import raw_table, stage_table, staging_lock

log = logging.getLogger("spotcheck.registry.import")

WORK_MEM = "256MB"
BULK_MIN_ROWS = 200_000


@dataclass(frozen=True)
class ImportRun:
    """One import as `import_runs` keeps it."""

    import_id: str
    kind: str
    source: str
    actor: str
    state: str
    summary: dict[str, Any] | None


@dataclass(frozen=True)
class StagedTotals:
    """What the chunks of an import staged: valid rows, invalid rows, and the raw chunk tables
    as (chunk, first line)."""

    staged: int
    invalid: int
    raw_chunks: list[tuple[int, int]]


async def insert_run(conn: Conn, import_id: str, *, kind: str, source: str, actor: str) -> None:
    """Record a new open import."""
    await conn.execute(
        "INSERT INTO import_runs (import_id, kind, source, actor) VALUES ($1, $2, $3, $4)",
        import_id,
        kind,
        source,
        actor,
    )


async def run(conn: Conn, import_id: str) -> ImportRun | None:
    """One import, or None."""
    row = await conn.fetchrow(
        "SELECT import_id, kind, source, actor, state, summary FROM import_runs"
        " WHERE import_id = $1",
        import_id,
    )
    return None if row is None else ImportRun(**dict(row))


async def try_lock_commit(conn: Conn, import_id: str) -> bool:
    """A session lock: one commit of an import at a time, on whichever copy (released by
    `unlock_commit`, or by PostgreSQL when the copy's connection ends). False at once when
    another commit holds it."""
    got: bool = await conn.fetchval(
        "SELECT pg_try_advisory_lock(hashtext($1))", f"import-commit:{import_id}"
    )
    return got


async def lock_staging(conn: Conn, import_id: str) -> None:
    """A session lock, after `try_lock_commit`: wait for the chunks being staged, and refuse
    new ones (`staging.claim_chunk`) until `unlock_staging`."""
    await conn.execute("SELECT pg_advisory_lock(hashtext($1))", staging_lock(import_id))


async def unlock_staging(conn: Conn, import_id: str) -> None:
    """Release `lock_staging`."""
    await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", staging_lock(import_id))


async def unlock_commit(conn: Conn, import_id: str) -> None:
    """Release `lock_commit`."""
    await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"import-commit:{import_id}")


async def staged_totals(conn: Conn, import_id: str) -> StagedTotals:
    """Counts of the import's chunks, and its raw chunk tables in chunk order."""
    totals = await conn.fetchrow(
        "SELECT coalesce(sum(accepted), 0) AS staged, coalesce(sum(rejected), 0)"
        " AS invalid FROM import_chunks WHERE import_id = $1",
        import_id,
    )
    raw_chunks = [
        (r["chunk"], r["raw_first_line"])
        for r in await conn.fetch(
            "SELECT chunk, raw_first_line FROM import_chunks WHERE import_id = $1"
            " AND raw_first_line IS NOT NULL ORDER BY chunk",
            import_id,
        )
    ]
    return StagedTotals(int(totals["staged"]), int(totals["invalid"]), raw_chunks)


async def check_staging(
    conn: Conn, import_id: str, staged: int, raw_chunks: list[tuple[int, int]]
) -> None:
    """Refuse to commit rows that are no longer there: staging tables are UNLOGGED, and a
    restart of PostgreSQL after a crash empties them all (while the chunk counts stay)."""
    if staged == 0:
        return
    probes = [f"(SELECT 1 FROM {stage_table(import_id)} LIMIT 1)"] + [
        f"(SELECT 1 FROM {raw_table(import_id, chunk)} LIMIT 1)" for chunk, _ in raw_chunks
    ]
    if not await conn.fetchval(f"SELECT EXISTS ({' UNION ALL '.join(probes)})"):
        raise Conflict(
            f"import {import_id}: its staged rows were lost (PostgreSQL restarted after a "
            "crash); send the file again — nothing was applied"
        )


async def begin_commit(conn: Conn, import_id: str) -> None:
    """First statements of the commit transaction: lock the run, so that two commits of the
    same import cannot interleave, and give the duplicate check's hash aggregate and the
    index builds memory, so that five million rows do not spill to disk in 4 MB pieces."""
    await conn.execute("SELECT 1 FROM import_runs WHERE import_id = $1 FOR UPDATE", import_id)
    await conn.execute(
        f"SET LOCAL work_mem = '{WORK_MEM}'; "
        f"SET LOCAL maintenance_work_mem = '{bulk.MAINTENANCE_WORK_MEM}'"
    )


async def bulk_load(conn: Conn, staged: int) -> bool:
    """Whether an import is big enough, against the directory's size, to rebuild indexes."""
    if staged < BULK_MIN_ROWS:
        return False
    estimate = await conn.fetchval(
        "SELECT reltuples FROM pg_class WHERE oid = 'entities'::regclass"
    )
    existing = await conn.fetchval("SELECT count(*) FROM entities") if estimate < 0 else estimate
    # at most half as many rows exist as arrive: most of the import is new
    return bool(existing * 2 <= staged)


async def find_duplicates(conn: Conn, rows: str, key: str) -> list[tuple[str, int]]:
    """Every (key, line) of a key that occurs more than once in `rows`, in order; the keys go
    to the temporary table import_dups, so that none of those rows is applied."""
    # One hash aggregate in this backend: the staging tables have no statistics, and the
    # parallel plan chosen on their default estimates (partial aggregates, then a sort of
    # every key) took 6.2 s for 5M rows where this takes 3.9 s.
    await conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    await conn.execute(
        f"CREATE TEMP TABLE import_dups ON COMMIT DROP AS SELECT {key} AS k FROM {rows} r "
        f"GROUP BY {key} HAVING count(*) > 1"
    )
    await conn.execute("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")
    pairs = await conn.fetch(
        f"SELECT {key} AS k, line FROM {rows} r WHERE {key} IN (SELECT k FROM import_dups)"
        " ORDER BY 1, 2"
    )
    return [(r["k"], r["line"]) for r in pairs]


def without_duplicates(rows: str, key: str) -> str:
    """The rows of `rows` whose key is not in import_dups (see `find_duplicates`)."""
    return f"(SELECT * FROM {rows} r WHERE {key} NOT IN (SELECT k FROM import_dups))"


async def apply_entities(
    conn: Conn, source: str, at: datetime, *, rebuild: bool
) -> tuple[str, int]:
    """Apply staged entities (no key twice); the history status and rows changed.

    `rebuild`: the rows at least double the directory, and its indexes are rebuilt after
    the insert.
    """
    if not rebuild:
        # One join of the rows with the directory finds both the changed and the new ones
        # (usually few): the three statements below then touch only those.
        await conn.execute(entity_delta_sql(source, "import_delta"))
        history_sql, update_sql, _ = entity_apply_sql(
            "(SELECT * FROM import_delta WHERE NOT is_new)"
        )
        _, _, insert_sql = entity_apply_sql("(SELECT * FROM import_delta WHERE is_new)")
        history = await conn.execute(history_sql, at)
        updated = await conn.execute(update_sql, at)
        inserted = await conn.execute(insert_sql, at)
        await conn.execute("DROP TABLE import_delta")
        return str(history), int(updated.split()[-1]) + int(inserted.split()[-1])
    await conn.execute(entity_changed_sql(source, "import_changes"))
    history_sql, update_sql, _ = entity_apply_sql("import_changes")
    # indexes rebuilt after a bulk insert need no ordered input
    _, _, insert_sql = entity_apply_sql(source, ordered=False)
    history = await conn.execute(history_sql, at)
    updated = await conn.execute(update_sql, at)
    # A load at least doubling the directory: indexes are rebuilt by one sort each instead
    # of millions of random insertions. The exclusive lock keeps every other writer out
    # until the commit.
    await conn.execute("LOCK TABLE entities IN ACCESS EXCLUSIVE MODE")
    await conn.execute(
        "ALTER TABLE entities DROP CONSTRAINT entities_pkey; DROP INDEX entities_name"
    )
    inserted = await conn.execute(insert_sql, at)
    await conn.execute(
        "ALTER TABLE entities ADD CONSTRAINT entities_pkey PRIMARY KEY (uscc); "
        "CREATE INDEX entities_name ON entities (name text_pattern_ops)"
    )
    await conn.execute("DROP TABLE import_changes")
    return str(history), int(updated.split()[-1]) + int(inserted.split()[-1])


async def apply_inspectors(conn: Conn, source: str, at: datetime) -> tuple[str, int]:
    """Apply staged inspectors (no key twice); the history status and rows changed."""
    history_sql, upsert_sql = inspector_apply_sql(source)
    history = await conn.execute(history_sql, at)
    changed = int((await conn.execute(upsert_sql, at)).split()[-1])
    return str(history), changed


async def finish_run(conn: Conn, import_id: str, at: datetime, summary: dict[str, Any]) -> None:
    """In the commit transaction: drop the staging table and mark the run committed."""
    await conn.execute(f"DROP TABLE {stage_table(import_id)}")
    await conn.execute(
        "UPDATE import_runs SET state = 'committed', finished_at = $2, summary = $3 "
        "WHERE import_id = $1",
        import_id,
        at,
        summary,
    )


def _batches(raw_chunks: list[tuple[int, int]], size: int) -> Iterator[list[tuple[int, int]]]:
    for at in range(0, len(raw_chunks), size):
        yield raw_chunks[at : at + size]


async def drop_raw_tables(conn: Conn, import_id: str, raw_chunks: list[tuple[int, int]]) -> None:
    """Drop a committed import's chunk tables, a hundred per transaction: dropped in the
    commit's own transaction, thousands of them would take thousands of locks at once."""
    for batch in _batches(raw_chunks, 100):
        names = ", ".join(raw_table(import_id, c) for c, _ in batch)
        try:
            await conn.execute(f"DROP TABLE IF EXISTS {names}")
        except asyncpg.PostgresError:  # the import is committed; the tables can go later
            log.exception("import %s: chunk tables not dropped", import_id)
            return
