"""Frozen candidate lists and their commitment (DESIGN §6, spec `spotcheck-draw/1`, step 1).

A stratum's candidate list is its USCCs, unique, sorted ascending by UTF-8 bytes (SQL:
`ORDER BY uscc COLLATE "C"`). `candidates_sha256` is the hex SHA-256 of the list written as
each USCC followed by "\\n". The hash is built incrementally so that a list of millions streams
through without being held.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Final

from contracts.registry import STRATUM_ID_PATTERN

_STRATUM_ID: Final = re.compile(STRATUM_ID_PATTERN)


class OrderError(ValueError):
    """Candidates were not strictly ascending by UTF-8 bytes (unsorted or repeated)."""


class CandidateHasher:
    """Incremental `candidates_sha256` and `n` over a stream of USCCs in committed order.

    Feeding is checked: each USCC must be strictly greater (by UTF-8 bytes) than the one
    before, so an unsorted or repeated input can never produce a commitment.
    """

    __slots__ = ("_hash", "_last", "n")

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._last = b""
        self.n = 0

    def add(self, uscc: str) -> None:
        """Append one USCC."""
        b = uscc.encode("utf-8")
        if self.n and b <= self._last:
            raise OrderError(f"candidate {uscc!r} is not after {self._last.decode()!r}")
        self._hash.update(b + b"\n")
        self._last = b
        self.n += 1

    def add_block(self, block: bytes) -> None:
        """Append a block of complete lines "USCC\\n…" as COPY … TO STDOUT delivers them.

        The block is checked for order and uniqueness with C-speed list operations (a sorted
        copy and a set), then hashed in one call: millions of lines cost well under a second.
        """
        if not block:
            return
        if not block.endswith(b"\n"):
            raise ValueError("a block must end with a newline")
        lines = block[:-1].split(b"\n")
        if self.n and lines[0] <= self._last:
            raise OrderError(f"candidate {lines[0]!r} is not after {self._last!r}")
        if lines != sorted(lines) or len(set(lines)) != len(lines):
            raise OrderError("candidates in a block are not strictly ascending")
        self._hash.update(block)
        self._last = lines[-1]
        self.n += len(lines)

    def hexdigest(self) -> str:
        """The commitment of everything added so far."""
        return self._hash.hexdigest()


def candidates_sha256(usccs: Iterable[str]) -> tuple[int, str]:
    """`(n, candidates_sha256)` of USCCs already in committed order."""
    h = CandidateHasher()
    for u in usccs:
        h.add(u)
    return h.n, h.hexdigest()


def commit_order(usccs: Iterable[str]) -> list[str]:
    """The committed order of a set of USCCs: unique, ascending by UTF-8 bytes."""
    return sorted(set(usccs), key=lambda u: u.encode("utf-8"))


def check_stratum_id(stratum_id: str) -> bool:
    """True when a stratum id is safe in file names, URLs and the ticket input."""
    return bool(_STRATUM_ID.match(stratum_id))


def object_name(snapshot_id: str, stratum_id: str) -> str:
    """Object store name of a frozen list: "<snapshot_id>/<stratum_id>.txt"."""
    if not check_stratum_id(stratum_id) or not check_stratum_id(snapshot_id):
        raise ValueError("snapshot and stratum ids must match [A-Za-z0-9._:-]+")
    return f"{snapshot_id}/{stratum_id}.txt"
