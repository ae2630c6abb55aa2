"""The public site's small decisions: paging, search text, hidden characters, where a
preference link may lead, ratios and stratum ids written for people, validators."""

from __future__ import annotations

import pytest

from services.web.domain.public import (
    Pager,
    back_to,
    display_text,
    etag,
    is_uscc,
    matches_etag,
    page_number,
    ratio,
    search_text,
    stratum_name,
    text_size,
    year_of,
)


def test_pager_counts_rows_and_pages() -> None:
    p = Pager(number=3, size=20, total=95)
    assert (p.offset, p.pages, p.previous, p.next) == (40, 5, 2, 4)
    assert (p.first_row, p.last_row) == (41, 60)
    last = Pager(number=5, size=20, total=95)
    assert (last.next, last.first_row, last.last_row) == (None, 81, 95)
    empty = Pager(number=1, size=20, total=0)
    assert (empty.pages, empty.previous, empty.next, empty.first_row) == (1, None, None, 0)


def test_pager_window_leaves_out_far_pages() -> None:
    far = Pager(number=10, size=20, total=20 * 40)
    assert far.window() == [1, None, 8, 9, 10, 11, 12, None, 40]
    assert Pager(number=1, size=20, total=60).window() == [1, 2, 3]
    assert Pager(number=3, size=20, total=20 * 6).window() == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("raw", "n"), [(None, 1), ("", 1), ("2", 2), ("0", 1), ("-3", 1), ("x", 1), ("99999", 1)]
)
def test_page_numbers_from_urls(raw: str | None, n: int) -> None:
    assert page_number(raw) == n


def test_years_from_urls() -> None:
    assert year_of("2026") == 2026
    assert year_of("1999", default=2026) == 2026
    assert year_of("abc", default=None) is None
    assert year_of("", default=2025) == 2025


def test_display_text_takes_out_controls_and_direction_marks() -> None:
    assert display_text("景德镇\u202egnp.exe") == "景德镇gnp.exe"
    assert display_text("a\x00b\x1b[31mc\u2066d\u2069\u200fe") == "ab[31mcde"
    assert display_text("<b>瓷业</b>") == "<b>瓷业</b>"  # HTML is the template's to escape
    assert display_text(None) == ""


def test_search_text() -> None:
    assert search_text("  91360202ma35  ") == "91360202MA35"
    assert search_text("青花\u202e瓷") == "青花瓷"
    assert search_text("陶" * 80) == "陶" * 50
    assert search_text(None) == ""


def test_uscc_shape() -> None:
    assert is_uscc("91360202MA35AAAA1A")
    assert not is_uscc("91360202MA35AAAA1")  # 17
    assert not is_uscc("91360202MA35AAAAIO")  # I and O are not in the alphabet
    assert not is_uscc("91360202ma35aaaa1a")


@pytest.mark.parametrize(
    ("raw", "to"),
    [
        ("/items?page=2", "/items?page=2"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        (None, "/"),
    ],
)
def test_back_to_stays_on_this_site(raw: str | None, to: str) -> None:
    assert back_to(raw) == to


def test_text_size() -> None:
    assert text_size("large") == "large"
    assert text_size("huge") == "normal"
    assert text_size(None) == "normal"


@pytest.mark.parametrize(
    ("bp", "text"),
    [(500, "5%"), (25, "0.25%"), (250, "2.5%"), (1, "0.01%"), (10000, "100%"), (None, "")],
)
def test_ratio_is_exact(bp: int | None, text: str) -> None:
    assert ratio(bp) == text


def test_stratum_names() -> None:
    s = stratum_name("2026.SCJG-002.A.360202")
    assert s is not None and (s.year, s.item, s.risk_class, s.region, s.joint) == (
        "2026",
        "SCJG-002",
        "A",
        "360202",
        False,
    )
    j = stratum_name("2026.SW-002:joint.360281")
    assert j is not None and (j.item, j.region, j.joint) == ("SW-002", "360281", True)
    assert stratum_name("X") is None


def test_validators() -> None:
    tag = etag(b"page")
    assert tag.startswith('W/"') and etag(b"page") == tag and etag(b"other") != tag
    strong = etag(b"page", weak=False)
    assert not strong.startswith("W/")
    assert matches_etag(tag, tag) and matches_etag(strong, tag)  # weak comparison
    assert matches_etag(f'"x", {tag}', tag) and matches_etag("*", tag)
    assert not matches_etag(None, tag) and not matches_etag('"x"', tag)
