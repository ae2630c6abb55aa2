"""The audit trail (全过程留痕): append in the caller's transaction, publish after commit.

`AuditTrail.append(conn, …)` adds an entry to this service's hash chain inside the caller's
transaction, so the entry exists if and only if the change it records was committed. A
background relay (the kit's `RelayLoop`) then copies committed entries to the `AUDIT` stream
(deny delete, deny purge) with `Nats-Msg-Id` = `audit:<service>:<seq>`, so a crash between the
two never loses or doubles one.

The stream is the chain's anchor. After each batch it copies, and every `head_every_s` when
idle, the relay also publishes the chain's head (`AuditHead`: seq and sha256 of the last copied
entry) on `spotcheck.v1.audit.<service>.head`. `verify()` reads the head, then every copy of
this service's entries, then walks the chain in PostgreSQL page by page against them (in that
order: whatever is on the stream was committed before it was read): an entry rewritten with its
hash recomputed differs from its copy, a deleted last entry is still on the stream or under the
head, and either is named by its seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg
from nats.errors import Error as NatsError
from nats.js import api as js_api
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from contracts.base import Contract
from contracts.subjects import AUDIT_STREAM, audit_head_subject, audit_subject
from services.kit.bus import Bus
from services.kit.chain import (
    GENESIS,
    Anchor,
    BrokenLink,
    ChainWalker,
    Entry,
    Head,
    differing_fields,
    normalise,
)
from services.kit.db import Database
from services.kit.envelope import event_id
from services.kit.errors import TemporaryError
from services.kit.relay import RelayLoop

log = logging.getLogger("spotcheck.audit")

# Entries published per step, all in flight at once.
BATCH = 500
# Entries read per query, and copies per fetch, while verifying.
VERIFY_PAGE = 5000
# Longest wait for a batch of copies from the AUDIT stream while verifying.
FETCH_TIMEOUT_S = 10.0


class AuditEvent(Contract):
    """An audit entry as it travels on the `AUDIT` stream."""

    service: str
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    data: Any
    prev_sha256: str
    sha256: str


class AuditHead(Contract):
    """A service's audit chain head as published on the `AUDIT` stream: every entry up to
    `seq` was copied to the stream, and entry `seq` has the hash `sha256`."""

    service: str
    seq: int
    sha256: str
    at: datetime


@dataclass(frozen=True)
class Verification:
    """What `verify` found: how many entries are stored, how many of them were compared with
    their copy on the AUDIT stream, the last published head, and the first broken entry."""

    service: str
    entries: int
    anchored: int
    head: int | None
    broken: BrokenLink | None

    def as_dict(self) -> dict[str, Any]:
        """The `/audit/verify` answer."""
        out: dict[str, Any] = {
            "service": self.service,
            "ok": self.broken is None,
            "entries": self.entries,
            "anchored": self.anchored,
            "head": self.head,
        }
        if self.broken is not None:
            out |= {
                "broken_at": self.broken.seq,
                "kind": self.broken.kind,
                "reason": self.broken.reason,
            }
        return out


class AuditTrail:
    """One service's chain."""

    def __init__(
        self, *, service: str, db: Database, bus: Bus | None, head_every_s: float = 300.0
    ) -> None:
        self.service = service
        self.db = db
        self.bus = bus
        # The head is published after each batch, and again after this long without one.
        self.head_every_s = head_every_s
        self._head_at: float | None = None
        # Woken by `append` in this process, otherwise every 5 s; after any entries it looks
        # again at once, until none is left.
        self.relay = RelayLoop(
            name="audit-publisher", step=self._relay_step, batch=BATCH, idle_s=5.0, partial_s=0
        )

    async def append(
        self,
        conn: asyncpg.Connection,
        *,
        actor: str,
        action: str,
        subject: str,
        data: Any = None,
    ) -> Entry:
        """Append an entry inside the caller's transaction (`conn` must be in one)."""
        # One writer at a time per chain; the lock is released at commit or rollback.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"audit:{self.service}")
        last = await conn.fetchrow("SELECT seq, sha256 FROM audit_log ORDER BY seq DESC LIMIT 1")
        seq = (last["seq"] if last else 0) + 1
        prev = last["sha256"] if last else GENESIS
        entry = Entry(
            service=self.service,
            seq=seq,
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            subject=subject,
            data=normalise(data if data is not None else {}),
            prev_sha256=prev,
        )
        digest = entry.digest()
        await conn.execute(
            "INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_sha256, sha256)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.subject,
            entry.data,
            entry.prev_sha256,
            digest,
        )
        self.relay.nudge()
        return Entry(**{**entry.__dict__, "sha256": digest})

    async def entries(self, *, after: int = 0, limit: int | None = None) -> list[Entry]:
        """Entries in sequence order."""
        sql = "SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        async with self.db.pool.acquire() as conn:
            rows = await conn.fetch(sql, after)
        return [_entry(self.service, r) for r in rows]

    async def verify(self) -> Verification:
        """Re-walk the whole chain against its copy on the AUDIT stream (when this trail has a
        bus); the first broken entry, named by seq, or none when intact.

        `TemporaryError` when the stream cannot be read: a chain is never declared intact
        without the comparison it promises."""
        anchor = await self.read_anchor() if self.bus is not None else None
        walker = ChainWalker(self.service, anchor)
        broken: BrokenLink | None = None
        after = 0
        while broken is None:
            page = await self.entries(after=after, limit=VERIFY_PAGE)
            for entry in page:
                broken = walker.feed(entry)
                if broken is not None:
                    if broken.kind == "rewritten" and anchor is not None:
                        broken = await self._name_fields(broken, entry, anchor)
                    break
            if broken is None and len(page) < VERIFY_PAGE:
                broken = walker.finish()
                break
            after = page[-1].seq if page else after
        async with self.db.pool.acquire() as conn:
            count = await conn.fetchval("SELECT count(*) FROM audit_log")
        head = anchor.head.seq if anchor is not None and anchor.head is not None else None
        return Verification(self.service, int(count), walker.anchored, head, broken)

    async def read_anchor(self) -> Anchor:
        """This chain's copy on the AUDIT stream: the last head, then every copied entry."""
        assert self.bus is not None
        js = self.bus.js
        anchor = Anchor(service=self.service)
        try:
            try:
                raw = await js.get_last_msg(AUDIT_STREAM, audit_head_subject(self.service))
            except NotFoundError:
                pass
            else:
                try:
                    head = AuditHead.model_validate_json(raw.data or b"")
                    anchor.head = Head(head.seq, head.sha256)
                except ValidationError:
                    log.warning("the last audit head of %s is not readable", self.service)
            await self._read_copies(anchor)
        except (NatsError, TimeoutError) as exc:
            raise TemporaryError(
                f"cannot read the AUDIT stream to verify the {self.service} chain: "
                f"{exc or type(exc).__name__}"
            ) from exc
        return anchor

    async def _read_copies(self, anchor: Anchor) -> None:
        assert self.bus is not None
        js = self.bus.js
        config = js_api.ConsumerConfig(
            ack_policy=js_api.AckPolicy.NONE,
            deliver_policy=js_api.DeliverPolicy.ALL,
            inactive_threshold=60.0,
            mem_storage=True,
        )
        psub = await js.pull_subscribe(
            audit_subject(self.service), stream=AUDIT_STREAM, config=config
        )
        name: str | None = None
        try:
            info = await psub.consumer_info()
            name, left = info.name, info.num_pending or 0
            while left > 0:
                for msg in await psub.fetch(min(left, VERIFY_PAGE), timeout=FETCH_TIMEOUT_S):
                    left = msg.metadata.num_pending
                    try:
                        event = AuditEvent.model_validate_json(msg.data)
                    except ValidationError:
                        log.warning(
                            "message %d on %s is not an audit entry",
                            msg.metadata.sequence.stream,
                            msg.subject,
                        )
                        continue
                    anchor.add(Entry(**dict(event)), msg.metadata.sequence.stream)
        finally:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()
            if name is not None:
                with contextlib.suppress(Exception):
                    await js.delete_consumer(AUDIT_STREAM, name)

    async def _name_fields(self, broken: BrokenLink, stored: Entry, anchor: Anchor) -> BrokenLink:
        """The reason of a rewritten entry, with the fields in which it differs from its copy."""
        assert self.bus is not None
        try:
            raw = await self.bus.js.get_msg(AUDIT_STREAM, anchor.stream_seq[stored.seq])
            copy = Entry(**dict(AuditEvent.model_validate_json(raw.data or b"")))
        except (NatsError, TimeoutError, ValidationError, KeyError):
            return broken
        fields = ", ".join(differing_fields(stored, copy))
        return replace(broken, reason=f"{broken.reason}; fields: {fields}")

    def start_publisher(self) -> None:
        """Copy committed entries to the AUDIT stream in the background."""
        if self.bus is not None:
            self.relay.start()

    async def stop(self) -> None:
        """Stop the background publisher."""
        await self.relay.aclose()

    async def _relay_step(self) -> int:
        return await self.publish_pending(wait=False)

    async def publish_pending(self, *, wait: bool = True) -> int:
        """Publish every committed, unpublished entry (a window at a time), then the chain's
        head; returns how many entries. With none to publish, the head again when it is due.

        The copies of a service share its chain (DESIGN §11): one publishes at a time, under a
        transaction-scoped advisory lock, so an entry is published once and a head never
        follows a newer one. Without `wait` (the background relay) a copy finding another at
        work returns 0 and leaves the batch to it.
        """
        assert self.bus is not None
        bus = self.bus
        key = f"audit-publish:{self.service}"
        async with self.db.transaction() as conn:
            if wait:
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", key)
            elif not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", key):
                return 0
            rows = await conn.fetch(
                "SELECT * FROM audit_log WHERE NOT published ORDER BY seq LIMIT $1", BATCH
            )
            if not rows:
                due = self._head_at is None or time.monotonic() - self._head_at >= self.head_every_s
                if due:
                    last = await conn.fetchrow(
                        "SELECT seq, sha256 FROM audit_log WHERE published"
                        " ORDER BY seq DESC LIMIT 1"
                    )
                    if last is not None:
                        await self._publish_head_or_warn(last["seq"], last["sha256"])
                    self._head_at = time.monotonic()
                return 0
            entries = [_entry(self.service, row) for row in rows]
            await asyncio.gather(
                *(
                    bus.publish_event(
                        audit_subject(self.service),
                        AuditEvent(**entry.__dict__),
                        event_id=event_id("audit", self.service, entry.seq),
                        time=entry.at,
                    )
                    for entry in entries
                )
            )
            await conn.execute(
                "UPDATE audit_log SET published = true WHERE seq = ANY($1::bigint[])",
                [e.seq for e in entries],
            )
            # Entries are published in seq order, a batch at a time: all up to the last are in.
            await self._publish_head_or_warn(entries[-1].seq, entries[-1].sha256)
        self._head_at = time.monotonic()
        return len(rows)

    async def _publish_head_or_warn(self, seq: int, sha256: str) -> None:
        """The head, or a warning: the entries (the copy that counts) are already out, and the
        next batch or period publishes a newer head."""
        try:
            await self.publish_head(seq, sha256)
        except (TemporaryError, NatsError, TimeoutError) as exc:
            log.warning("audit head %d of %s not published: %s", seq, self.service, exc)

    async def publish_head(self, seq: int, sha256: str) -> None:
        """Publish the chain's head (entry `seq` with hash `sha256`) on the AUDIT stream. Its id
        names the seq and the period of `head_every_s`: copies of a service publishing the same
        head in the same period store it once."""
        assert self.bus is not None
        now = datetime.now(UTC)
        period = int(now.timestamp() // max(self.head_every_s, 1.0))
        await self.bus.publish_event(
            audit_head_subject(self.service),
            AuditHead(service=self.service, seq=seq, sha256=sha256, at=now),
            event_id=event_id("audit-head", self.service, seq, period),
            time=now,
        )


def _entry(service: str, row: asyncpg.Record) -> Entry:
    return Entry(
        service=service,
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        subject=row["subject"],
        data=row["data"],
        prev_sha256=row["prev_sha256"],
        sha256=row["sha256"],
    )
