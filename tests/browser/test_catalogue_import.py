"""事项清单导入 in a real browser: policy staff upload 互联网+监管's catalogue export (GB18030
CSV); a bad row is shown with its line and nothing is created; the good export shows what it
adds, changes and withdraws and leads to the candidate's check (desktop and a 390 px phone)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from contracts.common import Role
from tests.browser.checks import save_screenshot
from tests.browser.conftest import PHONE, Seeded
from tests.browser.officers import call, check_page, sign_in
from tests.catalogue_exports import as_csv, changed_export


def upload(page: Page, name: str, data: bytes) -> None:
    page.get_by_label("事项清单文件（.csv / .json）").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}]
    )
    page.get_by_role("button", name="上传并比较").click()


def test_policy_staff_import_the_catalogue(
    browser_stack: Seeded, browser: Browser, desktop: Page
) -> None:
    stack = browser_stack
    before = len(call(stack, "GET", "planner", "/rules/candidates", role=Role.POLICY))
    sign_in(desktop, stack, "policy", "/console/rules")
    desktop.get_by_role("link", name="从“互联网+监管”导入事项清单").click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("事项清单导入")

    rows = changed_export()
    broken = [list(r) for r in rows]
    broken[3][2] = "某某局"  # line 5 of the file
    upload(desktop, "事项清单-错误.csv", as_csv(broken).encode("gb18030"))
    expect(desktop.get_by_role("alert")).to_contain_text("未创建任何候选规则集")
    problem = desktop.locator("table.import-problems tbody tr").first
    expect(problem.locator("td").nth(1)).to_have_text("5")
    expect(problem.locator("td").nth(2)).to_have_text("实施部门")
    expect(problem.locator("td").nth(3)).to_contain_text("某某局")
    check_page(desktop, "console-rules-catalogue-refused-desktop")
    assert len(call(stack, "GET", "planner", "/rules/candidates", role=Role.POLICY)) == before

    upload(desktop, "事项清单.csv", as_csv(rows).encode("gb18030"))
    expect(desktop.get_by_role("heading", level=1)).to_have_text("事项清单比较结果")
    expect(desktop.locator("table.catalogue-added")).to_contain_text("SCJG-101")
    changed = desktop.locator("table.catalogue-changed")
    expect(changed).to_contain_text("经营主体登记事项的检查")
    expect(changed.locator("del").first).to_have_text("市场主体登记事项的检查")
    expect(desktop.locator("table.catalogue-withdrawn")).to_contain_text("SCJG-009")
    check_page(desktop, "console-rules-catalogue-diff-desktop")
    url = desktop.url

    desktop.get_by_role("link", name="检查、模拟并启用候选规则集").click()
    expect(desktop).to_have_url(re.compile(r"/console/rules/candidates/[0-9a-f]{64}$"))
    expect(desktop.locator("p.alert.good").first).to_contain_text("通过")
    expect(desktop.get_by_text("已修改").first).to_be_visible()
    assert len(call(stack, "GET", "planner", "/rules/candidates", role=Role.POLICY)) == before + 1

    # The same pages on a phone: the diff's tables, the refused rows and the list of imports.
    phone = browser.new_context(**PHONE)
    try:
        page = phone.new_page()
        sign_in(page, stack, "policy", url.removeprefix(stack.urls["web"]))
        expect(page.get_by_role("heading", level=1)).to_have_text("事项清单比较结果")
        check_page(page, "console-rules-catalogue-diff-phone")
        save_screenshot(page, "console-rules-catalogue-diff-phone-full", full_page=True)
        page.get_by_role("link", name="事项清单导入").click()
        expect(page.get_by_role("heading", level=2, name="导入记录")).to_be_visible()
        upload(page, "事项清单-错误.csv", as_csv(broken).encode("gb18030"))
        expect(page.locator("table.import-problems tbody tr").first).to_contain_text("实施部门")
        # The reason wraps within the phone's width: read without scrolling sideways.
        reason = page.locator("table.import-problems tbody tr").first.locator("td").nth(3)
        box = reason.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["viewport"]["width"], box
        check_page(page, "console-rules-catalogue-refused-phone")
        save_screenshot(page, "console-rules-catalogue-refused-phone-full", full_page=True)
    finally:
        phone.close()
