from dataclasses import replace
from datetime import UTC, datetime

from services.kit.chain import GENESIS, Entry, verify_chain


def _chain(n: int) -> list[Entry]:
    out: list[Entry] = []
    prev = GENESIS
    for i in range(1, n + 1):
        e = Entry(
            "draw",
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


def test_intact_chain_verifies() -> None:
    assert verify_chain(_chain(5)) is None


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


def test_deleted_entry_is_found() -> None:
    chain = _chain(4)
    del chain[1]
    broken = verify_chain(chain)
    assert broken is not None and broken.seq == 3 and "missing" in broken.reason
