"""Frequency exclusions: small lists inline, large ones as one shared object per list."""

from __future__ import annotations

import hashlib

from services.draw.domain.exclusions import (
    INLINE_MAX,
    leaked,
    list_bytes,
    object_name,
    plan_exclusions,
)


def _usccs(n: int, start: int = 0) -> list[str]:
    return [f"91360202MA{i:07d}X" for i in range(start, start + n)]


def test_small_lists_stay_inline_sorted_and_distinct() -> None:
    got = plan_exclusions("D1", {"S.A": ["U2", "U1", "U2"], "S.B": [], "S.C": ["U3"]})
    assert got.inline == {"S.A": ("U1", "U2"), "S.C": ("U3",)}
    assert got.by_object == {} and got.objects == {}


def test_a_list_beyond_the_threshold_goes_to_one_shared_object() -> None:
    big = _usccs(INLINE_MAX + 1)
    small = _usccs(INLINE_MAX)
    got = plan_exclusions(
        "D-x",
        {"S.A": big, "S.B": list(reversed(big)), "S.C": small},
        request_max=10**9,
    )
    # Exactly at the threshold stays inline; beyond it, both strata share one object.
    assert got.inline == {"S.C": tuple(small)}
    body = "".join(u + "\n" for u in big).encode()
    name = f"exclusions/D-x/{hashlib.sha256(body).hexdigest()}.txt"
    assert got.by_object == {"S.A": name, "S.B": name}
    assert got.objects == {name: body}


def test_different_lists_get_different_objects() -> None:
    got = plan_exclusions("D1", {"S.A": ["U1", "U2"], "S.B": ["U1"]}, inline_max=0)
    assert got.inline == {}
    assert got.by_object["S.A"] != got.by_object["S.B"]
    assert sorted(got.objects.values()) == [b"U1\n", b"U1\nU2\n"]


def test_the_whole_request_stays_small_largest_lists_move_out_first() -> None:
    lists = {
        "S.A": _usccs(30),
        "S.B": _usccs(20, 100),
        "S.C": _usccs(10, 200),
        "S.D": _usccs(20, 300),
    }
    got = plan_exclusions("D1", lists, inline_max=1000, request_max=35)
    # 80 inline is too many: S.A (30) goes, then S.B (20; before S.D by id): 30 ≤ 35.
    assert set(got.by_object) == {"S.A", "S.B"}
    assert set(got.inline) == {"S.C", "S.D"}
    assert sum(len(v) for v in got.inline.values()) <= 35


def test_object_bytes_are_in_utf8_byte_order() -> None:
    assert list_bytes(["b", "B", "a", "b"]) == b"B\na\nb\n"
    assert object_name("D1", b"") == f"exclusions/D1/{hashlib.sha256(b'').hexdigest()}.txt"


def test_a_kept_excluded_candidate_is_found() -> None:
    assert leaked(["U1", "U2", "U3"], ["U9"]) is None
    assert leaked(["U1", "U2", "U3"], []) is None
    assert leaked(["U1", "U2", "U3"], ["U3", "U2"]) == "U2"
    assert leaked(iter(["U1", "U2"]), {"U1"}) == "U1"
