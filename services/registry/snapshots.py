"""Freezing candidate lists (DESIGN §6 step 1): one pass over the directory for all strata.

All strata of a request are resolved by one query: the strata go into a temporary table (one
row per region prefix), joined to the entities on the region prefix with the other conditions
as join filters, and the pairs come out of `COPY … TO STDOUT` ordered by stratum id and USCC
(both `COLLATE "C"`). The stream is cut into strata as it arrives; each stratum's list is hashed
incrementally, written to PostgreSQL in blocks and to a spool file for the NATS object store.
Only one block of one stratum is held at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import tempfile
import time
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
from services.registry.domain.freeze import CandidateHasher, object_name
from services.registry.domain.rows import ENTITY_FIELDS

log = logging.getLogger("spotcheck.registry.freeze")
BLOCK_BYTES = 1 << 20
_BOUNDARY = re.compile(rb"(?m)^([^\t\n]+)\t")
Uploader = Callable[[str, Path], Awaitable[None]]


def snapshot_id_for(request_id: str) -> str:
    """The snapshot id of a request: the same request id always names the same snapshot."""
    return "s-" + hashlib.sha256(request_id.encode("utf-8")).hexdigest()[:24]


def _freeze_query(shapes: list[tuple[int, bool, bool]], source: str, *, with_excludes: bool) -> str:
    joins = " UNION ALL ".join(
        sqlfilter.join_branch(shape, source, with_excludes) for shape in shapes
    )
    # The stratum id is written only on its first line; every other line is "\tUSCC", so a
    # block of one stratum becomes its list by deleting the tabs (a C-speed bytes operation).
    return (
        "SELECT CASE WHEN lag(stratum_id) OVER w IS DISTINCT FROM stratum_id "
        "THEN stratum_id ELSE '' END, uscc "
        f"FROM ({joins}) pairs WINDOW w AS (ORDER BY stratum_id, uscc) "
        "ORDER BY stratum_id, uscc"
    )


class _Writer:
    """Receives the COPY stream and turns it into per-stratum lists."""

    def __init__(self, conn: Any, snapshot_id: str, spool: Path, upload: Uploader) -> None:
        self.conn = conn
        self.snapshot_id = snapshot_id
        self.spool = spool
        self.upload = upload
        self.done: dict[str, tuple[int, str]] = {}
        self.pending = b""
        self.current: str | None = None
        self.hasher = CandidateHasher()
        self.block = bytearray()
        self.block_no = 0
        self.file: BinaryIO | None = None
        self.uploads: list[asyncio.Task[None]] = []
        self.limit = asyncio.Semaphore(4)

    async def feed(self, data: bytes) -> None:
        buf = self.pending + data
        cut = buf.rfind(b"\n") + 1
        self.pending = buf[cut:]
        buf = buf[:cut]
        pos = 0
        for m in _BOUNDARY.finditer(buf):
            await self._add(buf[pos : m.start()])
            await self._start(m.group(1).decode("ascii"))
            pos = m.end()
        await self._add(buf[pos:])

    async def _add(self, segment: bytes) -> None:
        if not segment:
            return
        if self.current is None:
            raise RuntimeError("freeze stream did not start with a stratum id")
        lines = segment.replace(b"\t", b"")
        self.hasher.add_block(lines)
        self.block += lines
        assert self.file is not None
        self.file.write(lines)
        if len(self.block) >= BLOCK_BYTES:
            await self._flush_block()

    async def _flush_block(self) -> None:
        if self.block and self.current is not None:
            await self.conn.execute(
                "INSERT INTO snapshot_block (snapshot_id, stratum_id, block, data) "
                "VALUES ($1, $2, $3, $4)",
                self.snapshot_id,
                self.current,
                self.block_no,
                bytes(self.block),
            )
            self.block_no += 1
            self.block = bytearray()

    async def _start(self, stratum_id: str) -> None:
        await self.finish()
        self.current = stratum_id
        self.hasher = CandidateHasher()
        self.block_no = 0
        self.file = (self.spool / f"{stratum_id}.txt").open("wb")

    async def finish(self) -> None:
        """Close the current stratum: last block, commitment, object upload in the background."""
        if self.current is None:
            return
        await self._flush_block()
        assert self.file is not None
        self.file.close()
        self.done[self.current] = (self.hasher.n, self.hasher.hexdigest())
        name = object_name(self.snapshot_id, self.current)
        path = self.spool / f"{self.current}.txt"
        await self.limit.acquire()
        task = asyncio.create_task(self._upload(name, path))
        self.uploads.append(task)
        self.current = None

    async def _upload(self, name: str, path: Path) -> None:
        try:
            await self.upload(name, path)
        finally:
            self.limit.release()


async def freeze(
    db: Database,
    req: FreezeRequest,
    *,
    upload: Uploader,
    empty_upload: Uploader,
    audit: AuditTrail | None = None,
) -> FreezeReply:
    """Freeze the strata of `req` (idempotent by `request_id`); the snapshot, its lists and
    (when `audit` is given) its audit entry are committed together."""
    snapshot_id = snapshot_id_for(req.request_id)
    existing = await load(db, snapshot_id)
    if existing is not None:
        return existing
    ids = [s.stratum_id for s in req.strata]
    if len(set(ids)) != len(ids):
        raise Invalid("stratum ids must be unique within a request")
    if not ids:
        raise Invalid("a freeze needs at least one stratum")
    rows: list[tuple[Any, ...]] = []
    excludes: list[tuple[str, str]] = []
    for s in req.strata:
        rows += sqlfilter.strata_rows(s.stratum_id, s.filter)
        for u in set(s.exclude_usccs):
            code = uscc_mod.normalise(u)
            if not uscc_mod.is_valid(code):
                raise Invalid(f"stratum {s.stratum_id}: excluded USCC {u!r} is not valid")
            excludes.append((s.stratum_id, code))
    shapes = sqlfilter.shapes(rows)
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
        # Room for the (stratum, USCC) sort of a whole province in memory.
        await conn.execute("SET LOCAL work_mem = '256MB'")
        await conn.execute(sqlfilter.STRATA_TABLE_SQL)
        await conn.copy_records_to_table(
            "freeze_strata", records=rows, columns=list(sqlfilter.STRATA_COLUMNS)
        )
        if excludes:
            await conn.copy_records_to_table(
                "freeze_exclude", records=excludes, columns=["stratum_id", "uscc"]
            )
        await conn.execute("ANALYZE freeze_strata")
        source = "entity"
        if req.as_of is not None:
            source = await _as_of_source(conn, as_of)
        await wconn.execute(
            "INSERT INTO snapshot (snapshot_id, request_id, as_of, request)"
            " VALUES ($1, $2, $3, $4)",
            snapshot_id,
            req.request_id,
            as_of,
            json.loads(req.model_dump_json()),
        )
        with tempfile.TemporaryDirectory(prefix="freeze-") as tmp:
            writer = _Writer(wconn, snapshot_id, Path(tmp), upload)
            t0 = time.perf_counter()
            await conn.copy_from_query(
                _freeze_query(shapes, source, with_excludes=bool(excludes)),
                output=writer.feed,
                format="text",
            )
            t1 = time.perf_counter()
            if writer.pending:
                raise RuntimeError("freeze stream ended inside a line")
            await writer.finish()
            try:
                await asyncio.gather(*writer.uploads)
            finally:
                for t in writer.uploads:
                    t.cancel()
            log.info(
                "freeze %s: query and stream %.2f s, last uploads %.2f s",
                snapshot_id,
                t1 - t0,
                time.perf_counter() - t1,
            )
            empty_sha = hashlib.sha256(b"").hexdigest()
            strata = []
            for s in req.strata:
                n, sha = writer.done.get(s.stratum_id, (0, empty_sha))
                name = object_name(snapshot_id, s.stratum_id)
                if s.stratum_id not in writer.done:
                    empty = Path(tmp) / f"{s.stratum_id}.txt"
                    empty.write_bytes(b"")
                    await empty_upload(name, empty)
                await wconn.execute(
                    "INSERT INTO snapshot_stratum (snapshot_id, stratum_id, n, candidates_sha256,"
                    " object_name, spec) VALUES ($1, $2, $3, $4, $5, $6)",
                    snapshot_id,
                    s.stratum_id,
                    n,
                    sha,
                    name,
                    json.loads(s.model_dump_json()),
                )
                strata.append(
                    FrozenStratum(
                        stratum_id=s.stratum_id, n=n, candidates_sha256=sha, object_name=name
                    )
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
                },
            )
    return reply


async def _as_of_source(conn: Any, as_of: datetime) -> str:
    cols = ", ".join(ENTITY_FIELDS)
    # CREATE TABLE AS takes no parameters; a timestamp literal from a datetime is safe.
    literal = f"TIMESTAMPTZ '{as_of.isoformat()}'"
    await conn.execute(
        "CREATE TEMP TABLE freeze_source ON COMMIT DROP AS "
        f"SELECT {cols} FROM entity WHERE valid_from <= {literal} UNION ALL "
        f"SELECT {cols} FROM entity_history WHERE valid_from <= {literal} "
        f"AND {literal} < valid_to"
    )
    return "freeze_source"


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
                data = await conn.fetchval(
                    "SELECT data FROM snapshot_block WHERE snapshot_id = $1 AND stratum_id = $2"
                    " AND block = $3",
                    snapshot_id,
                    stratum_id,
                    block,
                )
            if data is None:
                return
            yield bytes(data)
            block += 1

    return blocks()
