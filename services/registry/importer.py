"""Bulk import of the two directories: validate, COPY into a staging table, apply at once.

An import is opened, fed one or more chunks (each chunk replaces any earlier copy of itself,
so a resent chunk is harmless), and committed. The commit reports every USCC (or inspector id)
that occurs more than once in the file — none of those rows is applied, the registry does not
guess which one is right — and applies the rest in one transaction: new rows inserted, changed
rows updated with their old version kept in the history, unchanged rows untouched. Running the
same file again therefore changes nothing, and an import interrupted before its commit changed
nothing at all: running it again ends in the same state.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.kit import logs
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.errors import Conflict, Invalid, NotFound
from services.registry import bulk, rawstage, stager, store
from services.registry.domain.parsing import (
    BadRow,
    RawRow,
    duplicate_error,
    duplicate_groups,
    reject_entry,
)
from services.registry.domain.rows import (
    ENTITY_FIELDS,
    INSPECTOR_FIELDS,
    Vocabulary,
    validate_entity,
    validate_inspector,
)

log = logging.getLogger("spotcheck.registry.import")

KINDS = {
    "entities": (ENTITY_FIELDS, validate_entity, "uscc"),
    "inspectors": (INSPECTOR_FIELDS, validate_inspector, "inspector_id"),
}
_STAGE_TYPES = {
    "entities": (
        'uscc text COLLATE "C", name text, entity_type text, region_code text, '
        "industry_code text, status text, abnormal boolean, risk_class text, "
        "risk_class_date date, tags text[], key_supervision text[], address text, "
        "established date"
    ),
    "inspectors": (
        'inspector_id text COLLATE "C", name text, department text, region_codes text[], '
        "certificate_no text, certificate_expiry date, expertise text[], status text, "
        "capacity integer, recusal_usccs text[], recusal_relations text[]"
    ),
}

Reject = dict[str, Any]
WORK_MEM = "256MB"
BULK_MIN_ROWS = 200_000
# Chunk numbers of one import: 0 … MAX_CHUNKS (the CLI sends 50,000 rows a chunk).
MAX_CHUNKS = 100_000


async def _bulk_load(conn: Any, staged: int) -> bool:
    """Whether an import is big enough, against the directory's size, to rebuild indexes."""
    if staged < BULK_MIN_ROWS:
        return False
    estimate = await conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = 'entity'::regclass")
    existing = await conn.fetchval("SELECT count(*) FROM entity") if estimate < 0 else estimate
    # at most half as many rows exist as arrive: most of the import is new
    return bool(existing * 2 <= staged)


async def _drop_raw_tables(conn: Any, import_id: str, raw_chunks: list[tuple[int, int]]) -> None:
    """Drop a committed import's chunk tables, a hundred per transaction: dropped in the
    commit's own transaction, thousands of them would take thousands of locks at once."""
    for at in range(0, len(raw_chunks), 100):
        names = ", ".join(rawstage.raw_table(import_id, c) for c, _ in raw_chunks[at : at + 100])
        try:
            await conn.execute(f"DROP TABLE IF EXISTS {names}")
        except asyncpg.PostgresError:  # the import is committed; the tables can go later
            log.exception("import %s: chunk tables not dropped", import_id)
            return


class _NotEmpty(Exception):
    """The directory was written to while a first load was being built."""


@dataclass
class ChunkResult:
    """What one chunk did: rows staged and rows rejected."""

    accepted: int
    rejected: int


class Importer:
    """Imports into the registry's PostgreSQL schema."""

    def __init__(
        self, *, db: Database, audit: AuditTrail, vocab: Vocabulary, workers: int = 0
    ) -> None:
        self.db = db
        self.audit = audit
        self.vocab = vocab
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    @staticmethod
    def _stage(import_id: str) -> str:
        return f"stage_{import_id}"

    async def open(self, kind: str, *, source: str, actor: str) -> str:
        """Start an import of `kind` ("entities" or "inspectors"); returns its id."""
        if kind not in KINDS:
            raise Invalid(f"unknown import kind {kind!r}: entities or inspectors")
        import_id = uuid.uuid4().hex
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO import_run (import_id, kind, source, actor) VALUES ($1, $2, $3, $4)",
                import_id,
                kind,
                source[:500],
                actor,
            )
            await conn.execute(
                f"CREATE UNLOGGED TABLE {self._stage(import_id)} "
                f"(chunk integer NOT NULL, line integer NOT NULL, {_STAGE_TYPES[kind]})"
                " WITH (autovacuum_enabled = false)"
            )
        return import_id

    async def _run(self, import_id: str) -> Any:
        async with self.db.pool.acquire() as conn:
            run = await conn.fetchrow("SELECT * FROM import_run WHERE import_id = $1", import_id)
        if run is None:
            raise NotFound(f"no import {import_id}")
        return run

    async def _check_open(self, import_id: str) -> Any:
        run = await self._run(import_id)
        if run["state"] != "open":
            raise Conflict(f"import {import_id} is already committed")
        return run

    async def load_chunk(
        self,
        import_id: str,
        chunk: int,
        rows: Iterable[RawRow | BadRow],
        on_reject: Callable[[Reject], None],
    ) -> ChunkResult:
        """Validate `rows` in this process and stage the valid ones as chunk `chunk`."""
        run = await self._check_open(import_id)
        rejects: list[Reject] = []
        counts = [0, 0]
        recs = stager.records(run["kind"], chunk, rows, self.vocab, rejects, counts)
        async with self.db.pool.acquire() as conn:
            await stager.copy_chunk(conn, import_id, run["kind"], chunk, recs, counts)
        for r in rejects:
            on_reject(r)
        return ChunkResult(accepted=counts[0], rejected=counts[1])

    async def load_chunk_text(
        self, import_id: str, chunk: int, text: str | bytes, *, first_line: int, fmt: str
    ) -> tuple[ChunkResult, list[Reject]]:
        """Stage a chunk given as text (CSV with its header, or JSON Lines) in a worker
        process; several chunks sent at once are staged in parallel."""
        run = await self._check_open(import_id)
        job = stager.StageJob(
            database_url=self.db.url,
            schema=self.db.schema,
            import_id=import_id,
            kind=run["kind"],
            chunk=chunk,
            text=text,
            first_line=first_line,
            fmt=fmt,
            risk_classes=tuple(sorted(self.vocab.risk_classes)),
        )
        if self.workers <= 0:
            async with self.db.pool.acquire() as conn:
                counts, rejects = await stager.run_job(conn, job)
            return ChunkResult(counts[0], counts[1]), rejects
        loop = asyncio.get_running_loop()
        out = await loop.run_in_executor(self._executor(), stager.stage_chunk, job)
        return ChunkResult(out["accepted"], out["rejected"]), out["rejects"]

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the service process runs threads (NATS, asyncpg) that a forked
            # child must not inherit
            init, initargs = logs.worker_initializer()
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=init,
                initargs=initargs,
            )
        return self._pool

    async def start_workers(self) -> None:
        """Start the worker processes now rather than at the first chunk: a spawned worker
        takes about a second to import NumPy and the code tables, which the first import of a
        running service should not wait for."""
        if self.workers <= 0:
            return
        loop = asyncio.get_running_loop()
        pool = self._executor()
        try:
            await asyncio.gather(
                *(
                    loop.run_in_executor(pool, stager.warm_up, self.workers)
                    for _ in range(self.workers)
                )
            )
        except Exception:  # the first chunk will meet it again, with its request
            log.exception("import worker processes failed to start")

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    async def commit(
        self, import_id: str, *, actor: str, on_reject: Callable[[Reject], None]
    ) -> dict[str, Any]:
        """Report duplicates, apply the rest in one transaction, record it in the audit trail."""
        run = await self._run(import_id)
        if run["state"] == "committed":
            summary: dict[str, Any] = run["summary"]
            return summary
        async with self.db.pool.acquire() as conn:
            # One commit of an import at a time: a first load builds its table before the
            # commit transaction, so the row lock taken in it is not enough.
            lock = f"import-commit:{import_id}"
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", lock)
            try:
                return await self._commit(conn, import_id, actor=actor, on_reject=on_reject)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock)

    async def _commit(
        self, conn: Any, import_id: str, *, actor: str, on_reject: Callable[[Reject], None]
    ) -> dict[str, Any]:
        run = await self._run(import_id)
        if run["state"] == "committed":  # by a commit that held the lock before us
            done: dict[str, Any] = run["summary"]
            return done
        kind = run["kind"]
        _, _, key = KINDS[kind]
        stage = self._stage(import_id)
        at = datetime.now(UTC)
        totals = await conn.fetchrow(
            "SELECT coalesce(sum(accepted), 0) AS staged, coalesce(sum(rejected), 0)"
            " AS invalid FROM import_chunk WHERE import_id = $1",
            import_id,
        )
        staged, invalid = int(totals["staged"]), int(totals["invalid"])
        raw_chunks = [
            (r["chunk"], r["raw_first_line"])
            for r in await conn.fetch(
                "SELECT chunk, raw_first_line FROM import_chunk WHERE import_id = $1"
                " AND raw_first_line IS NOT NULL ORDER BY chunk",
                import_id,
            )
        ]
        rows = (
            f"({rawstage.rows_sql(import_id, raw_chunks)})"
            if kind == "entities"
            else f"(SELECT * FROM {stage})"
        )
        await self._check_staging(conn, import_id, staged, raw_chunks)
        t0 = time.perf_counter()
        built: int | None = None
        duplicates_seen = False
        if (
            kind == "entities"
            and staged >= bulk.FIRST_LOAD_MIN_ROWS
            and await bulk.is_empty(conn)
            and await bulk.can_rebuild(conn)
        ):
            half = len(raw_chunks) // 2
            sources = (
                f"({rawstage.rows_sql(import_id, raw_chunks[:half])})",
                f"({rawstage.rows_sql(import_id, raw_chunks[half:], typed=False)})",
            )
            built = await bulk.build(self.db, conn, import_id=import_id, sources=sources, at=at)
            duplicates_seen = built is None
        async with conn.transaction():
            # Lock the run so two commits of the same import cannot interleave.
            await conn.execute(
                "SELECT 1 FROM import_run WHERE import_id = $1 FOR UPDATE", import_id
            )
            # Memory for the duplicate check's hash aggregate and the index builds, so that
            # five million rows do not spill to disk in 4 MB pieces.
            await conn.execute(
                f"SET LOCAL work_mem = '{WORK_MEM}'; "
                f"SET LOCAL maintenance_work_mem = '{bulk.MAINTENANCE_WORK_MEM}'"
            )
            applied: tuple[str, int] | None = None
            dup_rows = 0
            if built is not None:
                try:
                    # a savepoint: when the swap is refused, its exclusive lock on `entity`
                    # goes with it instead of lasting through the ordinary commit
                    async with conn.transaction():
                        if not await bulk.put_in_place(conn, import_id=import_id):
                            raise _NotEmpty
                        applied = ("INSERT 0 0", built)
                except _NotEmpty:  # somebody wrote to the directory meanwhile: the ordinary way
                    await conn.execute(f"DROP TABLE {bulk.table_for(import_id)}")
            rebuild = applied is None and kind == "entities" and await _bulk_load(conn, staged)
            if rebuild and not duplicates_seen:
                # The rebuilt primary key refuses a key that occurs twice: try without the
                # duplicate search (a full aggregate over the staged rows) and search only
                # when the key refuses.
                try:
                    async with conn.transaction():
                        applied = await self._apply_entities(conn, rows, at, rebuild=True)
                except asyncpg.UniqueViolationError:
                    log.info("import %s: duplicate keys, searching them", import_id)
            t1 = time.perf_counter()
            if applied is None:
                dup_rows = await self._duplicates(conn, rows, key, on_reject)
                source = f"(SELECT * FROM {rows} r WHERE {key} NOT IN (SELECT k FROM import_dups))"
                t1 = time.perf_counter()
                if kind == "entities":
                    rebuild = await _bulk_load(conn, staged - dup_rows)
                    applied = await self._apply_entities(conn, source, at, rebuild=rebuild)
                else:
                    applied = await self._apply_inspectors(conn, source, at)
                log.info(
                    "import %s commit: duplicate search %.2f s, apply %.2f s",
                    import_id,
                    t1 - t0,
                    time.perf_counter() - t1,
                )
            else:
                log.info("import %s commit: bulk apply %.2f s", import_id, t1 - t0)
            history, changed = applied
            summary = {
                "import_id": import_id,
                "kind": kind,
                "accepted": int(staged) - dup_rows,
                "rejected": int(invalid) + dup_rows,
                "duplicates": dup_rows,
                "changed": changed,
                "versions_kept": int(history.split()[-1]),
                "at": at.isoformat(),
                "source": run["source"],
            }
            await conn.execute(f"DROP TABLE {stage}")
            await conn.execute(
                "UPDATE import_run SET state = 'committed', finished_at = $2, summary = $3 "
                "WHERE import_id = $1",
                import_id,
                at,
                summary,
            )
            await self.audit.append(
                conn,
                actor=actor,
                action=f"registry.import.{kind}",
                subject=import_id,
                data=summary,
            )
        await _drop_raw_tables(conn, import_id, raw_chunks)
        return summary

    @staticmethod
    async def _check_staging(
        conn: Any, import_id: str, staged: int, raw_chunks: list[tuple[int, int]]
    ) -> None:
        """Refuse to commit rows that are no longer there: staging tables are UNLOGGED, and a
        restart of PostgreSQL after a crash empties them all (while the chunk counts stay)."""
        if staged == 0:
            return
        probes = [f"(SELECT 1 FROM stage_{import_id} LIMIT 1)"] + [
            f"(SELECT 1 FROM {rawstage.raw_table(import_id, chunk)} LIMIT 1)"
            for chunk, _ in raw_chunks
        ]
        if not await conn.fetchval(f"SELECT EXISTS ({' UNION ALL '.join(probes)})"):
            raise Conflict(
                f"import {import_id}: its staged rows were lost (PostgreSQL restarted after a "
                "crash); send the file again — nothing was applied"
            )

    @staticmethod
    async def _duplicates(
        conn: Any, rows: str, key: str, on_reject: Callable[[Reject], None]
    ) -> int:
        """Report every row of a key that occurs more than once; the keys go to the temporary
        table import_dups, so that none of those rows is applied."""
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
        dup_rows = 0
        for value, lines in duplicate_groups((r["k"], r["line"]) for r in pairs):
            error = duplicate_error(key, value, lines)
            for line in lines:
                on_reject(reject_entry(line, [error]))
                dup_rows += 1
        return dup_rows

    @staticmethod
    async def _apply_entities(
        conn: Any, source: str, at: datetime, *, rebuild: bool
    ) -> tuple[str, int]:
        """Apply staged entities (no key twice); the history status and rows changed.

        `rebuild`: the rows at least double the directory, and its indexes are rebuilt after
        the insert.
        """
        if not rebuild:
            # One join of the rows with the directory finds both the changed and the new ones
            # (usually few): the three statements below then touch only those.
            await conn.execute(store.entity_delta_sql(source, "import_delta"))
            history_sql, update_sql, _ = store.entity_apply_sql(
                "(SELECT * FROM import_delta WHERE NOT is_new)"
            )
            _, _, insert_sql = store.entity_apply_sql("(SELECT * FROM import_delta WHERE is_new)")
            history = await conn.execute(history_sql, at)
            updated = await conn.execute(update_sql, at)
            inserted = await conn.execute(insert_sql, at)
            await conn.execute("DROP TABLE import_delta")
            return str(history), int(updated.split()[-1]) + int(inserted.split()[-1])
        await conn.execute(store.entity_changed_sql(source, "import_changed"))
        history_sql, update_sql, _ = store.entity_apply_sql("import_changed")
        # indexes rebuilt after a bulk insert need no ordered input
        _, _, insert_sql = store.entity_apply_sql(source, ordered=False)
        history = await conn.execute(history_sql, at)
        updated = await conn.execute(update_sql, at)
        # A load at least doubling the directory: indexes are rebuilt by one sort each instead
        # of millions of random insertions. The exclusive lock keeps every other writer out
        # until the commit.
        await conn.execute("LOCK TABLE entity IN ACCESS EXCLUSIVE MODE")
        await conn.execute("ALTER TABLE entity DROP CONSTRAINT entity_pkey; DROP INDEX entity_name")
        inserted = await conn.execute(insert_sql, at)
        await conn.execute(
            "ALTER TABLE entity ADD CONSTRAINT entity_pkey PRIMARY KEY (uscc); "
            "CREATE INDEX entity_name ON entity (name text_pattern_ops)"
        )
        await conn.execute("DROP TABLE import_changed")
        return str(history), int(updated.split()[-1]) + int(inserted.split()[-1])

    @staticmethod
    async def _apply_inspectors(conn: Any, source: str, at: datetime) -> tuple[str, int]:
        """Apply staged inspectors (no key twice); the history status and rows changed."""
        history_sql, upsert_sql = store.inspector_apply_sql(source)
        history = await conn.execute(history_sql, at)
        changed = int((await conn.execute(upsert_sql, at)).split()[-1])
        return str(history), changed

    async def import_rows(
        self,
        kind: str,
        rows: Iterable[RawRow | BadRow],
        *,
        source: str,
        actor: str,
        on_reject: Callable[[Reject], None],
    ) -> dict[str, Any]:
        """A whole file in one go (one chunk): open, stage, commit; returns the summary."""
        import_id = await self.open(kind, source=source, actor=actor)
        await self.load_chunk(import_id, 0, rows, on_reject)
        return await self.commit(import_id, actor=actor, on_reject=on_reject)
