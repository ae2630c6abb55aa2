"""What the console's browser tests do as an officer: sign in through the form, sign out, and
check a page (fits the width, axe clean, screenshot)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.checks import assert_accessible, assert_fits_width, save_screenshot
from tests.browser.conftest import Seeded


def sign_in(page: Page, stack: Seeded, username: str, path: str = "/console/") -> None:
    """Sign in through the form, as an officer does, going to `path`."""
    page.goto(stack.urls["web"] + "/login?next=" + path)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(str(stack.summary["accounts"]["password"]))
    page.get_by_role("button", name="登录").click()


def sign_out(page: Page) -> None:
    """退出, and back on the sign-in page."""
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/login"))


def check_page(page: Page, name: str) -> None:
    """The page fits the screen's width, axe finds nothing, and a screenshot is kept."""
    assert_fits_width(page)
    assert_accessible(page)
    save_screenshot(page, name)
