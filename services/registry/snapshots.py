"""Freezing candidate lists (DESIGN §6 step 1): one pass over the directory for all strata.

All strata of a request are resolved by one query. The strata go into a temporary table (one
row per region prefix × risk class × entity type they name, each with the stratum's number and
letter code); rows sharing their other conditions form a branch, a hash join of the entities
(filtered once by those conditions) to its strata rows; exclusions are anti-joins. The pairs
come out of `COPY … TO STDOUT` as fixed-width lines "code\tUSCC", ordered by stratum number
and `uscc COLLATE "C"`, and `freeze_stream.StreamWriter` turns them into stored lists.

Exclusions come inline (`exclude_usccs`) or, for lists too large for a message, as an object
in the snapshots bucket (`exclude_object`, one USCC a line): each distinct object is read once,
streamed into a temporary file and `COPY`ed into the exclusion table, however many strata
name it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
import zlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from contracts.registry import FreezeReply, FreezeRequest, FrozenStratum
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.errors import Invalid, NotFound
from services.registry import sqlfilter
from services.registry.domain import uscc as uscc_mod
from services.registry.domain.freeze import MAX_STRATA, object_name, stratum_code
from services.registry.domain.rows import ENTITY_FIELDS
from services.registry.freeze_stream import StreamWriter, Uploader

log = logging.getLogger("spotcheck.registry.freeze")
# Writes the content of a named object of the snapshots bucket into a binary file;
# raises NotFound when there is no such object.
Fetcher = Callable[[str, BinaryIO], Awaitable[None]]
__all__ = [
    "Fetcher",
    "Uploader",
    "freeze",
    "load",
    "object_store_io",
    "snapshot_id_for",
    "stream_list",
]


def object_store_io(obs: Any) -> tuple[Uploader, Fetcher]:
    """`upload` and `fetch` over a nats-py object store bucket."""
    from nats.js.errors import NotFoundError as NatsNotFound

    async def upload(name: str, content: bytes | Path) -> None:
        if isinstance(content, Path):
            with content.open("rb") as f:
                await obs.put(name, f)
        else:
            await obs.put(name, content)

    async def fetch(name: str, into: BinaryIO) -> None:
        try:
            await obs.get(name, writeinto=into)
        except NatsNotFound:
            raise NotFound(f"no object {name!r} in the snapshots bucket") from None

    return upload, fetch


def snapshot_id_for(request_id: str) -> str:
    """The snapshot id of a request: the same request id always names the same snapshot."""
    return "s-" + hashlib.sha256(request_id.encode("utf-8")).hexdigest()[:24]


def _plan(
    req: FreezeRequest, suffix: str
) -> tuple[list[tuple[Any, ...]], list[tuple[int, str]], dict[str, int], str, list[Any]]:
    """Strata rows, inline exclusions, exclusion objects by set number, the query, its values."""
    rows: list[tuple[Any, ...]] = []
    inline: list[tuple[int, str]] = []
    objects: dict[str, int] = {}
    sets: list[tuple[int | None, int | None]] = []
    if len(req.strata) > MAX_STRATA:
        raise Invalid(f"at most {MAX_STRATA} strata in one freeze")
    for idx, s in enumerate(req.strata):
        inline_set = None
        for u in sorted(set(s.exclude_usccs)):
            code = uscc_mod.normalise(u)
            if not uscc_mod.is_valid(code):
                raise Invalid(f"stratum {s.stratum_id}: excluded USCC {u!r} is not valid")
            inline.append((idx, code))
            inline_set = idx
        object_set = None
        if s.exclude_object:
            object_set = objects.setdefault(s.exclude_object, -1 - len(objects))
        for r in sqlfilter.strata_rows(s.stratum_id, s.filter):
            rows.append(r)
            sets.append((inline_set, object_set))
    idx_of = {s.stratum_id: i for i, s in enumerate(req.strata)}
    groups, branches = sqlfilter.group_rows(rows)
    table = [
        (idx_of[r[0]], stratum_code(idx_of[r[0]]), g, *r, *st)
        for r, g, st in zip(rows, groups, sets, strict=True)
    ]
    params: list[Any] = []
    source = f"freeze_source_{suffix}" if req.as_of is not None else "entity"
    union = " UNION ALL ".join(
        sqlfilter.branch_sql(
            g,
            shape,
            common,
            source,
            params,
            suffix=suffix,
            inline=bool(inline),
            objects=bool(objects),
        )
        for g, (shape, common) in enumerate(branches)
    )
    query = f'SELECT code, uscc FROM ({union}) p ORDER BY idx, uscc COLLATE "C"'
    return table, sorted(set(inline)), objects, query, params


async def _load_objects(
    conn: Any, objects: dict[str, int], fetch: Fetcher | None, suffix: str
) -> list[Any]:
    """Read each exclusion object once into `freeze_exclude`; returns [name, lines] pairs."""
    if not objects:
        return []
    if fetch is None:
        raise Invalid("exclusion objects are not available here")
    await conn.execute("CREATE TEMP TABLE freeze_exclude_raw (line text) ON COMMIT DROP")
    loaded = []
    with tempfile.TemporaryDirectory(prefix="freeze-excl-") as tmp:
        for name, set_no in objects.items():
            path = Path(tmp) / "object.txt"
            with path.open("wb") as f:
                await fetch(name, f)
            await conn.execute("TRUNCATE freeze_exclude_raw")
            try:
                await conn.copy_to_table(
                    "freeze_exclude_raw", source=str(path), format="csv", delimiter="\x01"
                )
            except Exception as exc:  # a NUL byte, invalid UTF-8, …
                raise Invalid(f"exclusion object {name!r} is not a text list: {exc}") from exc
            # Normalised as USCCs are everywhere (trimmed, upper case); blank lines skipped.
            # The shape is checked here; a code with a wrong check character matches nothing.
            bad = await conn.fetchval(
                "SELECT u FROM (SELECT upper(btrim(line, E' \\t\\r')) u FROM freeze_exclude_raw)"
                " t WHERE u <> '' AND u !~ '^[0-9A-Z]{18}$' LIMIT 1"
            )
            if bad is not None:
                raise Invalid(f"exclusion object {name!r}: {bad[:40]!r} is not a USCC")
            status = await conn.execute(
                f"INSERT INTO freeze_exclude_{suffix} (set_no, uscc) "
                "SELECT DISTINCT $1::int, u FROM "
                "(SELECT upper(btrim(line, E' \\t\\r')) u FROM freeze_exclude_raw) t "
                "WHERE u <> ''",
                set_no,
            )
            loaded.append([name, int(status.split()[-1])])
    return loaded


async def freeze(
    db: Database,
    req: FreezeRequest,
    *,
    upload: Uploader,
    fetch: Fetcher | None = None,
    audit: AuditTrail | None = None,
) -> FreezeReply:
    """Freeze the strata of `req` (idempotent by `request_id`); the snapshot, its lists and
    (when `audit` is given) its audit entry are committed together. `upload` stores a list in
    the object store; `fetch` reads exclusion objects."""
    snapshot_id = snapshot_id_for(req.request_id)
    existing = await load(db, snapshot_id)
    if existing is not None:
        return existing
    ids = [s.stratum_id for s in req.strata]
    if len(set(ids)) != len(ids):
        raise Invalid("stratum ids must be unique within a request")
    if not ids:
        raise Invalid("a freeze needs at least one stratum")
    suffix = snapshot_id.removeprefix("s-")
    table, inline, objects, query, params = _plan(req, suffix)
    t0 = time.perf_counter()
    # Two connections: `conn` reads the directory in one repeatable-read snapshot and streams
    # it; `wconn` writes the snapshot in its own transaction (a connection busy with COPY OUT
    # cannot take other statements). Nothing of a failed freeze is committed.
    async with (
        db.pool.acquire() as conn,
        db.pool.acquire() as wconn,
        conn.transaction(isolation="repeatable_read"),
        wconn.transaction(),
    ):
        as_of: datetime = req.as_of or await conn.fetchval("SELECT now()")
        # Room for the (stratum, USCC) sort of a whole province in memory, and the plan
        # this query needs: hash joins (the strata rows are few, their row estimates poor)
        # with the scan, join and sort shared among parallel workers, as the ordered
        # `COPY … ORDER BY uscc` of the same rows would be.
        await conn.execute(
            "SET LOCAL work_mem = '256MB'; SET LOCAL enable_mergejoin = off; "
            "SET LOCAL enable_nestloop = off; SET LOCAL parallel_setup_cost = 0; "
            "SET LOCAL parallel_tuple_cost = 0"
        )
        await conn.execute(sqlfilter.tables_sql(suffix))
        await conn.copy_records_to_table(
            f"freeze_strata_{suffix}", records=table, columns=list(sqlfilter.STRATA_COLUMNS)
        )
        if inline:
            await conn.copy_records_to_table(
                f"freeze_exclude_{suffix}", records=inline, columns=["set_no", "uscc"]
            )
        loaded = await _load_objects(conn, objects, fetch, suffix)
        # statistics, so that the planner hashes the strata rather than the directory
        await conn.execute(f"ANALYZE freeze_strata_{suffix}")
        if inline or objects:
            await conn.execute(f"ANALYZE freeze_exclude_{suffix}")
        if req.as_of is not None:
            await _as_of_source(conn, as_of, suffix)
        await wconn.execute(
            "INSERT INTO snapshot (snapshot_id, request_id, as_of, request)"
            " VALUES ($1, $2, $3, $4)",
            snapshot_id,
            req.request_id,
            as_of,
            json.loads(req.model_dump_json()),
        )
        codes = {stratum_code(i).encode(): s.stratum_id for i, s in enumerate(req.strata)}
        writer = StreamWriter(wconn=wconn, snapshot_id=snapshot_id, strata=codes, upload=upload)
        try:
            t1 = time.perf_counter()
            await conn.copy_from_query(query, *params, output=writer.feed, format="text")
            t2 = time.perf_counter()
            await writer.end()
            for s in req.strata:
                if s.stratum_id not in writer.done:
                    await writer.upload_empty(s.stratum_id)
            await writer.close()
        except BaseException:
            await writer.abort()
            raise
        t3 = time.perf_counter()
        await conn.execute(sqlfilter.drop_sql(suffix))
        if req.as_of is not None:
            await conn.execute(f"DROP TABLE freeze_source_{suffix}")
        strata = []
        for s in req.strata:
            n, sha = writer.done[s.stratum_id]
            strata.append(
                FrozenStratum(
                    stratum_id=s.stratum_id,
                    n=n,
                    candidates_sha256=sha,
                    object_name=object_name(snapshot_id, s.stratum_id),
                )
            )
        await wconn.executemany(
            "INSERT INTO snapshot_stratum (snapshot_id, stratum_id, n, candidates_sha256,"
            " object_name, spec) VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (snapshot_id, f.stratum_id, f.n, f.candidates_sha256, f.object_name, spec)
                for f, spec in zip(
                    strata, (json.loads(s.model_dump_json()) for s in req.strata), strict=True
                )
            ],
        )
        log.info(
            "freeze %s: prepare %.2f s, query and stream %.2f s, last writes and uploads %.2f s",
            snapshot_id,
            t1 - t0,
            t2 - t1,
            t3 - t2,
        )
        # Strata in stratum-id byte order, as `load` returns them and commitments list them.
        strata.sort(key=lambda x: x.stratum_id.encode())
        reply = FreezeReply(snapshot_id=snapshot_id, as_of=as_of, strata=strata)
        if audit is not None:
            await audit.append(
                cast(Any, wconn),
                actor="rpc.freeze",
                action="registry.snapshot.frozen",
                subject=snapshot_id,
                data={
                    "request_id": req.request_id,
                    "as_of": as_of.isoformat(),
                    "strata": [[s.stratum_id, s.n, s.candidates_sha256] for s in strata],
                    "exclusion_objects": loaded,
                },
            )
    return reply


async def _as_of_source(conn: Any, as_of: datetime, suffix: str) -> None:
    cols = ", ".join(ENTITY_FIELDS)
    # CREATE TABLE AS takes no parameters; a timestamp literal from a datetime is safe.
    literal = f"TIMESTAMPTZ '{as_of.isoformat()}'"
    await conn.execute(
        f"CREATE UNLOGGED TABLE freeze_source_{suffix} AS "
        f"SELECT {cols} FROM entity WHERE valid_from <= {literal} UNION ALL "
        f"SELECT {cols} FROM entity_history WHERE valid_from <= {literal} "
        f"AND {literal} < valid_to"
    )
    await conn.execute(f"ANALYZE freeze_source_{suffix}")


async def load(db: Database, snapshot_id: str) -> FreezeReply | None:
    """A snapshot already frozen, or None."""
    async with db.pool.acquire() as conn:
        snap = await conn.fetchrow("SELECT * FROM snapshot WHERE snapshot_id = $1", snapshot_id)
        if snap is None:
            return None
        rows = await conn.fetch(
            "SELECT stratum_id, n, candidates_sha256, object_name FROM snapshot_stratum "
            "WHERE snapshot_id = $1 ORDER BY stratum_id",
            snapshot_id,
        )
    return FreezeReply(
        snapshot_id=snapshot_id,
        as_of=snap["as_of"],
        strata=[FrozenStratum(**dict(r)) for r in rows],
    )


async def stream_list(db: Database, snapshot_id: str, stratum_id: str) -> Any:
    """The blocks of one frozen list, in order, as an async iterator of bytes."""
    async with db.pool.acquire() as conn:
        found = await conn.fetchval(
            "SELECT 1 FROM snapshot_stratum WHERE snapshot_id = $1 AND stratum_id = $2",
            snapshot_id,
            stratum_id,
        )
    if not found:
        raise NotFound(f"no stratum {stratum_id} in snapshot {snapshot_id}")

    async def blocks() -> Any:
        block = 0
        while True:
            async with db.pool.acquire() as conn:
                row = await conn.fetchrow(
                    "SELECT data, deflated FROM snapshot_block WHERE snapshot_id = $1"
                    " AND stratum_id = $2 AND block = $3",
                    snapshot_id,
                    stratum_id,
                    block,
                )
            if row is None:
                return
            yield zlib.decompress(row["data"]) if row["deflated"] else bytes(row["data"])
            block += 1

    return blocks()
