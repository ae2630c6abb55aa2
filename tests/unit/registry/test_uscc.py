"""USCC check character (GB 32100-2015), cross-checked against python-stdnum."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from services.registry.domain import uscc

KNOWN_GOOD = [
    "91110000600037341L",  # python-stdnum's own example
    "91360202MA3500000A",  # draw reference vectors (DESIGN §6)
    "91360202MA3500011E",
    "92360203L000000006",
    "92360203L00000002C",
]
ALPHA = uscc.ALPHABET
bodies = st.tuples(
    st.text(ALPHA, min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(ALPHA, min_size=9, max_size=9),
).map("".join)


@pytest.mark.parametrize("code", KNOWN_GOOD)
def test_known_good_codes_are_valid(code: str) -> None:
    assert uscc.problem(code) is None
    assert stdnum_uscc.is_valid(code)


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91110000600037341M", "check character"),
        ("91360202MA3500000B", "check character"),
        ("9111000060003734", "18 characters"),
        ("91110000600037341LX", "18 characters"),
        ("9111000060003734IL", "alphabet"),  # I is not used
        ("91110000600037O41L", "alphabet"),  # O is not used
        ("9111000060003S341L", "alphabet"),
        ("91A10000600037341L", "digit"),  # region part must be digits
        ("Z1110000600037341L", "alphabet"),  # Z is not a registration authority character
    ],
)
def test_known_bad_codes_say_why(code: str, fragment: str) -> None:
    why = uscc.problem(code)
    assert why is not None
    assert fragment in why[1]
    assert why[0]  # a Chinese reason too


def test_codes_starting_with_letters_are_accepted() -> None:
    # N = 农业农村 (rural collective organisations), Y = 其他, A = 中央军委改革和编制办公室.
    for head in ("N2", "N3", "Y1", "A1", "51", "13"):
        body = f"{head}360202MA35000A1"
        code = body + uscc.check_character(body)
        assert uscc.is_valid(code)
        # stdnum computes the same check character, though its validate() refuses letters
        assert stdnum_uscc.calc_check_digit(body) == code[-1]
    assert not stdnum_uscc.is_valid("N2360202MA35000A1" + uscc.check_character("N2360202MA35000A1"))


@given(bodies)
def test_check_character_agrees_with_stdnum(body: str) -> None:
    assert uscc.check_character(body) == stdnum_uscc.calc_check_digit(body)
    code = uscc.make(body)
    assert uscc.is_valid(code)
    if body[:8].isdigit():
        assert stdnum_uscc.is_valid(code)


@given(bodies, st.sampled_from(ALPHA))
def test_any_other_check_character_is_refused(body: str, c: str) -> None:
    good = uscc.make(body)
    if c != good[-1]:
        assert not uscc.is_valid(body + c)
        if body[:8].isdigit():
            assert not stdnum_uscc.is_valid(body + c)


def test_normalise_strips_and_upper_cases() -> None:
    assert uscc.normalise(" 91110000600037341l ") == "91110000600037341L"


def test_check_character_refuses_bad_bodies() -> None:
    with pytest.raises(ValueError):
        uscc.check_character("123")
    with pytest.raises(ValueError):
        uscc.check_character("91A10000600037341")
