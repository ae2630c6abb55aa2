"""Re-derive a draw record from its published candidate lists (what `draw verify` runs).

`tools/verify_draw.py` does the same with its own code; this one uses the service's spec module,
so a difference between the two would show in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.draw.domain import spec
from services.draw.domain.seeds import derive_party_seed, secret_commitment
from services.kit.errors import DomainError


def parse_list(body: bytes) -> list[str]:
    """A published list (each USCC + newline) as USCCs; refuses any other layout."""
    if not body:
        return []
    text = body.decode("utf-8")
    if not text.endswith("\n") or "\r" in text:
        raise ValueError("every line must end with a single \\n")
    return text[:-1].split("\n")


def first_difference(record: dict[str, Any], lists: Callable[[str], bytes]) -> str | None:
    """The first way the record differs from what its lists give, or None when all match."""
    if record.get("spec") != spec.SPEC:
        return f"spec is {record.get('spec')!r}, not {spec.SPEC}"
    seed = record.get("seed")
    if not isinstance(seed, str) or not seed or seed != seed.strip():
        return "the seed is missing or not stripped"
    if record.get("seed_source") == "parties":
        parties = record.get("seed_parties") or []
        for p in parties:
            if p.get("secret") is None or secret_commitment(p["secret"]) != p["commitment_sha256"]:
                return f"party {p.get('party_id')}: secret missing or not matching its commitment"
        try:
            derived = derive_party_seed((p["party_id"], p["secret"]) for p in parties)
        except DomainError as exc:
            return f"parties seed: {exc.message}"
        if derived != seed:
            return f"seed: parties' reveals give {derived}, record says {seed}"
    committed = []
    for s in record.get("strata", []):
        sid = s["stratum_id"]
        body = lists(sid)
        try:
            usccs = parse_list(body)
            digest = spec.candidates_sha256(usccs)
        except (ValueError, DomainError) as exc:
            return f"stratum {sid}: candidate list is malformed ({exc})"
        if digest != s["candidates_sha256"]:
            said = s["candidates_sha256"]
            return f"stratum {sid}: candidates_sha256 is {digest}, record says {said}"
        if len(usccs) != s["n"]:
            return f"stratum {sid}: n is {len(usccs)}, record says {s['n']}"
        bp, count = s.get("bp"), s.get("count")
        k = spec.sample_size(len(usccs), bp=bp, count=None if bp is not None else count or 0)
        if bp is None and count is None:
            k = s["k"] if 0 <= s["k"] <= len(usccs) else -1
        if k != s["k"]:
            return f"stratum {sid}: k is {s['k']}, spec gives {k}"
        chosen = spec.select(seed, sid, usccs, k)
        if chosen != s["selected"]:
            return f"stratum {sid}: selection differs (spec gives {chosen[:3]}…)"
        committed.append(spec.CommittedStratum(sid, len(usccs), k, digest))
    commitment = spec.commitment_sha256(committed)
    if commitment != record.get("commitment_sha256"):
        return f"commitment_sha256 is {commitment}, record says {record.get('commitment_sha256')}"
    return None
