"""Frequency exclusions: small lists inline, large ones as one shared object per list."""

from __future__ import annotations

import hashlib

from services.draw.domain.exclusions import (
    INLINE_MAX,
    leaked,
    list_bytes,
    object_name,
    per_stratum,
    plan_exclusions,
    windows_of,
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


# -- which window applies to which stratum (issue 11: windows follow each stratum's rules) ---

STRATA = [
    ("2026.I1.A.360202", ["I1"]),
    ("2026.I1.B.360202", ["I1"]),
    ("2026.I1.B.360203", ["I1"]),
    ("2026.I1.D.360202", ["I1"]),
    ("2026.J.B.360202", ["I1", "I2"]),  # a joint stratum
    ("2026.I3.B.360202", ["I3"]),
]


def test_a_window_naming_its_strata_reaches_no_other_class() -> None:
    windows = [
        (["I1"], ["2026.I1.A.360202"]),  # class A: once in 24 months
        (["I1"], ["2026.I1.B.360202", "2026.I1.B.360203"]),  # B: once in 12
        (["I1"], ["2026.I1.D.360202"]),  # D: twice in 12
        (["I1", "I2"], ["2026.J.B.360202"]),
    ]
    assert windows_of(STRATA, windows) == {
        "2026.I1.A.360202": (0,),
        "2026.I1.B.360202": (1,),
        "2026.I1.B.360203": (1,),
        "2026.I1.D.360202": (2,),
        "2026.J.B.360202": (3,),
    }


def test_a_window_from_an_older_plan_applies_by_item_as_it_did() -> None:
    # Plans approved before windows named their strata: every stratum with one of the items.
    windows = [(["I1"], []), (["I2"], []), (["I9"], [])]
    assert windows_of(STRATA, windows) == {
        "2026.I1.A.360202": (0,),
        "2026.I1.B.360202": (0,),
        "2026.I1.B.360203": (0,),
        "2026.I1.D.360202": (0,),
        "2026.J.B.360202": (0, 1),
    }


def test_strata_under_the_same_windows_share_one_sorted_tuple() -> None:
    which = {"S.A": (0,), "S.B1": (1,), "S.B2": (1,), "S.J": (0, 1), "S.D": (2,)}
    found = [["U3", "U1"], ["U2", "U1"], []]
    got = per_stratum(which, found)
    assert got == {
        "S.A": ("U1", "U3"),
        "S.B1": ("U1", "U2"),
        "S.B2": ("U1", "U2"),
        "S.J": ("U1", "U2", "U3"),
    }
    assert got["S.B1"] is got["S.B2"]  # one object: sorted, hashed and checked once
    # beyond the inline threshold, one object per distinct list: the B strata share theirs
    sent = plan_exclusions("D1", got, inline_max=1)
    assert sent.inline == {} and len(sent.objects) == 3
    assert sent.by_object["S.B1"] == sent.by_object["S.B2"] != sent.by_object["S.A"]
