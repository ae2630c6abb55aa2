"""联合抽查 in the officers' console (#13): market regulation's planner starts a joint plan and
invites taxation (能联尽联); taxation's planner joins with its own items; the lead submits once
every department joined, and the approved plan shows its joint share. Refusals show next to
their fields, in Chinese; every page passes axe-core, and the draft's page (the departments,
their items, the join form) is checked at a phone's 390 px and a tablet's 768 px too."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from contracts.common import Role
from services.kit.auth import issue_token
from tests.browser.conftest import PHONE, TABLET, Seeded
from tests.browser.officers import check_page, sign_in, sign_out


def _operator(stack: Seeded) -> dict[str, str]:
    key = (Path(stack.env["SPOTCHECK_VAR_DIR"]) / "jwt.key").read_bytes().strip()
    token = issue_token(key, role=Role.OPERATOR, sub="test", ttl_s=600)
    return {"Authorization": f"Bearer {token}"}


def _sw_planner(stack: Seeded) -> str:
    """A planner account of taxation (the demo has market regulation's only)."""
    username = f"planner-sw-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        stack.urls["web"] + "/admin/users",
        headers=_operator(stack),
        json={
            "username": username,
            "display_name": "税务计划员",
            "role": "planner",
            "department": "SW",
            "password": str(stack.summary["accounts"]["password"]),
        },
        timeout=30,
    )
    r.raise_for_status()
    return username


def _draft_on_small_screens(browser: Browser, stack: Seeded, username: str, plan_id: str) -> None:
    """The draft's page as `username` sees it, on a 390 px phone and a 768 px tablet: its
    heading, the departments' table and the join form fit the width and pass axe."""
    for name, options in (("phone", PHONE), ("tablet", TABLET)):
        context = browser.new_context(**options)
        try:
            page = context.new_page()
            sign_in(page, stack, username, f"/console/plans/joint/{plan_id}")
            expect(page.get_by_role("heading", level=1)).to_contain_text(plan_id)
            expect(page.locator("#members-h ~ .table-wrap tbody tr")).to_have_count(2)
            check_page(page, f"console-joint-open-{name}")
        finally:
            context.close()


def test_a_joint_plan_is_started_joined_and_submitted(
    browser_stack: Seeded, desktop: Page, browser: Browser
) -> None:
    stack = browser_stack
    sw_user = _sw_planner(stack)
    plan_id = f"J2026-BT-{uuid.uuid4().hex[:6].upper()}"
    title = f"浏览器测试：{plan_id} 市场监管与税务联合抽查"

    sign_in(desktop, stack, "planner-scjg", "/console/plans")
    expect(desktop.get_by_role("heading", level=2, name="联合抽查")).to_be_visible()
    desktop.get_by_role("link", name="发起联合抽查").click()
    expect(desktop.get_by_role("heading", level=1, name="发起联合抽查")).to_be_visible()
    # Only the lead's own items are offered; taxation is invited.
    expect(desktop.get_by_label("纳入 SW-001", exact=False)).to_have_count(0)
    desktop.get_by_label("计划编号（必填，各部门据此加入）").fill(plan_id)
    desktop.get_by_label("计划名称").fill(title)
    desktop.get_by_label("区划代码（6位，多个用空格或逗号分隔）").fill("36020")
    desktop.get_by_label("纳入 SCJG-002 市场主体登记事项的检查").check()
    desktop.get_by_label("SCJG-002 基础比例（%）").fill("3")
    desktop.get_by_role("button", name="发起联合抽查").click()
    # Refused, each reason next to its field, in Chinese.
    expect(desktop.locator("#regions-error")).to_have_text("“36020”不是6位区划代码")
    expect(desktop.locator("#departments-error")).to_have_text("请至少邀请一个其他部门")
    check_page(desktop, "console-joint-refused-desktop")

    desktop.get_by_label("区划代码（6位，多个用空格或逗号分隔）").fill("360202")
    desktop.get_by_role("checkbox", name="税务").check()
    desktop.get_by_label("报同级人民政府备案日期（应在2月底前）").fill("2026-02-20")
    desktop.get_by_label("录入平台日期（应在3月31日前；不填即今天）").fill("2026-03-10")
    desktop.get_by_role("button", name="发起联合抽查").click()
    expect(desktop.get_by_role("status")).to_have_text("联合抽查已发起，等待受邀部门加入。")
    members = desktop.locator("#members-h ~ .table-wrap tbody tr")
    expect(members.filter(has_text="税务")).to_contain_text("待加入")
    expect(members.filter(has_text="市场监管")).to_contain_text("已加入")
    expect(desktop.get_by_role("button", name="提交联合抽查计划")).to_be_disabled()
    check_page(desktop, "console-joint-open-desktop")
    sign_out(desktop)
    # Taxation's planner may open it on a phone or a tablet: the join form fits there too.
    _draft_on_small_screens(browser, stack, sw_user, plan_id)

    # Taxation's planner finds it on the plans page and joins with its own items.
    sign_in(desktop, stack, sw_user, "/console/plans")
    row = desktop.locator("#joint-h ~ .table-wrap tbody tr").filter(has_text=plan_id)
    expect(row).to_contain_text("待加入")
    row.get_by_role("link", name=title).click()
    expect(desktop.get_by_role("heading", level=1, name=title)).to_be_visible()
    expect(desktop.get_by_role("button", name="提交联合抽查计划")).to_have_count(0)
    desktop.get_by_label("纳入 SW-001", exact=False).check()
    desktop.get_by_role("button", name="加入联合抽查").click()
    expect(desktop.locator("#item-SW-001-error")).to_have_text(
        "抽查比例和抽取户数须填写且只填写一项"
    )
    desktop.get_by_label("SW-001 基础比例（%）").fill("2")
    desktop.get_by_role("button", name="加入联合抽查").click()
    expect(desktop.get_by_role("status")).to_have_text("本部门的检查事项已保存。")
    expect(members.filter(has_text="税务")).to_contain_text("已加入")
    expect(members.filter(has_text="税务")).to_contain_text("SW-001 2%")
    check_page(desktop, "console-joint-joined-desktop")
    sign_out(desktop)

    # The lead submits: the plan is checked and stored like any other, its joint share shown.
    sign_in(desktop, stack, "planner-scjg", f"/console/plans/joint/{plan_id}")
    desktop.get_by_role("button", name="提交联合抽查计划").click()
    expect(desktop.get_by_role("status")).to_have_text("计划已提交并通过检查。")
    expect(desktop.get_by_role("heading", level=1, name=title)).to_be_visible()
    desktop.goto(stack.urls["web"] + "/console/plans")
    plans = desktop.get_by_role("region", name="抽查计划")
    expect(plans.locator("tbody tr").filter(has_text=plan_id)).to_contain_text("能联尽联")
    drafts = desktop.locator("#joint-h ~ .table-wrap tbody tr").filter(has_text=plan_id)
    expect(drafts).to_contain_text("已提交")
    check_page(desktop, "console-joint-plans-desktop")
