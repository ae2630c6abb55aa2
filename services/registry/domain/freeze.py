"""Frozen candidate lists and their commitment (DESIGN §6, spec `spotcheck-draw/1`, step 1).

A stratum's candidate list is its USCCs, unique, sorted ascending by UTF-8 bytes (SQL:
`ORDER BY uscc COLLATE "C"`). `candidates_sha256` is the hex SHA-256 of the list written as
each USCC followed by "\\n". The hash is built incrementally so that a list of millions streams
through without being held.
"""

from __future__ import annotations

import bisect
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

    def add_block(self, block: bytes, *, lines: int | None = None) -> None:
        """Append a block of complete lines "USCC\\n…" as COPY … TO STDOUT delivers them.

        Without `lines`, every line is checked for order and uniqueness (C-speed list
        operations, about 0.5 µs a line). A caller streaming a list that PostgreSQL already
        ordered (`ORDER BY uscc COLLATE "C"` over a primary key) passes the block's line count
        instead: then only the joins between blocks are checked, and hashing is all the work.
        """
        if not block:
            return
        if not block.endswith(b"\n"):
            raise ValueError("a block must end with a newline")
        first = block[: block.index(b"\n")]
        if self.n and first <= self._last:
            raise OrderError(f"candidate {first!r} is not after {self._last!r}")
        if lines is None:
            split = block[:-1].split(b"\n")
            if split != sorted(split) or len(set(split)) != len(split):
                raise OrderError("candidates in a block are not strictly ascending")
            lines = len(split)
        self._hash.update(block)
        self._last = block[block.rfind(b"\n", 0, len(block) - 1) + 1 : -1]
        self.n += lines

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


# Strata of one freeze are numbered; in the freeze stream a stratum's number is written as a
# fixed-width code of lower-case letters, which sort like the numbers and never occur in a USCC,
# so one `bytes.translate` deletes them (with the tab) and leaves the list "USCC\\n…".
CODE_LETTERS: Final = b"abcdefghijklmnopqrstuvwxyz"
CODE_WIDTH: Final = 4
MAX_STRATA: Final = len(CODE_LETTERS) ** CODE_WIDTH
_DELETE: Final = CODE_LETTERS + b"\t"


def stratum_code(idx: int) -> str:
    """The fixed-width letter code of stratum number `idx` (0 → "aaaa"), ordered like `idx`."""
    if not 0 <= idx < MAX_STRATA:
        raise ValueError(f"at most {MAX_STRATA} strata in one freeze")
    out = []
    for _ in range(CODE_WIDTH):
        idx, r = divmod(idx, len(CODE_LETTERS))
        out.append(chr(CODE_LETTERS[r]))
    return "".join(reversed(out))


class _Codes:
    """The codes of fixed-width lines of a buffer, as a sequence for `bisect`."""

    __slots__ = ("buf", "width")

    def __init__(self, buf: bytes, width: int) -> None:
        self.buf = buf
        self.width = width

    def __len__(self) -> int:
        return len(self.buf) // self.width

    def __getitem__(self, i: int) -> bytes:
        at = i * self.width
        return self.buf[at : at + CODE_WIDTH]


def split_strata(buf: bytes) -> list[tuple[bytes, bytes, int]]:
    """Cut whole lines "code\\tUSCC\\n", sorted by code, into runs `(code, list, lines)`.

    `list` is the run's lines without code and tab ("USCC\\n…"). When every line has the same
    width (USCCs are 18 characters) the run boundaries are found by binary search and each run
    is one C-level `translate`: no Python object per line. Otherwise lines are split one by one.
    """
    if not buf:
        return []
    width = buf.index(b"\n") + 1
    n = len(buf) // width
    if (
        n * width == len(buf)
        and buf.count(b"\n") == n
        and buf[width - 1 :: width] == b"\n" * n
        and buf[CODE_WIDTH::width] == b"\t" * n
    ):
        codes = _Codes(buf, width)
        out = []
        lo = 0
        while lo < n:
            code = codes[lo]
            hi = n if codes[n - 1] == code else bisect.bisect_right(codes, code, lo, n)
            run = buf[lo * width : hi * width].translate(None, _DELETE)
            if len(run) != (hi - lo) * (width - CODE_WIDTH - 1):
                raise ValueError("freeze stream: a USCC holds a lower-case letter or a tab")
            out.append((code, run, hi - lo))
            lo = hi
        return out
    runs: list[tuple[bytes, list[bytes]]] = []
    for line in buf[:-1].split(b"\n"):
        code, tab, uscc = line.partition(b"\t")
        if not tab:
            raise ValueError(f"freeze stream: malformed line {line[:40]!r}")
        if not runs or runs[-1][0] != code:
            runs.append((code, []))
        runs[-1][1].append(uscc + b"\n")
    return [(code, b"".join(lines), len(lines)) for code, lines in runs]


def object_name(snapshot_id: str, stratum_id: str) -> str:
    """Object store name of a frozen list: "<snapshot_id>/<stratum_id>.txt"."""
    if not check_stratum_id(stratum_id) or not check_stratum_id(snapshot_id):
        raise ValueError("snapshot and stratum ids must match [A-Za-z0-9._:-]+")
    return f"{snapshot_id}/{stratum_id}.txt"
