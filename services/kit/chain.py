"""The audit hash chain, pure: how an entry's SHA-256 is computed and how a chain is checked.

An entry's hash covers its service, sequence number, time, actor, action, subject, data and the
previous entry's hash, as canonical JSON (sorted keys, no spaces, UTF-8). The first entry's
`prev_sha256` is 64 zeros. Changing any stored field, deleting or reordering entries breaks the
chain at that entry.

The chain alone cannot tell an honest chain from one rewritten from some entry on with every
hash recomputed, nor from one whose last entries were deleted. So it is anchored outside
PostgreSQL: each entry is copied to the `AUDIT` stream (deny delete, deny purge), and so is the
chain's head (its last entry's seq and sha256) after each batch and every few minutes. An
`Anchor` holds what verification needs of that copy: each entry's sha256 by seq and the last
head. `ChainWalker` walks the stored chain in seq order against it and stops at the first entry
that is altered, rewritten, missing or badly linked; entries not copied yet (the relay runs
after commit) are checked by the chain alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


def canonical(value: Any) -> str:
    """Canonical JSON text: sorted keys, no insignificant spaces, non-ASCII kept."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def normalise(data: Any) -> Any:
    """The data as it reads back from JSON, so hashing before and after storage agrees."""
    return json.loads(canonical(data))


@dataclass(frozen=True)
class Entry:
    """One audit entry."""

    service: str
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    data: Any
    prev_sha256: str
    sha256: str = ""

    def digest(self) -> str:
        """The SHA-256 this entry must carry."""
        body = {
            "service": self.service,
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "data": self.data,
            "prev_sha256": self.prev_sha256,
        }
        return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


# Every field of an entry that its sha256 covers (all but the sha256 itself).
HASHED_FIELDS = ("service", "seq", "at", "actor", "action", "subject", "data", "prev_sha256")


def differing_fields(stored: Entry, copy: Entry) -> list[str]:
    """The fields (hashed ones and sha256) in which two versions of an entry differ."""
    return [f for f in (*HASHED_FIELDS, "sha256") if getattr(stored, f) != getattr(copy, f)]


@dataclass(frozen=True)
class BrokenLink:
    """Where a chain first breaks, and why. `kind`: `missing` (an entry is not in PostgreSQL),
    `altered` (its content does not match its own sha256), `rewritten` (it differs from its
    copy on the AUDIT stream), `link` (its prev_sha256 is not the previous entry's hash),
    `head` (it differs from a published head), `copy` (the stream's copy itself is faulty)."""

    service: str
    seq: int
    reason: str
    kind: str = "link"


@dataclass(frozen=True)
class Head:
    """A published chain head: the chain then ended at entry `seq`, whose hash is `sha256`."""

    seq: int
    sha256: str


@dataclass
class Anchor:
    """A chain's copy on the AUDIT stream, as verification needs it: the sha256 of each copied
    entry by seq (the first copy, with its stream sequence to fetch it again), the seqs whose
    copies are faulty, and the last published head."""

    service: str
    sha256: dict[int, str] = field(default_factory=dict)
    stream_seq: dict[int, int] = field(default_factory=dict)
    faults: dict[int, str] = field(default_factory=dict)
    head: Head | None = None

    def add(self, copy: Entry, stream_seq: int) -> None:
        """Take one copy, in stream order. The first copy of an entry counts; a later copy
        that differs, or a copy inconsistent with its own sha256, is a fault at that entry."""
        if copy.service != self.service or copy.digest() != copy.sha256:
            self.faults.setdefault(
                copy.seq, "its copy on the AUDIT stream does not match its own sha256 (forged)"
            )
            return
        first = self.sha256.setdefault(copy.seq, copy.sha256)
        self.stream_seq.setdefault(copy.seq, stream_seq)
        if first != copy.sha256:
            self.faults.setdefault(copy.seq, "the AUDIT stream holds two different copies of it")

    def __len__(self) -> int:
        return len(self.sha256)


class ChainWalker:
    """Checks a chain entry by entry, in seq order, against its anchor when there is one; the
    first problem found is the first broken entry (pages of any size can be fed in turn)."""

    def __init__(self, service: str, anchor: Anchor | None = None) -> None:
        self.service = service
        self.anchor = anchor
        self.prev = GENESIS
        self.next_seq = 1
        self.entries = 0
        self.anchored = 0

    def feed(self, entry: Entry) -> BrokenLink | None:
        """Check the next stored entry; the problem at it (or before it), or None."""
        seq, anchor = self.next_seq, self.anchor
        if entry.seq != seq:
            if anchor is not None and seq in anchor.sha256:
                why = f"entry {seq} is missing from PostgreSQL; the AUDIT stream holds it"
            else:
                why = f"entry {seq} is missing (found {entry.seq})"
            return BrokenLink(self.service, seq, why, "missing")
        if anchor is not None and seq in anchor.faults:
            return BrokenLink(self.service, seq, anchor.faults[seq], "copy")
        if entry.digest() != entry.sha256:
            why = "content does not match its sha256 (entry was altered)"
            return BrokenLink(self.service, seq, why, "altered")
        copied = anchor.sha256.get(seq) if anchor is not None else None
        if copied is not None and copied != entry.sha256:
            return BrokenLink(
                self.service,
                seq,
                "differs from its copy on the AUDIT stream (rewritten with its hash recomputed)",
                "rewritten",
            )
        if entry.prev_sha256 != self.prev:
            return BrokenLink(
                self.service, seq, "prev_sha256 does not match the previous entry's hash", "link"
            )
        head = anchor.head if anchor is not None else None
        if head is not None and head.seq == seq and head.sha256 != entry.sha256:
            return BrokenLink(self.service, seq, "differs from the published chain head", "head")
        self.prev = entry.sha256
        self.next_seq += 1
        self.entries += 1
        self.anchored += copied is not None
        return None

    def finish(self) -> BrokenLink | None:
        """After the last stored entry: is anything the anchor knows of missing at the end?"""
        anchor, seq = self.anchor, self.next_seq
        if anchor is None:
            return None
        beyond = [s for s in anchor.sha256 if s >= seq]
        head = anchor.head
        if beyond:
            return BrokenLink(
                self.service,
                seq,
                f"entry {seq} is missing from PostgreSQL; the AUDIT stream holds entries up to "
                f"{max(beyond)} (the chain was truncated)",
                "missing",
            )
        if head is not None and head.seq >= seq:
            return BrokenLink(
                self.service,
                seq,
                f"entry {seq} is missing from PostgreSQL; the published chain head is entry "
                f"{head.seq} (the chain was truncated)",
                "missing",
            )
        faults = sorted(s for s in anchor.faults if s >= seq)
        if faults:
            return BrokenLink(self.service, faults[0], anchor.faults[faults[0]], "copy")
        return None


def verify_chain(entries: Iterable[Entry], anchor: Anchor | None = None) -> BrokenLink | None:
    """Walk a service's chain in sequence order (against its anchor, when given); return the
    first broken link, or None."""
    service = anchor.service if anchor is not None else ""
    walker: ChainWalker | None = None
    for entry in entries:
        walker = walker or ChainWalker(service or entry.service, anchor)
        broken = walker.feed(entry)
        if broken is not None:
            return broken
    walker = walker or ChainWalker(service, anchor)
    return walker.finish()
