"""SQL of snapshots: the freeze query's tables and stream, frozen snapshots and their blocks.

The freeze reads the directory on one connection in one repeatable-read snapshot (the strata
and exclusion tables of `filters.tables_sql`, then `COPY … TO STDOUT` of the query) and writes
the snapshot on another (`insert_snapshot`, `copy_blocks`, `insert_strata`).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from contracts.registry import FreezeReply, FreezeRequest, FrozenStratum
from services.kit.db import Database
from services.kit.errors import Invalid
from services.registry.domain.rows import ENTITY_FIELDS
from services.registry.store import Conn, filters


async def load(db: Database, snapshot_id: str) -> FreezeReply | None:
    """A snapshot already frozen, or None."""
    async with db.pool.acquire() as conn:
        snap = await conn.fetchrow("SELECT * FROM snapshots WHERE snapshot_id = $1", snapshot_id)
        if snap is None:
            return None
        rows = await conn.fetch(
            "SELECT stratum_id, n, candidates_sha256, object_name FROM snapshot_strata "
            "WHERE snapshot_id = $1 ORDER BY stratum_id",
            snapshot_id,
        )
    return FreezeReply(
        snapshot_id=snapshot_id,
        as_of=snap["as_of"],
        strata=[FrozenStratum(**dict(r)) for r in rows],
    )


async def has_stratum(db: Database, snapshot_id: str, stratum_id: str) -> bool:
    """Whether a snapshot has a stratum of that id."""
    async with db.pool.acquire() as conn:
        found = await conn.fetchval(
            "SELECT 1 FROM snapshot_strata WHERE snapshot_id = $1 AND stratum_id = $2",
            snapshot_id,
            stratum_id,
        )
    return bool(found)


async def blocks(db: Database, snapshot_id: str, stratum_id: str) -> AsyncIterator[bytes]:
    """The blocks of one frozen list, in order (a connection per block: a slow reader holds
    none)."""
    block = 0
    while True:
        async with db.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT data, deflated FROM snapshot_blocks WHERE snapshot_id = $1"
                " AND stratum_id = $2 AND block = $3",
                snapshot_id,
                stratum_id,
                block,
            )
        if row is None:
            return
        yield zlib.decompress(row["data"]) if row["deflated"] else bytes(row["data"])
        block += 1


async def now(conn: Conn) -> datetime:
    """The transaction's time."""
    at: datetime = await conn.fetchval("SELECT now()")
    return at


async def prepare_freeze(
    conn: Conn,
    *,
    suffix: str,
    strata: list[tuple[Any, ...]],
    inline: list[tuple[int, str]],
) -> None:
    """On the reading connection, in its transaction: the session settings of the freeze
    query, its strata and exclusion tables, and the inline exclusions."""
    # Room for the (stratum, USCC) sort of a whole province in memory, and the plan
    # this query needs: hash joins (the strata rows are few, their row estimates poor)
    # with the scan, join and sort shared among parallel workers, as the ordered
    # `COPY … ORDER BY uscc` of the same rows would be.
    await conn.execute(
        "SET LOCAL work_mem = '256MB'; SET LOCAL enable_mergejoin = off; "
        "SET LOCAL enable_nestloop = off; SET LOCAL parallel_setup_cost = 0; "
        "SET LOCAL parallel_tuple_cost = 0"
    )
    await conn.execute(filters.tables_sql(suffix))
    await conn.copy_records_to_table(
        f"freeze_strata_{suffix}", records=strata, columns=list(filters.STRATA_COLUMNS)
    )
    if inline:
        await conn.copy_records_to_table(
            f"freeze_exclusions_{suffix}", records=inline, columns=["set_no", "uscc"]
        )


async def start_exclusion_objects(conn: Conn) -> None:
    """The temporary table exclusion objects are read through (see `load_exclusion_object`)."""
    await conn.execute("CREATE TEMP TABLE freeze_exclusion_lines (line text) ON COMMIT DROP")


async def load_exclusion_object(
    conn: Conn, *, name: str, path: Path, set_no: int, suffix: str
) -> int:
    """`COPY` an exclusion object (a file of one USCC a line) into exclusion set `set_no`;
    the number of distinct USCCs. Invalid when it is not a list of USCCs."""
    await conn.execute("TRUNCATE freeze_exclusion_lines")
    try:
        await conn.copy_to_table(
            "freeze_exclusion_lines", source=str(path), format="csv", delimiter="\x01"
        )
    except Exception as exc:  # a NUL byte, invalid UTF-8, …
        raise Invalid(f"exclusion object {name!r} is not a text list: {exc}") from exc
    # Normalised as USCCs are everywhere (trimmed, upper case); blank lines skipped.
    # The shape is checked here; a code with a wrong check character matches nothing.
    bad = await conn.fetchval(
        "SELECT u FROM (SELECT upper(btrim(line, E' \\t\\r')) u FROM freeze_exclusion_lines)"
        " t WHERE u <> '' AND u !~ '^[0-9A-Z]{18}$' LIMIT 1"
    )
    if bad is not None:
        raise Invalid(f"exclusion object {name!r}: {bad[:40]!r} is not a USCC")
    status = await conn.execute(
        f"INSERT INTO freeze_exclusions_{suffix} (set_no, uscc) "
        "SELECT DISTINCT $1::int, u FROM "
        "(SELECT upper(btrim(line, E' \\t\\r')) u FROM freeze_exclusion_lines) t "
        "WHERE u <> ''",
        set_no,
    )
    return int(status.split()[-1])


async def analyze(conn: Conn, *, suffix: str, exclusions: bool) -> None:
    """Statistics, so that the planner hashes the strata rather than the directory."""
    await conn.execute(f"ANALYZE freeze_strata_{suffix}")
    if exclusions:
        await conn.execute(f"ANALYZE freeze_exclusions_{suffix}")


async def as_of_source(conn: Conn, as_of: datetime, suffix: str) -> None:
    """The directory as it was at `as_of`, as table `freeze_entities_<suffix>`."""
    cols = ", ".join(ENTITY_FIELDS)
    # CREATE TABLE AS takes no parameters; a timestamp literal from a datetime is safe.
    literal = f"TIMESTAMPTZ '{as_of.isoformat()}'"
    await conn.execute(
        f"CREATE UNLOGGED TABLE freeze_entities_{suffix} AS "
        f"SELECT {cols} FROM entities WHERE valid_from <= {literal} UNION ALL "
        f"SELECT {cols} FROM entity_history WHERE valid_from <= {literal} "
        f"AND {literal} < valid_to"
    )
    await conn.execute(f"ANALYZE freeze_entities_{suffix}")


async def stream(
    conn: Conn, query: str, params: list[Any], output: Callable[[bytes], Awaitable[None]]
) -> None:
    """Run the freeze query, its lines (text format) delivered to `output`."""
    await conn.copy_from_query(query, *params, output=output, format="text")


async def drop_freeze_tables(conn: Conn, *, suffix: str, as_of_source: bool) -> None:
    """Drop the freeze's own tables."""
    await conn.execute(filters.drop_sql(suffix))
    if as_of_source:
        await conn.execute(f"DROP TABLE freeze_entities_{suffix}")


async def insert_snapshot(
    wconn: Conn, *, snapshot_id: str, req: FreezeRequest, as_of: datetime
) -> None:
    """On the writing connection: the snapshot's row."""
    await wconn.execute(
        "INSERT INTO snapshots (snapshot_id, request_id, as_of, request) VALUES ($1, $2, $3, $4)",
        snapshot_id,
        req.request_id,
        as_of,
        json.loads(req.model_dump_json()),
    )


async def copy_blocks(wconn: Conn, records: list[tuple[str, str, int, bytes, bool]]) -> None:
    """On the writing connection: (snapshot, stratum, block number, data, deflated) rows."""
    await wconn.copy_records_to_table(
        "snapshot_blocks",
        records=records,
        columns=["snapshot_id", "stratum_id", "block", "data", "deflated"],
    )


async def insert_strata(
    wconn: Conn, snapshot_id: str, strata: list[tuple[FrozenStratum, dict[str, Any]]]
) -> None:
    """On the writing connection: the frozen strata with their specs."""
    await wconn.executemany(
        "INSERT INTO snapshot_strata (snapshot_id, stratum_id, n, candidates_sha256,"
        " object_name, spec) VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (snapshot_id, f.stratum_id, f.n, f.candidates_sha256, f.object_name, spec)
            for f, spec in strata
        ],
    )
