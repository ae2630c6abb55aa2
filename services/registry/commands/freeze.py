"""Freezing candidate lists (DESIGN §6 step 1): one pass over the directory for all strata.

All strata of a request are resolved by one query. The strata go into a temporary table (one
row per region prefix × risk class × entity type they name, each with the stratum's number and
letter code); rows sharing their other conditions form a branch, a hash join of the entities
(filtered once by those conditions) to its strata rows; exclusions are anti-joins. The pairs
come out of `COPY … TO STDOUT` as fixed-width lines "code\tUSCC", ordered by stratum number
and `uscc COLLATE "C"`, and `freeze_stream.StreamWriter` turns them into stored lists. The SQL
is in `store.snapshots` and `store.filters`.

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
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from contracts import subjects
from contracts.registry import FreezeReply, FreezeRequest, FrozenStratum
from services.kit.audit import AuditTrail
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.envelope import event_id
from services.kit.errors import Invalid, NotFound
from services.registry.commands.freeze_stream import StreamWriter, Uploader
from services.registry.domain import uscc as uscc_mod
from services.registry.domain.freeze import MAX_STRATA, object_name, stratum_code
from services.registry.store import filters, snapshots

log = logging.getLogger("spotcheck.registry.freeze")
# Writes the content of a named object of the snapshots bucket into a binary file;
# raises NotFound when there is no such object.
Fetcher = Callable[[str, BinaryIO], Awaitable[None]]
__all__ = [
    "Fetcher",
    "Freezer",
    "Uploader",
    "freeze",
    "object_store_io",
    "snapshot_id_for",
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
        for r in filters.strata_rows(s.stratum_id, s.filter):
            rows.append(r)
            sets.append((inline_set, object_set))
    idx_of = {s.stratum_id: i for i, s in enumerate(req.strata)}
    groups, branches = filters.group_rows(rows)
    table = [
        (idx_of[r[0]], stratum_code(idx_of[r[0]]), g, *r, *st)
        for r, g, st in zip(rows, groups, sets, strict=True)
    ]
    params: list[Any] = []
    source = f"freeze_entities_{suffix}" if req.as_of is not None else "entities"
    union = " UNION ALL ".join(
        filters.branch_sql(
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
    """Read each exclusion object once into `freeze_exclusions_<suffix>`; returns [name, lines]
    pairs."""
    if not objects:
        return []
    if fetch is None:
        raise Invalid("exclusion objects are not available here")
    await snapshots.start_exclusion_objects(conn)
    loaded = []
    with tempfile.TemporaryDirectory(prefix="freeze-excl-") as tmp:
        for name, set_no in objects.items():
            path = Path(tmp) / "object.txt"
            with path.open("wb") as f:
                await fetch(name, f)
            n = await snapshots.load_exclusion_object(
                conn, name=name, path=path, set_no=set_no, suffix=suffix
            )
            loaded.append([name, n])
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
    existing = await snapshots.load(db, snapshot_id)
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
        as_of: datetime = req.as_of or await snapshots.now(conn)
        await snapshots.prepare_freeze(conn, suffix=suffix, strata=table, inline=inline)
        loaded = await _load_objects(conn, objects, fetch, suffix)
        await snapshots.analyze(conn, suffix=suffix, exclusions=bool(inline or objects))
        if req.as_of is not None:
            await snapshots.as_of_source(conn, as_of, suffix)
        await snapshots.insert_snapshot(wconn, snapshot_id=snapshot_id, req=req, as_of=as_of)
        codes = {stratum_code(i).encode(): s.stratum_id for i, s in enumerate(req.strata)}
        writer = StreamWriter(wconn=wconn, snapshot_id=snapshot_id, strata=codes, upload=upload)
        try:
            t1 = time.perf_counter()
            await snapshots.stream(conn, query, params, writer.feed)
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
        await snapshots.drop_freeze_tables(conn, suffix=suffix, as_of_source=req.as_of is not None)
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
        await snapshots.insert_strata(
            wconn,
            snapshot_id,
            list(zip(strata, (json.loads(s.model_dump_json()) for s in req.strata), strict=True)),
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


class Freezer:
    """The freeze use case of the service: freeze, store the lists in the snapshots bucket,
    announce `snapshot.frozen`."""

    def __init__(self, *, db: Database, bus: Bus, audit: AuditTrail, replicas: int) -> None:
        self.db = db
        self.bus = bus
        self.audit = audit
        self.replicas = replicas

    async def freeze_and_publish(self, req: FreezeRequest) -> FreezeReply:
        """Freeze, store the lists in the object store bucket, announce `snapshot.frozen`."""
        if not req.strata:
            raise Invalid("a freeze needs at least one stratum")
        obs = await self.bus.object_store(subjects.SNAPSHOTS_BUCKET, replicas=self.replicas)
        upload, fetch = object_store_io(obs)
        reply = await freeze(self.db, req, upload=upload, fetch=fetch, audit=self.audit)
        await self.bus.publish_event(
            subjects.event("registry", "snapshot.frozen"),
            reply,
            event_id=event_id("snapshot.frozen", reply.snapshot_id),
        )
        return reply
