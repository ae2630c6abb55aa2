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

from contracts import subjects
from contracts.registry import ImportCompleted
from services.kit import logs
from services.kit.audit import AuditTrail
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.envelope import event_id
from services.kit.errors import Conflict, Invalid, NotFound
from services.registry.commands import staging as stager
from services.registry.commands.summaries import DirectorySummaries
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
from services.registry.store import bulk, staging
from services.registry.store import imports as store
from services.registry.store.imports import ImportRun

log = logging.getLogger("spotcheck.registry.import")

KINDS = {
    "entities": (ENTITY_FIELDS, validate_entity, "uscc"),
    "inspectors": (INSPECTOR_FIELDS, validate_inspector, "inspector_id"),
}

Reject = dict[str, Any]
# Chunk numbers of one import: 0 … MAX_CHUNKS (the CLI sends 50,000 rows a chunk).
MAX_CHUNKS = 100_000


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
        self,
        *,
        db: Database,
        audit: AuditTrail,
        vocab: Vocabulary,
        workers: int = 0,
        bus: Bus | None = None,
        summaries: DirectorySummaries | None = None,
    ) -> None:
        self.db = db
        self.audit = audit
        self.vocab = vocab
        self.workers = workers
        self.bus = bus
        # The 两库 summary for the 监督平台 (at most daily, when the counts changed).
        self.summaries = summaries
        self._pool: ProcessPoolExecutor | None = None

    async def open(self, kind: str, *, source: str, actor: str) -> str:
        """Start an import of `kind` ("entities" or "inspectors"); returns its id."""
        if kind not in KINDS:
            raise Invalid(f"unknown import kind {kind!r}: entities or inspectors")
        import_id = uuid.uuid4().hex
        async with self.db.transaction() as conn:
            await store.insert_run(conn, import_id, kind=kind, source=source[:500], actor=actor)
            await staging.create_stage_table(conn, import_id, kind)
        return import_id

    async def _run(self, import_id: str) -> ImportRun:
        async with self.db.pool.acquire() as conn:
            run = await store.run(conn, import_id)
        if run is None:
            raise NotFound(f"no import {import_id}")
        return run

    async def _check_open(self, import_id: str) -> ImportRun:
        run = await self._run(import_id)
        if run.state != "open":
            raise staging.ImportCommitted(
                f"import {import_id} is already committed: a chunk now would not be applied"
            )
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
        recs = stager.records(run.kind, chunk, rows, self.vocab, rejects, counts)
        async with self.db.pool.acquire() as conn:
            await staging.copy_chunk(conn, import_id, run.kind, chunk, recs, counts)
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
            kind=run.kind,
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
        """Report duplicates, apply the rest in one transaction, record it in the audit trail.

        A commit of a committed import answers its summary (a retry is harmless). A commit
        while another one of the same import runs (on any copy) is refused at once with
        `409 import_committing` rather than left waiting for minutes on a large import.
        """
        run = await self._run(import_id)
        if run.state == "committed":
            summary: dict[str, Any] = run.summary or {}
            return summary
        async with self.db.pool.acquire() as conn:
            # One commit of an import at a time: a first load builds its table before the
            # commit transaction, so the row lock taken in it is not enough.
            if not await store.try_lock_commit(conn, import_id):
                raise Conflict(
                    f"import {import_id} is being committed by another request right now; "
                    "send the commit again when it is done: it then answers the summary",
                    code="import_committing",
                )
            try:
                await store.lock_staging(conn, import_id)
                try:
                    return await self._commit(conn, import_id, actor=actor, on_reject=on_reject)
                finally:
                    await store.unlock_staging(conn, import_id)
            finally:
                await store.unlock_commit(conn, import_id)

    async def commit_and_announce(
        self, import_id: str, *, actor: str
    ) -> tuple[dict[str, Any], list[Reject]]:
        """Commit an import (`commit`) and announce `import.completed`; the summary and the
        rows rejected as duplicates."""
        rejects: list[Reject] = []
        summary = await self.commit(import_id, actor=actor, on_reject=rejects.append)
        if self.bus is None:
            raise RuntimeError("an importer without a bus cannot announce its imports")
        await self.bus.publish_event(
            subjects.event("registry", "import.completed"),
            ImportCompleted(
                import_id=import_id,
                kind=summary["kind"],
                source=summary.get("source", ""),
                accepted=summary["accepted"],
                rejected=summary["rejected"],
                finished_at=datetime.fromisoformat(summary["at"]),
            ),
            event_id=event_id("import.completed", import_id),
        )
        if self.summaries is not None:
            try:
                await self.summaries.maybe_publish()
            except Exception:  # the import stands; the daily look sends the summary later
                log.exception("import %s: the two directories' summary failed", import_id)
        return summary, rejects

    async def _commit(
        self, conn: Any, import_id: str, *, actor: str, on_reject: Callable[[Reject], None]
    ) -> dict[str, Any]:
        run = await self._run(import_id)
        if run.state == "committed":  # by a commit that held the lock before us
            done: dict[str, Any] = run.summary or {}
            return done
        kind = run.kind
        _, _, key = KINDS[kind]
        at = datetime.now(UTC)
        totals = await store.staged_totals(conn, import_id)
        staged, invalid, raw_chunks = totals.staged, totals.invalid, totals.raw_chunks
        rows = (
            f"({staging.rows_sql(import_id, raw_chunks)})"
            if kind == "entities"
            else f"(SELECT * FROM {staging.stage_table(import_id)})"
        )
        await store.check_staging(conn, import_id, staged, raw_chunks)
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
                f"({staging.rows_sql(import_id, raw_chunks[:half])})",
                f"({staging.rows_sql(import_id, raw_chunks[half:], typed=False)})",
            )
            built = await bulk.build(self.db, conn, import_id=import_id, sources=sources, at=at)
            duplicates_seen = built is None
        async with conn.transaction():
            await store.begin_commit(conn, import_id)
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
                    await bulk.drop_built(conn, import_id=import_id)
            rebuild = applied is None and kind == "entities" and await store.bulk_load(conn, staged)
            if rebuild and not duplicates_seen:
                # The rebuilt primary key refuses a key that occurs twice: try without the
                # duplicate search (a full aggregate over the staged rows) and search only
                # when the key refuses.
                try:
                    async with conn.transaction():
                        applied = await store.apply_entities(conn, rows, at, rebuild=True)
                except asyncpg.UniqueViolationError:
                    log.info("import %s: duplicate keys, searching them", import_id)
            t1 = time.perf_counter()
            if applied is None:
                dup_rows = _report_duplicates(
                    await store.find_duplicates(conn, rows, key), key, on_reject
                )
                source = store.without_duplicates(rows, key)
                t1 = time.perf_counter()
                if kind == "entities":
                    rebuild = await store.bulk_load(conn, staged - dup_rows)
                    applied = await store.apply_entities(conn, source, at, rebuild=rebuild)
                else:
                    applied = await store.apply_inspectors(conn, source, at)
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
                "source": run.source,
            }
            await store.finish_run(conn, import_id, at, summary)
            await self.audit.append(
                conn,
                actor=actor,
                action=f"registry.import.{kind}",
                subject=import_id,
                data=summary,
            )
        await store.drop_raw_tables(conn, import_id, raw_chunks)
        return summary

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


def _report_duplicates(
    pairs: list[tuple[str, int]], key: str, on_reject: Callable[[Reject], None]
) -> int:
    """Report every row of a key that occurs more than once; the number of such rows."""
    dup_rows = 0
    for value, lines in duplicate_groups(pairs):
        error = duplicate_error(key, value, lines)
        for line in lines:
            on_reject(reject_entry(line, [error]))
            dup_rows += 1
    return dup_rows
