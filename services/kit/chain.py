"""The audit hash chain, pure: how an entry's SHA-256 is computed and how a chain is checked.

An entry's hash covers its service, sequence number, time, actor, action, subject, data and the
previous entry's hash, as canonical JSON (sorted keys, no spaces, UTF-8). The first entry's
`prev_sha256` is 64 zeros. Changing any stored field, deleting or reordering entries breaks the
chain at that entry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class BrokenLink:
    """Where a chain first breaks, and why."""

    service: str
    seq: int
    reason: str


def verify_chain(entries: list[Entry]) -> BrokenLink | None:
    """Walk a service's chain in sequence order; return the first broken link, or None."""
    prev = GENESIS
    expected_seq = 1
    for entry in entries:
        if entry.seq != expected_seq:
            return BrokenLink(
                entry.service, entry.seq, f"entry {expected_seq} is missing (found {entry.seq})"
            )
        if entry.prev_sha256 != prev:
            return BrokenLink(
                entry.service, entry.seq, "prev_sha256 does not match the previous entry's hash"
            )
        if entry.digest() != entry.sha256:
            return BrokenLink(
                entry.service, entry.seq, "content does not match its sha256 (entry was altered)"
            )
        prev = entry.sha256
        expected_seq += 1
    return None
