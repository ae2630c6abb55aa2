"""The text rule of services/kit/edge.py, one character class at a time."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from services.kit.edge import MAX_LIMIT, MAX_OFFSET, MAX_ROW_ID, Limit, Offset, RowId, text_problem


@pytest.mark.parametrize(
    "char",
    [
        "\x00",
        "\x01",
        "\x08",
        "\x0b",
        "\x0c",
        "\x1b",
        "\x1f",
        "\x7f",
        "\x80",
        "\x85",
        "\x9f",
        "\ud800",
        "\udfff",
    ],
    ids=lambda c: f"U+{ord(c):04X}",
)
def test_control_characters_and_lone_surrogates_are_refused_everywhere(char: str) -> None:
    for multiline in (True, False):
        problem = text_problem(f"ab{char}c", multiline=multiline)
        assert problem is not None and f"U+{ord(char):04X} at position 2" in problem


@pytest.mark.parametrize("char", ["\t", "\n", "\r"], ids=repr)
def test_tab_and_line_breaks_only_in_multi_line_text(char: str) -> None:
    assert text_problem(f"第一行{char}第二行", multiline=True) is None
    assert text_problem(f"第一行{char}第二行", multiline=False) is not None


def test_ordinary_text_passes() -> None:
    for text in ("", "景德镇测试瓷业有限公司", "91360202MA35XXXX0A", "a\u00a0b", "😀", "¥100"):
        assert text_problem(text, multiline=False) is None


def test_paging_numbers_are_bounded() -> None:
    for kind, low, high in ((Limit, 1, MAX_LIMIT), (Offset, 0, MAX_OFFSET), (RowId, 0, MAX_ROW_ID)):
        adapter = TypeAdapter(kind)
        assert adapter.validate_python(low) == low and adapter.validate_python(high) == high
        for bad in (low - 1, high + 1, 10**20):
            with pytest.raises(ValidationError):
                adapter.validate_python(bad)
    assert MAX_ROW_ID == 2**63 - 1  # PostgreSQL's bigint: a 20-digit number never reaches it
