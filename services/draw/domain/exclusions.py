"""Frequency exclusions: which window leaves whom out of which stratum, and how the lists
travel to the registry (inline, or one shared object per list).

A plan's frequency windows (`FrequencyExclusion`) each name the strata they apply to: each
stratum's window and count follow its own rules (class A: once in 24 months; class D: twice in
12), so a window never reaches another class's strata. `windows_of` maps strata to their
windows and `per_stratum` gives each stratum the union of its windows' lists, one shared tuple
per distinct set of windows: a province's 800 strata fall into a handful of such sets.

A province's frequency window can exclude hundreds of thousands of entities from every stratum;
NATS carries at most 1 MB per message. So a stratum's exclusion list goes inline
(`StratumSpec.exclude_usccs`) only while it is small; a larger one is written once to the
snapshots object store and named in `StratumSpec.exclude_object`. Strata with the same list
share one object, named by the list's SHA-256:

    exclusions/<draw_id>/<sha256 of the object's bytes>.txt

The object's bytes are the USCCs sorted by UTF-8 bytes, each followed by `\\n` (the format of
the frozen candidate lists). A list goes to an object when it has more than `inline_max`
USCCs, or — largest lists first — while the inline lists of the whole request would together
exceed `request_max` USCCs (800 strata of 4,000 inline USCCs would not fit in one message).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

INLINE_MAX = 5_000
"""More USCCs than this in one stratum's exclusion list: the list goes to an object."""

REQUEST_MAX = 20_000
"""More inline USCCs than this in one freeze request (≈ 420 kB): the largest lists move out."""


def windows_of(
    strata: Iterable[tuple[str, Iterable[str]]],
    windows: Sequence[tuple[Iterable[str], Iterable[str]]],
) -> dict[str, tuple[int, ...]]:
    """Which windows (by position) apply to each stratum; strata without any are absent.

    `strata` are (stratum id, its item codes); `windows` (item codes, stratum ids) in the
    plan's order. A window naming its strata applies to those alone. A window naming none
    comes from a plan approved before windows named their strata, and applies as it did
    then: to every stratum that checks one of its items.
    """
    named: dict[str, list[int]] = {}
    legacy: list[tuple[int, frozenset[str]]] = []
    for i, (codes, ids) in enumerate(windows):
        strata_named = list(ids)
        for sid in strata_named:
            named.setdefault(sid, []).append(i)
        if not strata_named:
            legacy.append((i, frozenset(codes)))
    out: dict[str, tuple[int, ...]] = {}
    for sid, codes in strata:
        which = set(named.get(sid, ()))
        if legacy:
            mine = set(codes)
            which.update(i for i, items in legacy if items & mine)
        if which:
            out[sid] = tuple(sorted(which))
    return out


def per_stratum(
    which: Mapping[str, tuple[int, ...]], found: Sequence[Sequence[str]]
) -> dict[str, tuple[str, ...]]:
    """Each stratum's exclusion list: the union of its windows' USCCs (`found`, by window), in
    byte order; strata whose list is empty are absent.

    Strata with the same windows share one tuple, so that it is sorted, hashed and checked
    once (`plan_exclusions` and the draw's leak check key on the tuple's identity).
    """
    combos: dict[tuple[int, ...], tuple[str, ...]] = {}
    out: dict[str, tuple[str, ...]] = {}
    for sid, windows in which.items():
        got = combos.get(windows)
        if got is None:
            union = {u for i in windows for u in found[i]}
            got = combos[windows] = tuple(sorted(union, key=_utf8))
        if got:
            out[sid] = got
    return out


@dataclass(frozen=True, slots=True)
class ExclusionPlan:
    """What to send per stratum and which objects to write first."""

    inline: dict[str, tuple[str, ...]]
    """Stratum id → USCCs sent inline (sorted; strata without exclusions are absent)."""
    by_object: dict[str, str]
    """Stratum id → name of the object holding its exclusion list."""
    objects: dict[str, bytes]
    """Object name → its bytes (one object per distinct list)."""


def _utf8(u: str) -> bytes:
    return u.encode("utf-8")


def list_bytes(usccs: Iterable[str]) -> bytes:
    """The object form of an exclusion list: distinct USCCs in byte order, each + `\\n`."""
    ordered = sorted({u.encode("utf-8") for u in usccs})
    return b"".join(u + b"\n" for u in ordered)


def object_name(draw_id: str, body: bytes) -> str:
    """`exclusions/<draw_id>/<sha256 of body>.txt`."""
    return f"exclusions/{draw_id}/{hashlib.sha256(body).hexdigest()}.txt"


def plan_exclusions(
    draw_id: str,
    excluded: Mapping[str, Sequence[str]],
    *,
    inline_max: int = INLINE_MAX,
    request_max: int = REQUEST_MAX,
) -> ExclusionPlan:
    """Decide, per stratum, between inline USCCs and a shared object (deterministic)."""
    # Strata often share one list object (the same rules): normalise each object once.
    lists: dict[str, tuple[str, ...]] = {}
    normal: dict[int, tuple[str, ...]] = {}
    for sid, usccs in excluded.items():
        if usccs:
            got = normal.get(id(usccs))
            if got is None:
                got = normal[id(usccs)] = tuple(sorted(set(usccs), key=_utf8))
            lists[sid] = got
    out_of_line = {sid for sid, lst in lists.items() if len(lst) > inline_max}
    inline_total = sum(len(lst) for sid, lst in lists.items() if sid not in out_of_line)
    # Largest first, then by stratum id: the same exclusions always give the same request.
    for sid in sorted(lists, key=lambda s: (-len(lists[s]), s)):
        if inline_total <= request_max:
            break
        if sid not in out_of_line:
            out_of_line.add(sid)
            inline_total -= len(lists[sid])
    objects: dict[str, bytes] = {}
    by_object: dict[str, str] = {}
    names: dict[int, str] = {}  # by list object, then by content (the object's name)
    for sid in sorted(out_of_line):
        name = names.get(id(lists[sid]))
        if name is None:
            body = list_bytes(lists[sid])
            name = names[id(lists[sid])] = object_name(draw_id, body)
            objects[name] = body
        by_object[sid] = name
    inline = {sid: lst for sid, lst in lists.items() if sid not in out_of_line}
    return ExclusionPlan(inline=inline, by_object=by_object, objects=objects)


def leaked(candidates: Iterable[str], excluded: Iterable[str]) -> str | None:
    """The first candidate (in list order) that should have been excluded, if any.

    The draw checks every frozen list against the exclusions it asked for: a registry that
    ignored them (e.g. one that does not read `exclude_object` yet) must not go unnoticed.
    """
    out = frozenset(excluded)
    if not out:
        return None
    seq = candidates if isinstance(candidates, Sequence) else list(candidates)
    if out.isdisjoint(seq):  # the common case, at C speed
        return None
    for u in seq:
        if u in out:
            return u
    return None
