"""The ceremony: seed sources, commit-reveal, states, redraw."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from services.draw.domain import machine, seeds
from services.draw.domain.machine import DrawState
from services.draw.domain.seeds import PartyCeremony, SeedSource
from services.kit.errors import Conflict, Invalid

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
H = "ab" * 32


def committed() -> machine.Draw:
    return machine.commit(machine.new_draw("D1", "P1"), H, at=NOW)


def test_seed_before_commitment_is_refused() -> None:
    d = machine.new_draw("D1", "P1")
    with pytest.raises(Conflict) as e:
        machine.accept_seed(d, "1" * 20, source=SeedSource.DICE, entered_by="officer", at=NOW)
    assert e.value.code == "seed_before_commitment"


def test_second_seed_is_refused() -> None:
    d = machine.accept_seed(
        committed(), "1" * 20, source=SeedSource.DICE, entered_by="officer", at=NOW
    )
    assert d.state is DrawState.SEEDED and d.seed_entered_by == "officer" and d.seeded_at == NOW
    with pytest.raises(Conflict) as e:
        machine.accept_seed(d, "2" * 20, source=SeedSource.DICE, entered_by="officer", at=NOW)
    assert e.value.code == "seed_already_given"
    with pytest.raises(Conflict):
        machine.commit(d, H, at=NOW)


def test_the_full_path() -> None:
    d = machine.accept_seed(committed(), "1" * 20, source=SeedSource.DICE, entered_by="o", at=NOW)
    with pytest.raises(Conflict):
        machine.mark_completed(d)
    d = machine.mark_completed(machine.mark_selected(d))
    assert d.state is DrawState.COMPLETED


NONE = machine.WorkDone()


def _redrawn(
    d: machine.Draw, reason: str = " 名录库导入错误 "
) -> tuple[machine.Draw, machine.Draw]:
    asked = machine.request_redraw(d, reason=reason, by="officer.li", at=NOW, done=NONE)
    return machine.confirm_redraw(asked, new_draw_id="D2", by="officer.wang", at=NOW, done=NONE)


def test_redraw_needs_a_written_reason_and_keeps_the_first() -> None:
    d = machine.accept_seed(committed(), "1" * 20, source=SeedSource.DICE, entered_by="o", at=NOW)
    for reason in ("", "   ", "ab"):
        with pytest.raises(Invalid) as e:
            machine.request_redraw(d, reason=reason, by="officer", at=NOW, done=NONE)
        assert e.value.code == "reason_required"
    old, new = _redrawn(d)
    assert old.state is DrawState.SUPERSEDED and old.superseded_by == "D2"
    assert old.seed == d.seed and old.commitment_sha256 == d.commitment_sha256
    assert old.redraw_reason == "名录库导入错误"
    assert new.state is DrawState.FREEZING and new.supersedes == "D1" and new.plan_id == "P1"
    with pytest.raises(Conflict):
        machine.request_redraw(old, reason="again and again", by="officer", at=NOW, done=NONE)
    with pytest.raises(Conflict):
        machine.accept_seed(old, "3" * 20, source=SeedSource.DICE, entered_by="o", at=NOW)


@pytest.mark.parametrize(
    ("seed", "source", "ok"),
    [
        ("12345678901234567890", "dice", True),
        (" 12345678901234567890\n", "dice", True),
        ("1234567890123456789", "dice", False),
        ("1234567890 1234567890", "dice", False),
        ("１２３４５６７８９０１２３４５６７８９０", "dice", False),
        ("a" * 64, "beacon", True),
        ("a" * 31, "beacon", False),
        ("zz" * 20, "beacon", False),
        ("12345678901234567890", "parties", False),
        ("12345678901234567890", "coin", False),
    ],
)
def test_seed_sources(seed: str, source: str, ok: bool) -> None:
    if ok:
        assert seeds.check_seed(seed, source) == seed.strip()
    else:
        with pytest.raises(Invalid):
            seeds.check_seed(seed, source)


SECRETS = {"notary": "s3cr3t-notary-2026-11-24", "officer.li": "correct horse battery staple"}


def registered() -> PartyCeremony:
    c = PartyCeremony()
    for p, s in SECRETS.items():
        c = c.register(p, seeds.secret_commitment(s))
    return c


def test_commit_reveal_derives_the_documented_seed(own_vectors: dict[str, Any]) -> None:
    c = registered()
    with pytest.raises(Conflict):
        c.seed()
    c = c.reveal("notary", SECRETS["notary"])
    with pytest.raises(Conflict):
        c.register("late", H)  # registration closed by the first reveal
    with pytest.raises(Conflict):
        c.seed()
    c = c.reveal("officer.li", SECRETS["officer.li"])
    text = "".join(f"{p}\t{SECRETS[p]}\n" for p in sorted(SECRETS))
    assert c.seed() == hashlib.sha256(text.encode()).hexdigest()
    ex = own_vectors["parties_example"]
    pairs = [(p["party_id"], p["secret"]) for p in ex["parties"]]
    assert seeds.derive_party_seed(pairs) == ex["seed"]
    assert all(
        seeds.secret_commitment(p["secret"]) == p["commitment_sha256"] for p in ex["parties"]
    )


def test_commit_reveal_refusals() -> None:
    with pytest.raises(Conflict):
        PartyCeremony().register("a", H).reveal("a", "x" * 16)  # one party is not enough
    c = registered()
    with pytest.raises(Conflict):
        c.register("notary", H)
    with pytest.raises(Invalid):
        c.register("x", "not-a-hash")
    with pytest.raises(Invalid):
        c.register("a|b", H)
    with pytest.raises(Invalid):
        c.reveal("notary", "a-different-secret-of-length")
    with pytest.raises(Invalid):
        c.reveal("nobody", "a-different-secret-of-length")
    c = c.reveal("notary", SECRETS["notary"])
    with pytest.raises(Conflict):
        c.reveal("notary", SECRETS["notary"])
    assert [p["secret"] for p in c.public()] == [SECRETS["notary"], None]
