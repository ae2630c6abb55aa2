"""The publisher's public notices (公示) as a citizen sees them, on a phone and on a desktop:
each loads with its Chinese heading and the demo's rows, fits a phone's width, passes axe-core's
WCAG 2.1 A/AA rules, and leaves a screenshot (`public-<page>-<viewport>.png`)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.checks import assert_accessible, assert_fits_width, save_screenshot
from tests.browser.conftest import Seeded

# page → its heading, and a cell every seeded stack shows in its table
PAGES = {
    "items": ("抽查事项清单", "企业公示信息的检查"),
    "plans": ("计划公告", "2026"),
    "tasks": ("任务公告", "抽取记录"),
    "results": ("结果公告", "未发现问题"),
}


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("name", list(PAGES))
def test_public_page(
    name: str, viewport: str, browser_stack: Seeded, request: pytest.FixtureRequest
) -> None:
    page: Page = request.getfixturevalue(viewport)
    heading, shown = PAGES[name]
    response = page.goto(f"{browser_stack.urls['publisher']}/public/{name}")
    assert response is not None and response.ok, response and response.status

    expect(page).to_have_title(f"{heading} — “双随机、一公开”公示")
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name=heading)).to_have_attribute(
        "aria-current", "page"
    )
    table = page.get_by_role("table").last
    expect(table.get_by_role("row").nth(1)).to_be_visible()
    expect(page.get_by_role("main").get_by_text(shown).first).to_be_visible()

    assert_fits_width(page)
    assert_accessible(page)
    save_screenshot(page, f"public-{name}-{viewport}")


def test_results_search_on_a_phone(browser_stack: Seeded, phone: Page) -> None:
    """A citizen looks a company up by name with a finger: the search box is labelled, and the
    answer lists that company and keeps what was typed."""
    phone.goto(f"{browser_stack.urls['publisher']}/public/results")
    rows = phone.get_by_role("main").get_by_role("row")
    company = rows.nth(1).get_by_role("cell").nth(1).inner_text()
    phone.get_by_role("searchbox", name="统一社会信用代码或名称").fill(company)
    phone.get_by_role("button", name="查询").tap()

    expect(phone).to_have_url(re.compile(r"/public/results\?q="))
    expect(phone.get_by_role("searchbox", name="统一社会信用代码或名称")).to_have_value(company)
    expect(rows.nth(1).get_by_role("cell").nth(1)).to_have_text(company)
    for cell in rows.locator("td:nth-child(2)").all():
        expect(cell).to_contain_text(company)
