"""Spec `spotcheck-draw/1` (DESIGN §6): hashes, sample sizes, tickets and selection.

Pure, standard library only, no floats and no `random`: the same bytes give the same answer in
any language. `tools/verify_draw.py` is an independent copy of this arithmetic; both are checked
against `notes/draw-vectors.json` and the vectors in `docs/draw-spec.md`.

Speed matters (a province draws from millions of candidates), so the hot paths keep data in flat
lists, hash with a pre-hashed prefix and `.copy()`, and compare raw digests, whose byte order is
the order of their lowercase hex form.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.kit.errors import Invalid

SPEC = "spotcheck-draw/1"

# DESIGN §6.1: ASCII, no "/", "|", tab or newline; the same rule for task and inspector ids,
# which enter team tickets the same way.
_ID = re.compile(r"[A-Za-z0-9._:-]+", re.ASCII)
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)


def validate_id(value: str, *, what: str = "stratum_id") -> str:
    """Return `value` if it is a valid stratum (or task/inspector) id, else raise `Invalid`."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise Invalid(
            f"{what} {value!r} must be ASCII letters, digits and . _ : - only",
            details=[{"loc": [what], "msg": "bad id", "value": str(value)}],
        )
    return value


def validate_stratum_id(stratum_id: str) -> str:
    """Return `stratum_id` if it matches `[A-Za-z0-9._:-]+`, else raise `Invalid`."""
    return validate_id(stratum_id, what="stratum_id")


def normalise_seed(seed: str) -> str:
    """Strip surrounding whitespace and nothing else (DESIGN §6.3); refuse an empty seed.

    Python's `str.strip()` is used: it removes every character for which `str.isspace()` is
    true. The record publishes the stripped seed, so verifiers never need to strip.
    """
    if not isinstance(seed, str):
        raise Invalid("the seed must be a string")
    stripped = seed.strip()
    if not stripped:
        raise Invalid("the seed is empty")
    return stripped


def sample_size(n: int, *, bp: int | None = None, count: int | None = None) -> int:
    """k for a stratum of n candidates: `ceil(n*bp/10000)` in integers, or a count; capped at n.

    Exactly one of `bp` (basis points, 0..10000) and `count` (≥ 0) must be given.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise Invalid(f"n must be a non-negative integer, not {n!r}")
    if (bp is None) == (count is None):
        raise Invalid("give exactly one of bp and count")
    if bp is not None:
        if isinstance(bp, bool) or not isinstance(bp, int) or not 0 <= bp <= 10000:
            raise Invalid(f"bp must be an integer 0..10000, not {bp!r}")
        return min(n, (n * bp + 9999) // 10000)
    assert count is not None
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise Invalid(f"count must be a non-negative integer, not {count!r}")
    return min(n, count)


class CandidateHasher:
    """`candidates_sha256` over a stream of USCCs that arrives in chunks.

    Checks on the way that the stream is strictly ascending by UTF-8 bytes (hence unique): for
    str, Python's code-point order is the UTF-8 byte order.
    """

    __slots__ = ("_h", "_last", "n")

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._last: str | None = None
        self.n = 0

    def update(self, chunk: Sequence[str]) -> None:
        """Add the next USCCs (in order) to the hash."""
        if not chunk:
            return
        previous = self._last
        if previous is not None and not previous < chunk[0]:
            raise Invalid(f"candidates not strictly ascending at {chunk[0]!r}")
        # map/islice keep the order check in C: this runs over millions of USCCs.
        if not all(map(operator.lt, chunk, itertools.islice(chunk, 1, None))):
            bad = next(b for a, b in itertools.pairwise(chunk) if not a < b)
            raise Invalid(f"candidates not strictly ascending at {bad!r}")
        text = "\n".join(chunk)
        if text.count("\n") != len(chunk) - 1 or "\r" in text:
            raise Invalid("a candidate contains a line break")
        self._h.update((text + "\n").encode("utf-8"))
        self._last = chunk[-1]
        self.n += len(chunk)

    def update_lines(self, lines: Sequence[bytes]) -> None:
        """Like `update`, for USCCs already as UTF-8 bytes (bytes order = UTF-8 byte order)."""
        if not lines:
            return
        last = self._last.encode("utf-8") if self._last is not None else None
        if last is not None and not last < lines[0]:
            raise Invalid(f"candidates not strictly ascending at {lines[0]!r}")
        if not all(map(operator.lt, lines, itertools.islice(lines, 1, None))):
            bad = next(b for a, b in itertools.pairwise(lines) if not a < b)
            raise Invalid(f"candidates not strictly ascending at {bad!r}")
        block = b"\n".join(lines)
        if block.count(b"\n") != len(lines) - 1 or b"\r" in block:
            raise Invalid("a candidate contains a line break")
        self._h.update(block + b"\n")
        self._last = lines[-1].decode("utf-8")
        self.n += len(lines)

    def hexdigest(self) -> str:
        """The hex SHA-256 of every USCC so far, each followed by a newline."""
        return self._h.hexdigest()


def candidates_sha256(usccs: Iterable[str], *, chunk_size: int = 65536) -> str:
    """Hex SHA-256 of the candidate list: each USCC followed by `\\n`, in UTF-8 byte order.

    Refuses a list that is not strictly ascending (the registry must sort with `COLLATE "C"`).
    """
    hasher = CandidateHasher()
    buf: list[str] = []
    for u in usccs:
        buf.append(u)
        if len(buf) >= chunk_size:
            hasher.update(buf)
            buf = []
    hasher.update(buf)
    return hasher.hexdigest()


@dataclass(frozen=True, slots=True)
class CommittedStratum:
    """One line of the commitment: a stratum, its n, its k and its candidates' hash."""

    stratum_id: str
    n: int
    k: int
    candidates_sha256: str


def commitment_lines(strata: Iterable[CommittedStratum]) -> str:
    """The text whose SHA-256 is the commitment: one tab-separated line per stratum, sorted."""
    items = list(strata)
    seen: set[str] = set()
    for s in items:
        validate_stratum_id(s.stratum_id)
        if s.stratum_id in seen:
            raise Invalid(f"stratum {s.stratum_id!r} appears twice")
        seen.add(s.stratum_id)
        if not 0 <= s.k <= s.n:
            raise Invalid(f"stratum {s.stratum_id!r}: k={s.k} is not within 0..n={s.n}")
        if not _HEX64.fullmatch(s.candidates_sha256):
            raise Invalid(f"stratum {s.stratum_id!r}: candidates_sha256 is not 64 lowercase hex")
    # Stratum ids are ASCII, so str order is UTF-8 byte order.
    items.sort(key=lambda s: s.stratum_id)
    return "".join(f"{s.stratum_id}\t{s.n}\t{s.k}\t{s.candidates_sha256}\n" for s in items)


def commitment_sha256(strata: Iterable[CommittedStratum]) -> str:
    """`commitment_sha256` (DESIGN §6.2) of the strata, in any order."""
    return hashlib.sha256(commitment_lines(strata).encode("utf-8")).hexdigest()


def ticket(seed: str, stratum_id: str, uscc: str) -> str:
    """One ticket: hex SHA-256 of `f"{seed}|{stratum_id}|{uscc}"` in UTF-8."""
    return hashlib.sha256(f"{seed}|{stratum_id}|{uscc}".encode()).hexdigest()


def tickets(seed: str, stratum_id: str, usccs: Sequence[str]) -> list[str]:
    """Hex tickets of every USCC of one stratum, in the order given."""
    copy = hashlib.sha256(f"{seed}|{stratum_id}|".encode()).copy
    out: list[str] = []
    append = out.append
    for u in usccs:
        h = copy()
        h.update(u.encode("utf-8"))
        append(h.hexdigest())
    return out


def _digests(seed: str, stratum_id: str, usccs: Sequence[str]) -> list[bytes]:
    copy = hashlib.sha256(f"{seed}|{stratum_id}|".encode()).copy
    out: list[bytes] = []
    append = out.append
    for u in usccs:
        h = copy()
        h.update(u.encode("utf-8"))
        append(h.digest())
    return out


def select(seed: str, stratum_id: str, usccs: Sequence[str], k: int) -> list[str]:
    """The k candidates with the smallest tickets, in ticket order (ties by USCC).

    Raw digests order exactly like their lowercase hex, so no hex is built for the comparison.
    """
    if k <= 0 or not usccs:
        return []
    digests = _digests(seed, stratum_id, usccs)
    best = heapq.nsmallest(k, zip(digests, usccs, strict=True))
    return [u for _, u in best]


def select_with_tickets(
    seed: str, stratum_id: str, usccs: Sequence[str], k: int
) -> list[tuple[str, str]]:
    """Like `select`, with each selected USCC's hex ticket: `[(ticket, uscc), …]`."""
    if k <= 0 or not usccs:
        return []
    digests = _digests(seed, stratum_id, usccs)
    return [(d.hex(), u) for d, u in heapq.nsmallest(k, zip(digests, usccs, strict=True))]


def select_lines(
    seed: str, stratum_id: str, lines: Sequence[bytes], k: int
) -> list[tuple[str, str]]:
    """`select_with_tickets` for USCCs given as UTF-8 bytes (a published list split on \\n).

    The fast path of big draws: no str is built for candidates that are not selected.
    """
    if k <= 0 or not lines:
        return []
    copy = hashlib.sha256(f"{seed}|{stratum_id}|".encode()).copy
    digests: list[bytes] = []
    append = digests.append
    for b in lines:
        h = copy()
        h.update(b)
        append(h.digest())
    best = heapq.nsmallest(k, zip(digests, lines, strict=True))
    return [(d.hex(), u.decode("utf-8")) for d, u in best]


@dataclass(frozen=True, slots=True)
class StratumDraw:
    """What selection needs for one stratum and what it produced."""

    stratum_id: str
    n: int
    bp: int | None
    k: int
    candidates_sha256: str
    selected: tuple[str, ...]


def draw_stratum(
    seed: str,
    stratum_id: str,
    usccs: Sequence[str],
    *,
    bp: int | None = None,
    count: int | None = None,
) -> StratumDraw:
    """Hash, size and select one stratum from its sorted candidate list."""
    validate_stratum_id(stratum_id)
    digest = candidates_sha256(usccs)
    n = len(usccs)
    k = sample_size(n, bp=bp, count=count)
    return StratumDraw(stratum_id, n, bp, k, digest, tuple(select(seed, stratum_id, usccs, k)))


def cutoff_ticket(seed: str, stratum_id: str, selected: Sequence[str]) -> str | None:
    """The largest selected ticket: a candidate is drawn iff (ticket, uscc) ≤ (this, last uscc)."""
    if not selected:
        return None
    return ticket(seed, stratum_id, selected[-1])
