"""SQL of staging: each import's typed staging table `staged_rows_<import>`, and the raw chunk
tables `staged_rows_<import>_<chunk>` into which plain CSV chunks of entities go as they came,
by `COPY`.

A plain chunk (see `commands.staging`) goes to PostgreSQL unchanged — `COPY … (FORMAT csv)`
into a table of text columns of its own, where an identity column numbers the lines — except
the lines the screen did not pass: each is replaced by an empty record (so that the numbering
still matches the file), and its clean record, validated in Python, goes to the typed staging
table. At commit the chunk tables are read through `screen.CANONICAL_SQL`, which turns their
text into the records the validator would have produced.
"""

from __future__ import annotations

import io
from typing import Any

from services.kit.errors import Conflict
from services.registry.domain import screen
from services.registry.domain.rows import ENTITY_FIELDS, INSPECTOR_COLUMNS
from services.registry.store import Conn

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


def stage_table(import_id: str) -> str:
    """Name of the typed staging table of an import."""
    return f"staged_rows_{import_id}"


def raw_table(import_id: str, chunk: int) -> str:
    """Name of the text table holding chunk `chunk` of an import."""
    return f"staged_rows_{import_id}_{chunk}"


class ImportCommitting(Conflict):
    """Another request (on any copy) is committing this import right now."""

    # The code is the class's, so that it survives pickling out of an import worker.
    code = "import_committing"


class ImportCommitted(Conflict):
    """The import is committed: a chunk now would never be applied."""

    code = "import_committed"


def staging_lock(import_id: str) -> str:
    """The advisory lock key a chunk holds shared and a commit exclusively."""
    return f"import-stage:{import_id}"


async def create_stage_table(conn: Conn, import_id: str, kind: str) -> None:
    """The typed staging table of a new import of `kind`."""
    await conn.execute(
        f"CREATE UNLOGGED TABLE {stage_table(import_id)} "
        f"(chunk integer NOT NULL, line integer NOT NULL, {_STAGE_TYPES[kind]})"
        " WITH (autovacuum_enabled = false)"
    )


async def claim_chunk(conn: Conn, import_id: str, chunk: int) -> None:
    """Inside the chunk's transaction: make sure the import is open and no commit of it is
    running, serialise copies of the chunk and remove an earlier copy."""
    stage = stage_table(import_id)
    # A commit holds this lock exclusively from before it counts the chunks to its end
    # (`imports.lock_staging`): a chunk lands before the count or is refused, never lost.
    if not await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock_shared(hashtext($1))", staging_lock(import_id)
    ):
        raise ImportCommitting(
            f"import {import_id} is being committed right now: chunk {chunk} would not be "
            "applied; nothing was staged"
        )
    state = await conn.fetchval("SELECT state FROM import_runs WHERE import_id = $1", import_id)
    if state != "open":
        raise ImportCommitted(
            f"import {import_id} is already committed: chunk {chunk} would not be applied; "
            "nothing was staged"
        )
    # The lock serialises two copies of the same chunk sent at once.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"{import_id}:{chunk}")
    # Only a resent chunk has rows to replace: a DELETE would scan the whole staging table
    # (no index, to keep COPY fast), once per chunk of a five-million-row file.
    resent = await conn.fetchval(
        "SELECT 1 FROM import_chunks WHERE import_id = $1 AND chunk = $2", import_id, chunk
    )
    if resent:
        await conn.execute(f"DELETE FROM {stage} WHERE chunk = $1", chunk)
        await conn.execute(f"DROP TABLE IF EXISTS {raw_table(import_id, chunk)}")


async def count_chunk(
    conn: Conn, import_id: str, chunk: int, counts: list[int], *, raw_first_line: int | None = None
) -> None:
    """Record what chunk `chunk` staged ([accepted, rejected]; the first line of its raw table)."""
    await conn.execute(
        "INSERT INTO import_chunks (import_id, chunk, accepted, rejected, raw_first_line)"
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
    conn: Conn, import_id: str, kind: str, chunk: int, recs: Any, counts: list[int]
) -> None:
    """Replace chunk `chunk` of the import's staging table with `recs` (in one transaction)."""
    fields = ENTITY_FIELDS if kind == "entities" else INSPECTOR_COLUMNS
    stage = stage_table(import_id)
    async with conn.transaction():
        await claim_chunk(conn, import_id, chunk)
        await conn.copy_records_to_table(stage, records=recs, columns=["chunk", "line", *fields])
        await count_chunk(conn, import_id, chunk, counts)


async def copy_raw_chunk(
    conn: Conn,
    *,
    import_id: str,
    chunk: int,
    body: bytes,
    records: list[tuple[int, tuple[Any, ...]]],
) -> None:
    """Inside the chunk's transaction (after `claim_chunk`): `COPY` the plain CSV `body` into
    the chunk's own raw table, and the `records` ((line, record) of the lines the screen did
    not pass, validated in Python) into the typed staging table."""
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
            stage_table(import_id),
            records=[(chunk, line, *record) for line, record in records],
            columns=["chunk", "line", *ENTITY_FIELDS],
        )


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
            f"SELECT chunk, line, {', '.join(ENTITY_FIELDS)} FROM {stage_table(import_id)}"
            + ("" if typed else " WHERE false")
        )
    return " UNION ALL ".join(parts)
