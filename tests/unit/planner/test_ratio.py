from __future__ import annotations

import pytest

from contracts.rules import parse_factor, parse_ratio
from services.planner.domain.checks import pct
from services.planner.domain.effects import sample_size


@pytest.mark.parametrize(
    ("text", "bp"),
    [
        ("5%", 500),
        ("0.5%", 50),
        ("12.25%", 1225),
        ("100%", 10000),
        ("0%", 0),
        ("50bp", 50),
        (" 7 % ", 700),
        ("0.05%", 5),
    ],
)
def test_ratio_is_read_exactly(text: str, bp: int) -> None:
    assert parse_ratio(text) == bp


@pytest.mark.parametrize("bad", [0.05, 5, "5", "5.123%", "five%", True, None, "-1%"])
def test_ratio_refuses_numbers_and_junk(bad: object) -> None:
    with pytest.raises(ValueError, match="ratio must"):
        parse_ratio(bad)


def test_factor_is_exact() -> None:
    assert parse_factor("0.5") == (5, 10)
    assert parse_factor(15) == (15, 1)
    assert parse_factor("1.25") == (125, 100)
    with pytest.raises(ValueError, match="factor"):
        parse_factor("1e3")


@pytest.mark.parametrize(
    ("n", "bp", "k"),
    [
        (100, 700, 7),
        (1, 500, 1),
        (50, 0, 0),
        (3, 10000, 3),
        (0, 500, 0),
        (101, 500, 6),
        (10**7, 1, 1000),
        (20, 10000, 20),
    ],
)
def test_sample_size_is_integer_ceiling_capped_at_n(n: int, bp: int, k: int) -> None:
    assert sample_size(n, bp) == k


def test_pct_writes_back() -> None:
    assert [pct(x) for x in (500, 50, 1225, 0, 10000, 5)] == [
        "5%",
        "0.5%",
        "12.25%",
        "0%",
        "100%",
        "0.05%",
    ]
