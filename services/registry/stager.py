"""Staging import chunks in worker processes, so that parsing and validating (pure Python,
the bulk of an import's CPU time) run on every core while the service keeps answering.

A worker receives a chunk's text, parses and validates it with the domain code, and `COPY`s
the valid rows into the import's staging table over its own connection, replacing any earlier
copy of the same chunk in one transaction. Only counts and the rejected rows travel back.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.registry import rawstage
from services.registry.domain.fastrows import EntityChecker
from services.registry.domain.parsing import (
    BadRow,
    FileProblem,
    RawRow,
    read_csv,
    read_jsonl,
    reject_entry,
)
from services.registry.domain.rows import (
    ENTITY_FIELDS,
    ENTITY_REQUIRED,
    INSPECTOR_COLUMNS,
    INSPECTOR_FIELDS,
    INSPECTOR_REQUIRED,
    Vocabulary,
    validate_inspector,
)


@dataclass(frozen=True)
class StageJob:
    """Everything a worker needs for one chunk (picklable)."""

    database_url: str
    schema: str
    import_id: str
    kind: str
    chunk: int
    text: str | bytes
    first_line: int
    fmt: str
    risk_classes: tuple[str, ...]


def raw_rows(kind: str, text: str, first_line: int, fmt: str) -> tuple[Any, int]:
    """The records of a chunk, and what to add to their line numbers to make them absolute
    within the whole file."""
    fields, required = (
        (ENTITY_FIELDS, ENTITY_REQUIRED)
        if kind == "entities"
        else (INSPECTOR_FIELDS, INSPECTOR_REQUIRED)
    )
    if fmt == "csv":
        rows: Any = read_csv(io.StringIO(text, newline=""), fields, required)
        return rows, first_line - 2  # the chunk's header is its line 1
    # lines as the CLI counts them (\n, \r, \r\n); str.splitlines would also cut at U+2028
    # and U+0085, which JSON allows unescaped inside strings
    return read_jsonl(io.StringIO(text, newline=""), fields), first_line - 1


def rows_of(kind: str, text: str, first_line: int, fmt: str) -> Any:
    """The records of a chunk with line numbers made absolute within the whole file."""
    rows, shift = raw_rows(kind, text, first_line, fmt)
    for row in rows:
        if isinstance(row, RawRow):
            yield RawRow(row.line + shift, row.values) if shift else row
        else:
            yield BadRow(row.line + shift, row.errors, row.raw) if shift else row


_CHECKERS: dict[Vocabulary, EntityChecker] = {}


def _checker(vocab: Vocabulary) -> EntityChecker:
    """One checker per vocabulary and process, so that its memos serve every chunk."""
    if vocab not in _CHECKERS:
        _CHECKERS.clear()
        _CHECKERS[vocab] = EntityChecker(vocab)
    return _CHECKERS[vocab]


def records(
    kind: str,
    chunk: int,
    rows: Any,
    vocab: Vocabulary,
    rejects: list[dict[str, Any]],
    counts: list[int],
    shift: int = 0,
) -> Any:
    """Valid rows as staging records `(chunk, line + shift, *fields)`; rejects (with their
    line + shift) are appended."""
    fields = ENTITY_FIELDS if kind == "entities" else INSPECTOR_FIELDS
    if kind == "entities":
        check = _checker(vocab).check
    else:

        def check(values: Any) -> Any:
            return validate_inspector(values, vocab)

    for item in rows:
        if isinstance(item, BadRow):
            counts[1] += 1
            rejects.append(reject_entry(item.line + shift, item.errors, item.raw))
            continue
        record, errors = check(item.values)
        if record is None:
            counts[1] += 1
            raw = dict(zip(fields, item.values, strict=True))
            rejects.append(reject_entry(item.line + shift, errors, raw))
            continue
        counts[0] += 1
        yield (chunk, item.line + shift, *record)


async def _claim_chunk(conn: Any, import_id: str, chunk: int) -> None:
    """Inside the chunk's transaction: serialise copies of it and remove an earlier copy."""
    stage = f"stage_{import_id}"
    # The lock serialises two copies of the same chunk sent at once.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{import_id}:{chunk}")
    # Only a resent chunk has rows to replace: a DELETE would scan the whole staging table
    # (no index, to keep COPY fast), once per chunk of a five-million-row file.
    resent = await conn.fetchval(
        "SELECT 1 FROM import_chunk WHERE import_id = $1 AND chunk = $2", import_id, chunk
    )
    if resent:
        await conn.execute(f"DELETE FROM {stage} WHERE chunk = $1", chunk)
        await conn.execute(f"DROP TABLE IF EXISTS {rawstage.raw_table(import_id, chunk)}")


async def _count_chunk(
    conn: Any, import_id: str, chunk: int, counts: list[int], *, raw_first_line: int | None = None
) -> None:
    await conn.execute(
        "INSERT INTO import_chunk (import_id, chunk, accepted, rejected, raw_first_line)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (import_id, chunk)"
        " DO UPDATE SET accepted = EXCLUDED.accepted, rejected = EXCLUDED.rejected,"
        " raw_first_line = EXCLUDED.raw_first_line",
        import_id,
        chunk,
        counts[0],
        counts[1],
        raw_first_line,
    )


async def copy_chunk(
    conn: Any, import_id: str, kind: str, chunk: int, recs: Any, counts: list[int]
) -> None:
    """Replace chunk `chunk` of the import's staging table with `recs` (in one transaction)."""
    fields = ENTITY_FIELDS if kind == "entities" else INSPECTOR_COLUMNS
    stage = f"stage_{import_id}"
    async with conn.transaction():
        await _claim_chunk(conn, import_id, chunk)
        await conn.copy_records_to_table(stage, records=recs, columns=["chunk", "line", *fields])
        await _count_chunk(conn, import_id, chunk, counts)


async def stage_text(
    conn: Any,
    *,
    import_id: str,
    kind: str,
    chunk: int,
    text: str | bytes,
    first_line: int,
    fmt: str,
    vocab: Vocabulary,
) -> tuple[list[int], list[dict[str, Any]]]:
    """Stage a chunk given as text (or its UTF-8 bytes); returns [accepted, rejected] and the
    rejects.

    A plain CSV chunk of entities is screened by column and loaded as it is (`rawstage`);
    every other chunk is validated row by row in Python.
    """
    plain = None
    if kind == "entities" and fmt == "csv":
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        plain = rawstage.split_header(data)
    if plain is not None:
        header, body = plain
        try:
            async with conn.transaction():
                await _claim_chunk(conn, import_id, chunk)
                counts, rejects = await rawstage.stage(
                    conn,
                    import_id=import_id,
                    chunk=chunk,
                    header=header,
                    body=body,
                    first_line=first_line,
                    vocab=vocab,
                )
                await _count_chunk(conn, import_id, chunk, counts, raw_first_line=first_line)
            return counts, rejects
        except (UnicodeDecodeError, asyncpg.CharacterNotInRepertoireError) as exc:
            raise FileProblem(
                "数据块不是UTF-8编码（命令行会转换GB18030）",
                "a chunk must be UTF-8 (the CLI converts GB18030)",
            ) from exc
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileProblem(
                "数据块不是UTF-8编码（命令行会转换GB18030）",
                "a chunk must be UTF-8 (the CLI converts GB18030)",
            ) from exc
    rejects = []
    counts = [0, 0]
    rows, shift = raw_rows(kind, text, first_line, fmt)
    recs = records(kind, chunk, rows, vocab, rejects, counts, shift)
    await copy_chunk(conn, import_id, kind, chunk, recs, counts)
    return counts, rejects


# A worker process keeps one event loop and one connection per database and schema for all
# the chunks it stages: a new connection per chunk costs a server process each time.
_LOOP: asyncio.AbstractEventLoop | None = None
_CONNS: dict[tuple[str, str], Any] = {}


async def _connection(job: StageJob) -> Any:
    key = (job.database_url, job.schema)
    conn = _CONNS.get(key)
    if conn is None or conn.is_closed():
        conn = await asyncpg.connect(
            job.database_url, server_settings={"search_path": f'"{job.schema}",public'}
        )
        _CONNS[key] = conn
    return conn


async def run_job(conn: Any, job: StageJob) -> tuple[list[int], list[dict[str, Any]]]:
    """Stage the chunk of `job` over `conn` (in a worker process or, without workers, in the
    service); returns [accepted, rejected] and the rejects."""
    return await stage_text(
        conn,
        import_id=job.import_id,
        kind=job.kind,
        chunk=job.chunk,
        text=job.text,
        first_line=job.first_line,
        fmt=job.fmt,
        vocab=Vocabulary(risk_classes=frozenset(job.risk_classes)),
    )


async def _stage(job: StageJob) -> dict[str, Any]:
    conn = await _connection(job)
    try:
        counts, rejects = await run_job(conn, job)
    except BaseException:
        # a failed chunk may leave the connection in any state: the next one opens afresh
        _CONNS.pop((job.database_url, job.schema), None)
        await conn.close()
        raise
    return {"accepted": counts[0], "rejected": counts[1], "rejects": rejects}


def warm_up(workers: int) -> None:
    """Entry point in a worker process: load what staging needs (NumPy, the code tables), and
    hold the worker a moment so that each of the `workers` warm-up calls lands on its own."""
    import time

    from services.registry.domain import screen

    screen.warm()
    if workers > 1:
        time.sleep(0.2)


def stage_chunk(job: StageJob) -> dict[str, Any]:
    """Entry point in a worker process: stage one chunk, return counts and rejects."""
    global _LOOP
    if _LOOP is None or _LOOP.is_closed():
        _LOOP = asyncio.new_event_loop()
    return _LOOP.run_until_complete(_stage(job))
