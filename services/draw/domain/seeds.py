"""Where a draw's seed comes from (DESIGN §6.3): dice, a public beacon, or parties' commit-reveal.

The commit-reveal lets several parties (the draw officer, a supervisor from the discipline
office, a notary, an entity representative …) make a seed none of them controls alone:
1. after the draw's commitment, each party registers `commitment = sha256(secret)` (hex of the
   UTF-8 secret);
2. once registration is closed, each party reveals its secret, which must hash to its
   commitment;
3. when every registered party has revealed, the seed is the hex SHA-256 of the lines
   `f"{party_id}\\t{secret}\\n"` sorted by party id (ASCII, i.e. UTF-8 byte order).
A party that never reveals stops the ceremony; the draw can then only be redrawn with a written
reason, which stays public next to the abandoned draw (withholding a reveal is visible, never
silent).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from services.draw.domain.spec import normalise_seed, validate_id
from services.kit.errors import Conflict, Invalid

MIN_DICE_DIGITS = 20
MIN_BEACON_HEX = 32
MIN_SECRET_CHARS = 16
MIN_PARTIES = 2

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_HEX = re.compile(r"[0-9A-Fa-f]+", re.ASCII)
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)


class SeedSource(StrEnum):
    """How a seed was made; recorded in the public record as `seed_source`."""

    DICE = "dice"
    BEACON = "beacon"
    PARTIES = "parties"
    # A seed from a computer's random source for demonstrations and tests; labelled as such in
    # the public record, and refused unless the deployment allows it (SPOTCHECK_ALLOW_DEMO_SEED).
    DEMO = "demo"


def check_seed(seed: str, source: SeedSource | str, *, allow_demo: bool = False) -> str:
    """Normalise a dice or beacon seed and check it fits its source; return the stored seed.

    - dice: only the digits 0-9, at least 20 of them (≈ 66 bits from witnesses' rolls);
    - beacon: a public beacon's output value as hex, at least 32 hex digits (NIST beacon
      `outputValue`, drand `randomness`, …), taken exactly as published;
    - demo: like beacon (≥ 32 hex digits), only where `allow_demo` is set;
    - parties: not accepted here; the seed is derived by `PartyCeremony.seed()`.
    """
    try:
        src = SeedSource(source)
    except ValueError:
        raise Invalid(f"unknown seed source {source!r}; use dice, beacon or parties") from None
    value = normalise_seed(seed)
    if src is SeedSource.DICE:
        if not _DIGITS.fullmatch(value):
            raise Invalid("a dice seed is decimal digits only")
        if len(value) < MIN_DICE_DIGITS:
            raise Invalid(f"a dice seed needs at least {MIN_DICE_DIGITS} digits, got {len(value)}")
    elif src is SeedSource.DEMO:
        if not allow_demo:
            raise Invalid(
                "demo seeds are not allowed in this deployment; use dice, beacon or parties"
            )
        if not _HEX.fullmatch(value) or len(value) < MIN_BEACON_HEX:
            raise Invalid(f"a demo seed is hex, ≥ {MIN_BEACON_HEX} digits")
    elif src is SeedSource.BEACON:
        if not _HEX.fullmatch(value) or len(value) < MIN_BEACON_HEX:
            raise Invalid(f"a beacon seed is the beacon's hex output, ≥ {MIN_BEACON_HEX} digits")
    else:
        raise Invalid("a parties seed is derived from the parties' reveals, not entered")
    return value


def secret_commitment(secret: str) -> str:
    """The hex SHA-256 a party registers for its secret (UTF-8, exactly as it will reveal it)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _check_secret(secret: str) -> None:
    if len(secret) < MIN_SECRET_CHARS:
        raise Invalid(f"a secret needs at least {MIN_SECRET_CHARS} characters")
    if secret != secret.strip() or any(c in secret for c in "\t\n\r"):
        raise Invalid("a secret has no surrounding whitespace, tab or line break")


def derive_party_seed(reveals: Iterable[tuple[str, str]]) -> str:
    """Seed from `(party_id, secret)` pairs: SHA-256 of sorted `party_id\\tsecret\\n` lines."""
    pairs = sorted(reveals)
    ids = [p for p, _ in pairs]
    if len(set(ids)) != len(ids):
        raise Invalid("a party appears twice")
    if len(pairs) < MIN_PARTIES:
        raise Invalid(f"a parties seed needs at least {MIN_PARTIES} parties")
    text = "".join(f"{p}\t{s}\n" for p, s in pairs)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Party:
    """A party of the commit-reveal: its commitment and, once revealed, its secret."""

    party_id: str
    commitment_sha256: str
    secret: str | None = None
    registered_by: str = ""


@dataclass(frozen=True, slots=True)
class PartyCeremony:
    """The state of one draw's commit-reveal (immutable; each step returns a new state)."""

    parties: tuple[Party, ...] = ()
    closed: bool = field(default=False)

    def register(self, party_id: str, commitment: str, *, by: str = "") -> PartyCeremony:
        """Register a party's commitment; refused once registration is closed."""
        validate_id(party_id, what="party_id")
        if self.closed:
            raise Conflict("registration is closed: reveals have started")
        if not _HEX64.fullmatch(commitment):
            raise Invalid("a commitment is 64 lowercase hex digits (SHA-256 of the secret)")
        if any(p.party_id == party_id for p in self.parties):
            raise Conflict(f"party {party_id!r} is already registered")
        return replace(self, parties=(*self.parties, Party(party_id, commitment, None, by)))

    def close(self) -> PartyCeremony:
        """Close registration (done implicitly by the first reveal)."""
        if len(self.parties) < MIN_PARTIES:
            raise Conflict(f"at least {MIN_PARTIES} parties must register before reveals")
        return replace(self, closed=True)

    def reveal(self, party_id: str, secret: str) -> PartyCeremony:
        """Reveal a party's secret; it must hash to the registered commitment."""
        state = self if self.closed else self.close()
        _check_secret(secret)
        for i, p in enumerate(state.parties):
            if p.party_id != party_id:
                continue
            if p.secret is not None:
                raise Conflict(f"party {party_id!r} has already revealed")
            if secret_commitment(secret) != p.commitment_sha256:
                raise Invalid(f"the secret of {party_id!r} does not match its commitment")
            parties = list(state.parties)
            parties[i] = replace(p, secret=secret)
            return replace(state, parties=tuple(parties))
        raise Invalid(f"party {party_id!r} is not registered")

    @property
    def complete(self) -> bool:
        """True when registration is closed and every party has revealed."""
        return self.closed and all(p.secret is not None for p in self.parties)

    def seed(self) -> str:
        """The derived seed; refused until every registered party has revealed."""
        if not self.complete:
            missing = [p.party_id for p in self.parties if p.secret is None]
            raise Conflict(f"waiting for reveals from {', '.join(missing) or 'registration'}")
        return derive_party_seed((p.party_id, p.secret or "") for p in self.parties)

    def public(self) -> list[dict[str, str | None]]:
        """The parties as published in the record (commitments and reveals)."""
        return [
            {"party_id": p.party_id, "commitment_sha256": p.commitment_sha256, "secret": p.secret}
            for p in sorted(self.parties, key=lambda p: p.party_id)
        ]
