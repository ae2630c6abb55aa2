"""Staging import chunks in worker processes, so that parsing and validating (pure Python,
the bulk of an import's CPU time) run on every core while the service keeps answering.

A worker receives a chunk's text, parses and validates it with the domain code, and `COPY`s
the valid rows into the import's staging table over its own connection, replacing any earlier
copy of the same chunk in one transaction. Only counts and the rejected rows travel back.

A plain CSV chunk of entities (each line one CSV record, `screen.is_plain`, columns in field
order) is screened by column with NumPy (`screen.screen_entities`) and its text goes to
PostgreSQL unchanged (`store.staging.copy_raw_chunk`); only the lines the screen did not pass
are validated row by row by `validate_entity`, as in the general path.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.registry.domain import screen
from services.registry.domain.fastrows import EntityChecker
from services.registry.domain.parsing import (
    BadRow,
    FileProblem,
    RawRow,
    map_header,
    read_csv,
    read_jsonl,
    reject_entry,
)
from services.registry.domain.rows import (
    ENTITY_FIELDS,
    ENTITY_REQUIRED,
    INSPECTOR_FIELDS,
    INSPECTOR_REQUIRED,
    Vocabulary,
    validate_entity,
    validate_inspector,
)
from services.registry.store import staging


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


# Smaller chunks are validated row by row into the typed staging table: a table per chunk
# pays off only for large chunks (the CLI sends 50,000 rows), and bounds how many tables one
# import makes (a 20-million-row province: at most 2,000).
RAW_MIN_LINES = 10_000
_EMPTY_RECORD = b"," * (len(ENTITY_FIELDS) - 1) + b"\n"


def split_header(data: bytes) -> tuple[bytes, bytes] | None:
    """(header line, the rest) of a plain entity chunk of at least RAW_MIN_LINES lines whose
    columns are in field order, else None."""
    nl = data.find(b"\n")
    if nl < 0:
        return None
    try:
        header = data[:nl].decode("utf-8").lstrip("\ufeff").rstrip("\r")
    except UnicodeDecodeError:
        return None
    if '"' in header or map_header(header.split(","), ENTITY_FIELDS, ENTITY_REQUIRED) != list(
        range(len(ENTITY_FIELDS))
    ):
        return None
    body = data[nl + 1 :]
    if body and not body.endswith(b"\n"):
        body += b"\n"
    if body.count(b"\n") < RAW_MIN_LINES or not screen.is_plain(body):
        return None
    return data[:nl], body


def _general(
    header: bytes, lines: list[bytes], numbers: list[int], vocab: Vocabulary
) -> tuple[list[tuple[int, tuple[Any, ...]]], list[dict[str, Any]]]:
    """Validate lines the screen did not pass, as the general path would: clean records with
    their file line numbers, and rejects."""
    text = (header + b"\n" + b"\n".join(lines) + b"\n").decode("utf-8")
    records: list[tuple[int, tuple[Any, ...]]] = []
    rejects: list[dict[str, Any]] = []
    # no quotes or carriage returns: physical line k + 2 of `text` is `numbers[k]` of the file
    for row in read_csv(io.StringIO(text, newline=""), ENTITY_FIELDS, ENTITY_REQUIRED):
        line = numbers[row.line - 2]
        if isinstance(row, BadRow):
            rejects.append(reject_entry(line, row.errors, row.raw))
            continue
        record, errors = validate_entity(row.values, vocab)
        if record is None:
            rejects.append(
                reject_entry(line, errors, dict(zip(ENTITY_FIELDS, row.values, strict=True)))
            )
        else:
            records.append((line, record))
    return records, rejects


async def stage_plain(
    conn: Any,
    *,
    import_id: str,
    chunk: int,
    header: bytes,
    body: bytes,
    first_line: int,
    vocab: Vocabulary,
) -> tuple[list[int], list[dict[str, Any]]]:
    """Stage a plain chunk inside the caller's transaction (after the chunk was claimed);
    returns [accepted, rejected] and the rejects."""
    # Not decoded here: COPY checks the encoding (CharacterNotInRepertoireError, reported
    # by the caller like a UnicodeDecodeError)
    suspect = screen.screen_entities(body, vocab)
    records: list[tuple[int, tuple[Any, ...]]] = []
    rejects: list[dict[str, Any]] = []
    lines_total = body.count(b"\n")
    if suspect:
        lines = body.split(b"\n")
        picked = [lines[i] for i in suspect]
        records, rejects = _general(header, picked, [first_line + i for i in suspect], vocab)
        for i in suspect:
            lines[i] = _EMPTY_RECORD[:-1]
        body = b"\n".join(lines)
    await staging.copy_raw_chunk(conn, import_id=import_id, chunk=chunk, body=body, records=records)
    accepted = lines_total - len(suspect) + len(records)
    return [accepted, len(rejects)], rejects


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

    A plain CSV chunk of entities is screened by column and loaded as it is (`stage_plain`);
    every other chunk is validated row by row in Python.
    """
    plain = None
    if kind == "entities" and fmt == "csv":
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        plain = split_header(data)
    if plain is not None:
        header, body = plain
        try:
            async with conn.transaction():
                await staging.claim_chunk(conn, import_id, chunk)
                counts, rejects = await stage_plain(
                    conn,
                    import_id=import_id,
                    chunk=chunk,
                    header=header,
                    body=body,
                    first_line=first_line,
                    vocab=vocab,
                )
                await staging.count_chunk(conn, import_id, chunk, counts, raw_first_line=first_line)
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
    await staging.copy_chunk(conn, import_id, kind, chunk, recs, counts)
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
