"""Staging plain CSV chunks of entities as they are: screened by column, loaded by `COPY`.

A chunk whose lines are each one CSV record (`screen.is_plain`) and whose columns are in field
order is screened with NumPy (`screen.screen_entities`). Its text then goes to PostgreSQL
unchanged — `COPY … (FORMAT csv)` into a table of text columns of its own,
`stage_<import>_<chunk>`, where an identity column numbers the lines — except the lines the
screen did not pass: each is replaced by an empty record (so that the numbering still matches
the file) and validated by `validate_entity` as in the general path, its clean record staged in
the typed staging table or its reasons returned as a reject. At commit the chunk tables are read
through `screen.CANONICAL_SQL`, which turns their text into the records the validator would
have produced.
"""

from __future__ import annotations

import io
from typing import Any

from services.registry.domain import screen
from services.registry.domain.parsing import BadRow, map_header, read_csv, reject_entry
from services.registry.domain.rows import (
    ENTITY_FIELDS,
    ENTITY_REQUIRED,
    Vocabulary,
    validate_entity,
)

_EMPTY_RECORD = b"," * (len(ENTITY_FIELDS) - 1) + b"\n"
# Smaller chunks are validated row by row into the typed staging table: a table per chunk
# pays off only for large chunks (the CLI sends 50,000 rows), and bounds how many tables one
# import makes (a 20-million-row province: at most 2,000).
RAW_MIN_LINES = 10_000
# Columns of a chunk table: text as it came, but dates parsed by COPY itself (the screen
# passes only real YYYY-MM-DD dates or empty fields), so that this work is done while chunks
# are staged, side by side, rather than in the commit.
_TYPES = {
    "uscc": 'text COLLATE "C"',
    "region_code": 'text COLLATE "C"',
    "industry_code": 'text COLLATE "C"',
    "risk_class_date": "date",
    "established": "date",
}
RAW_COLUMNS = ", ".join(f"{c} {_TYPES.get(c, 'text')}" for c in ENTITY_FIELDS)


def raw_table(import_id: str, chunk: int) -> str:
    """Name of the text table holding chunk `chunk` of an import."""
    return f"stage_{import_id}_{chunk}"


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


async def stage(
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
    table = raw_table(import_id, chunk)
    # No autovacuum: the table is read once and dropped, and a vacuum that has started on it
    # holds up the commit's DROP for a second (deadlock_timeout) before it gives way
    await conn.execute(
        f"CREATE UNLOGGED TABLE {table} (ordinal integer GENERATED ALWAYS AS IDENTITY "
        f"(MINVALUE 0 START WITH 0), {RAW_COLUMNS}) WITH (autovacuum_enabled = false)"
    )
    # FREEZE (allowed: the table is new in this transaction) writes the rows as already
    # visible to all, so that the commit's reading them does not rewrite every page to set
    # their hint bits (3.5 s of a 5-million-row first load)
    await conn.copy_to_table(
        table, source=io.BytesIO(body), columns=list(ENTITY_FIELDS), format="csv", freeze=True
    )
    if records:
        await conn.copy_records_to_table(
            f"stage_{import_id}",
            records=[(chunk, line, *record) for line, record in records],
            columns=["chunk", "line", *ENTITY_FIELDS],
        )
    accepted = lines_total - len(suspect) + len(records)
    return [accepted, len(rejects)], rejects


def rows_sql(import_id: str, raw_chunks: list[tuple[int, int]], *, typed: bool = True) -> str:
    """One query over the rows of an import: (chunk, line, *ENTITY_FIELDS) from the typed
    staging table (unless `typed` is false) and from each raw chunk table (given as (chunk,
    first line))."""
    parts = [
        f"SELECT {chunk} AS chunk, {first_line} + ordinal AS line, {screen.CANONICAL_SQL} "
        f"FROM {raw_table(import_id, chunk)} WHERE uscc IS NOT NULL"
        for chunk, first_line in raw_chunks
    ]
    if typed or not parts:
        parts.append(
            f"SELECT chunk, line, {', '.join(ENTITY_FIELDS)} FROM stage_{import_id}"
            + ("" if typed else " WHERE false")
        )
    return " UNION ALL ".join(parts)
