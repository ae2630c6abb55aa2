"""Candidate list commitments exactly as DESIGN §6 defines them."""

from __future__ import annotations

import hashlib

import pytest

from services.registry.domain import freeze

# From notes/draw-vectors.json (the reference vectors of spec spotcheck-draw/1).
VECTOR_B = [
    "91360202MA3500000A",
    "91360202MA3500001D",
    "91360202MA3500002G",
    "91360202MA3500003K",
    "91360202MA3500004N",
    "91360202MA3500005R",
    "91360202MA3500006W",
    "91360202MA35000070",
    "91360202MA35000083",
    "91360202MA35000096",
    "91360202MA3500010B",
    "91360202MA3500011E",
]
VECTOR_B_SHA = "8500f03b103c6e2191abb06d894f7a088f43aaf7f7c7b1552f2b4d3f1b780103"
VECTOR_D = [
    "92360203L000000006",
    "92360203L000000019",
    "92360203L00000002C",
    "92360203L00000003F",
    "92360203L00000004J",
]
VECTOR_D_SHA = "5d1a0b9f53523d66d3638b235129ff0c1384aac17652941fead16fb12626e53c"


def test_reference_vectors() -> None:
    assert freeze.candidates_sha256(VECTOR_B) == (12, VECTOR_B_SHA)
    assert freeze.candidates_sha256(VECTOR_D) == (5, VECTOR_D_SHA)


def test_commit_order_sorts_by_bytes_and_dedups() -> None:
    shuffled = list(reversed(VECTOR_B)) + VECTOR_B[:3]
    assert freeze.commit_order(shuffled) == VECTOR_B
    # "…0070" sorts before "…0083" and "…000A" before "…000B": bytes, not numbers
    assert freeze.commit_order(["B", "A", "9", "0"]) == ["0", "9", "A", "B"]


def test_empty_list_commits_to_sha_of_nothing() -> None:
    assert freeze.candidates_sha256([]) == (0, hashlib.sha256(b"").hexdigest())


def test_unsorted_or_repeated_input_is_refused() -> None:
    h = freeze.CandidateHasher()
    h.add(VECTOR_B[1])
    with pytest.raises(freeze.OrderError):
        h.add(VECTOR_B[0])
    h2 = freeze.CandidateHasher()
    h2.add(VECTOR_B[0])
    with pytest.raises(freeze.OrderError):
        h2.add(VECTOR_B[0])


def test_blocks_give_the_same_commitment_as_single_adds() -> None:
    h = freeze.CandidateHasher()
    text = "".join(u + "\n" for u in VECTOR_B).encode()
    h.add_block(text[:95])  # 5 complete lines of 19 bytes
    h.add_block(text[95:])
    assert (h.n, h.hexdigest()) == (12, VECTOR_B_SHA)
    with pytest.raises(freeze.OrderError):
        h.add_block(b"91360202MA3500000A\n")
    with pytest.raises(ValueError):
        freeze.CandidateHasher().add_block(b"no newline")


def test_object_names_and_stratum_ids() -> None:
    assert (
        freeze.object_name("snap-1", "2023.SCJG-001.B.360202")
        == "snap-1/2023.SCJG-001.B.360202.txt"
    )
    assert freeze.check_stratum_id("a:b-c_d.e")
    for bad in ("a/b", "a|b", "a b", "", "区"):
        assert not freeze.check_stratum_id(bad)
    with pytest.raises(ValueError):
        freeze.object_name("snap", "../etc")


def test_trusted_blocks_check_only_their_joins() -> None:
    text = "".join(u + "\n" for u in VECTOR_B).encode()
    h = freeze.CandidateHasher()
    h.add_block(text[:95], lines=5)
    h.add_block(text[95:], lines=7)
    assert (h.n, h.hexdigest()) == (12, VECTOR_B_SHA)
    with pytest.raises(freeze.OrderError):
        h.add_block(text[:19], lines=1)


def test_stratum_codes_sort_like_their_numbers() -> None:
    codes = [freeze.stratum_code(i) for i in (0, 1, 25, 26, 27, 700, freeze.MAX_STRATA - 1)]
    assert codes[:4] == ["aaaa", "aaab", "aaaz", "aaba"]
    assert codes == sorted(codes) and all(len(c) == freeze.CODE_WIDTH for c in codes)
    with pytest.raises(ValueError):
        freeze.stratum_code(freeze.MAX_STRATA)


def _stream(pairs: list[tuple[int, str]]) -> bytes:
    return "".join(f"{freeze.stratum_code(i)}\t{u}\n" for i, u in pairs).encode()


def test_split_strata_cuts_runs_and_drops_the_codes() -> None:
    pairs = [(0, u) for u in VECTOR_B[:3]] + [(2, u) for u in VECTOR_B[3:]] + [(30, VECTOR_D[0])]
    runs = freeze.split_strata(_stream(pairs))
    assert [(c, n) for c, _, n in runs] == [(b"aaaa", 3), (b"aaac", 9), (b"aabe", 1)]
    assert runs[1][1] == "".join(u + "\n" for u in VECTOR_B[3:]).encode()
    # lines of different widths take the line-by-line way and give the same runs
    odd = _stream(pairs) + b"aabe\tSHORT\n"
    slow = freeze.split_strata(odd)
    assert [(c, n) for c, _, n in slow] == [(b"aaaa", 3), (b"aaac", 9), (b"aabe", 2)]
    assert slow[2][1] == (VECTOR_D[0] + "\nSHORT\n").encode()
    assert freeze.split_strata(b"") == []
    with pytest.raises(ValueError):
        freeze.split_strata(b"no tab here\n")
