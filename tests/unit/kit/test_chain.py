from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.kit.chain import (
    GENESIS,
    HASHED_FIELDS,
    Anchor,
    Entry,
    Head,
    differing_fields,
    verify_chain,
)


def _chain(n: int, service: str = "draw") -> list[Entry]:
    out: list[Entry] = []
    prev = GENESIS
    for i in range(1, n + 1):
        e = Entry(
            service,
            i,
            datetime(2026, 3, 1, 9, i, tzinfo=UTC),
            "officer",
            "seed",
            f"d{i}",
            {"k": i, "名称": "昌江区"},
            prev,
        )
        e = replace(e, sha256=e.digest())
        out.append(e)
        prev = e.sha256
    return out


def _anchor(copies: list[Entry], head: Entry | None = None) -> Anchor:
    anchor = Anchor(service="draw")
    for i, e in enumerate(copies, start=1):
        anchor.add(e, i)
    if head is not None:
        anchor.head = Head(head.seq, head.sha256)
    return anchor


def test_intact_chain_verifies() -> None:
    assert verify_chain(_chain(5)) is None
    assert verify_chain(_chain(5), _anchor(_chain(5), head=_chain(5)[-1])) is None
    # Entries not copied yet (the relay runs after commit) are checked by the chain alone.
    assert verify_chain(_chain(5), _anchor(_chain(3), head=_chain(3)[-1])) is None


def test_altered_data_is_found_at_its_entry() -> None:
    chain = _chain(5)
    chain[2] = replace(chain[2], data={"k": 999, "名称": "昌江区"})
    broken = verify_chain(chain)
    assert broken is not None and broken.seq == 3 and "altered" in broken.reason


def test_rehashed_entry_breaks_the_next_link() -> None:
    chain = _chain(5)
    forged = replace(chain[1], actor="someone else")
    chain[1] = replace(forged, sha256=forged.digest())
    broken = verify_chain(chain)
    assert broken is not None and broken.seq == 3 and "prev_sha256" in broken.reason


def test_deleted_entry_is_named() -> None:
    chain = _chain(4)
    del chain[1]
    broken = verify_chain(chain)
    assert broken is not None and broken.seq == 2 and "entry 2 is missing" in broken.reason


# ---- every hashed field is pinned: changing it alone changes the digest ------------------


def _changed(entry: Entry, name: str) -> Any:
    """A different value of one field, as small a change as the field allows."""
    changes: dict[str, Any] = {
        "service": lambda v: "planner",
        "seq": lambda v: v + 1,
        "at": lambda v: v + timedelta(microseconds=1),
        "actor": lambda v: v + "x",
        "action": lambda v: v + "x",
        "subject": lambda v: v + "x",
        "data": lambda v: {**v, "k": v["k"] + 1},
        "prev_sha256": lambda v: "f" * 64,
    }
    return changes[name](getattr(entry, name))


def test_the_hashed_fields_are_every_field_but_the_hash() -> None:
    assert set(HASHED_FIELDS) == {f.name for f in fields(Entry)} - {"sha256"}


@pytest.mark.parametrize("name", HASHED_FIELDS)
def test_each_hashed_field_changes_the_digest(name: str) -> None:
    entry = _chain(3)[1]
    forged = replace(entry, **{name: _changed(entry, name)})
    assert forged.digest() != entry.digest()
    # …and so a stored entry with that one field changed no longer verifies.
    chain = _chain(3)
    chain[1] = forged
    broken = verify_chain(chain)
    assert broken is not None and broken.seq == 2, name


def test_the_digest_is_canonical_json_of_the_hashed_fields() -> None:
    """The body hashed is pinned too, so that an outside verifier can recompute it."""
    import hashlib
    import json

    e = _chain(1)[0]
    body = {f: getattr(e, f) for f in HASHED_FIELDS} | {"at": e.at.isoformat()}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert e.digest() == hashlib.sha256(text.encode()).hexdigest()


# ---- against the copy on the AUDIT stream ------------------------------------------------


def _rewritten_from(chain: list[Entry], start: int, **change: Any) -> list[Entry]:
    """The chain with entries from index `start` on changed and every hash recomputed."""
    out = chain[:start]
    prev = out[-1].sha256 if out else GENESIS
    for e in chain[start:]:
        e = replace(e, prev_sha256=prev, **change)
        e = replace(e, sha256=e.digest())
        out.append(e)
        prev = e.sha256
    return out


def test_a_run_rewritten_with_recomputed_hashes_is_named_by_its_copy() -> None:
    original = _chain(6)
    forged = _rewritten_from(original, 2, actor="someone else")
    assert verify_chain(forged) is None  # the chain alone cannot tell
    broken = verify_chain(forged, _anchor(original))
    assert broken is not None and (broken.seq, broken.kind) == (3, "rewritten")
    assert differing_fields(forged[2], original[2]) == ["actor", "sha256"]
    assert differing_fields(forged[3], original[3]) == ["actor", "prev_sha256", "sha256"]


def test_a_deleted_last_entry_is_named_as_missing() -> None:
    original = _chain(5)
    assert verify_chain(original[:-1]) is None  # the chain alone cannot tell
    broken = verify_chain(original[:-1], _anchor(original))
    assert broken is not None and (broken.seq, broken.kind) == (5, "missing")
    assert "entry 5 is missing from PostgreSQL" in broken.reason
    broken = verify_chain([], _anchor(original))
    assert broken is not None and broken.seq == 1


def test_a_truncated_tail_is_found_by_the_head_alone() -> None:
    original = _chain(5)
    broken = verify_chain(original[:3], _anchor(original[:2], head=original[4]))
    assert broken is not None and (broken.seq, broken.kind) == (4, "missing")
    assert "published chain head is entry 5" in broken.reason
    other = _rewritten_from(original, 4, subject="x")
    broken = verify_chain(other, _anchor(original[:2], head=original[4]))
    assert broken is not None and (broken.seq, broken.kind) == (5, "head")


def test_a_deleted_middle_entry_is_named_as_missing_from_postgresql() -> None:
    original = _chain(5)
    broken = verify_chain(original[:2] + original[3:], _anchor(original))
    assert broken is not None and broken.seq == 3
    assert "missing from PostgreSQL; the AUDIT stream holds it" in broken.reason


def test_faulty_copies_on_the_stream_are_named() -> None:
    original = _chain(4)
    anchor = _anchor(original)
    forged = replace(original[1], actor="x")  # a copy inconsistent with its own sha256
    anchor.add(forged, 99)
    other = _rewritten_from(original, 2, action="other")[2]  # a second, different copy
    anchor.add(other, 100)
    assert anchor.sha256[3] == original[2].sha256  # the first copy counts
    broken = verify_chain(original, anchor)
    assert broken is not None and (broken.seq, broken.kind) == (2, "copy")
    assert "does not match its own sha256" in broken.reason
    assert anchor.faults[3] == "the AUDIT stream holds two different copies of it"
