"""The browser checks themselves, on small pages of known faults: a check that cannot fail
proves nothing (the first overflow check, on `innerWidth`, passed a 556 px table on a 390 px
phone)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.checks import assert_accessible, assert_fits_width

HEAD = (
    '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>测试</title>'
    "</head><body><main><h1>测试</h1>"
)
WIDE_TABLE = "<table><tr>" + "<td>91360202MA9YJAWDEB</td>" * 4 + "</tr></table>"


def test_a_wide_table_sticks_out_of_a_phone(phone: Page) -> None:
    phone.set_content(HEAD + WIDE_TABLE + "</main></body></html>")
    with pytest.raises(AssertionError, match=r"on a 390 px screen; sticking out: table"):
        assert_fits_width(phone)


def test_a_wide_table_in_a_scrolling_box_fits(phone: Page) -> None:
    box = f'<div style="overflow-x:auto" tabindex="0">{WIDE_TABLE}</div>'
    phone.set_content(HEAD + box + "</main></body></html>")
    assert_fits_width(phone)


def test_serious_violations_are_listed(desktop: Page) -> None:
    faults = (
        '<p style="color:#aaa;background:#fff">浅灰色文字</p>'  # contrast: serious
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'  # no alt: critical
        "<label>名称</label><input>"  # no accessible name: critical
    )
    desktop.set_content(HEAD + faults + "</main></body></html>")
    with pytest.raises(AssertionError) as failed:
        assert_accessible(desktop)
    text = str(failed.value)
    for rule in ("color-contrast [serious]", "image-alt [critical]", "label [critical]"):
        assert rule in text, text
    assert "p" in text and "img" in text and "input" in text


def test_a_clean_page_passes(desktop: Page) -> None:
    desktop.set_content(HEAD + "<p>双随机、一公开</p></main></body></html>")
    assert_accessible(desktop)


def test_a_scrolling_box_must_be_reachable_by_keyboard(phone: Page) -> None:
    """Why the public pages' table boxes have tabindex="0": without it a keyboard user cannot
    scroll them."""
    phone.set_content(HEAD + f'<div style="overflow-x:auto">{WIDE_TABLE}</div></main></body>')
    with pytest.raises(AssertionError, match=r"scrollable-region-focusable \[serious\]"):
        assert_accessible(phone)
