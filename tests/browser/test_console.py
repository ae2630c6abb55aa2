"""The officers' console (`/console/`) as officers use it, on a desktop (1366×900): a draw
officer runs a whole ceremony with dice digits typed by a witness, watches the presentation
screen, exports the selection, and asks for a redraw that a second officer confirms; roles see
a 403 page where they must. Every page passes axe-core and fits the width, and leaves a
screenshot (`console-*.png`) for the guide.
"""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from contracts.common import Role
from services.kit.auth import issue_token
from tests.browser.checks import assert_accessible, assert_fits_width, save_screenshot
from tests.browser.conftest import DESKTOP, Seeded

DICE = "31415926535897932384626433"


def _token(stack: Seeded, role: Role, sub: str, dept: str | None = None) -> str:
    key = (Path(stack.env["SPOTCHECK_VAR_DIR"]) / "jwt.key").read_bytes().strip()
    return issue_token(key, role=role, sub=sub, dept=dept, ttl_s=600)


def _call(
    stack: Seeded,
    method: str,
    service: str,
    path: str,
    *,
    role: Role,
    dept: str | None = None,
    json: Any = None,
) -> Any:
    r = httpx.request(
        method,
        stack.urls[service] + path,
        headers={"Authorization": f"Bearer {_token(stack, role, 'test', dept)}"},
        json=json,
        timeout=60,
    )
    r.raise_for_status()
    return r.json()


def approved_plan(stack: Seeded, title: str) -> dict[str, Any]:
    """A small approved plan of market regulation with no draw yet (submitted over the API)."""
    plan_id = f"P2026-BT-{uuid.uuid4().hex[:8].upper()}"
    body = {
        "plan_id": plan_id,
        "title": title,
        "year": 2026,
        "departments": ["SCJG"],
        "scope": {"regions": ["360202"]},
        "period": {"start": "2026-12-01", "end": "2026-12-31"},
        "items": [{"item": "SCJG-006", "ratio": "3%"}],
        "filed_on": "2026-02-20",
    }
    _call(stack, "POST", "planner", "/plans", role=Role.PLANNER, dept="SCJG", json=body)
    return body


def sign_in(page: Page, stack: Seeded, username: str, path: str = "/console/") -> None:
    """Sign in through the form, as an officer does, going to `path`."""
    page.goto(stack.urls["web"] + "/login?next=" + path)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(str(stack.summary["accounts"]["password"]))
    page.get_by_role("button", name="登录").click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/login"))


def check_page(page: Page, name: str) -> None:
    assert_fits_width(page)
    assert_accessible(page)
    save_screenshot(page, name)


def test_a_draw_officer_runs_the_ceremony_and_two_officers_redraw(
    browser_stack: Seeded, browser: Browser
) -> None:
    stack = browser_stack
    plan = approved_plan(stack, "浏览器测试：广告发布行为专项抽查计划")
    context = browser.new_context(**DESKTOP, accept_downloads=True)
    page = context.new_page()
    sign_in(page, stack, "draw-officer")
    # Officers land on their console section: a draw officer on 公开抽取.
    expect(page).to_have_url(re.compile(r"/console/draws$"))
    expect(page.get_by_role("heading", level=1, name="公开抽取")).to_be_visible()
    check_page(page, "console-draws-desktop")

    # 1. Freeze and commit: the commitment large, with its QR code.
    page.get_by_role("button", name=f"开始抽取：{plan['title']}").click()
    expect(page.get_by_role("status").filter(has_text="已冻结候选名单")).to_be_visible()
    draw_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    status = _call(stack, "GET", "draw", f"/draws/{draw_id}", role=Role.AUDITOR)
    assert status["plan_id"] == plan["plan_id"] and status["state"] == "committed"
    digest = status["commitment_sha256"]
    expect(page.locator(".hash").first).to_contain_text(digest[:8])
    expect(page.get_by_role("button", name="复制承诺值")).to_be_visible()
    expect(page.locator("figure.qr svg")).to_be_visible()
    check_page(page, "console-draw-committed-desktop")

    # The public screen in the room: large type, the live steps, no controls.
    screen = context.new_page()
    screen.goto(stack.urls["web"] + f"/console/draws/{draw_id}/present")
    expect(screen.locator(".present-state")).to_have_text("已公布承诺值，待取种子")
    expect(screen.locator(".hash.huge").first).to_contain_text(digest[-8:])
    assert screen.get_by_role("button").count() == 0
    assert screen.locator("form").count() == 0
    check_page(screen, "console-present-committed-desktop")

    # 2. A witness reads the dice; too few digits are refused next to the field.
    dice = page.get_by_label("骰子数字（由见证人掷骰后当场读出，至少20位）")
    dice.fill("123456")
    page.get_by_role("button", name="确认种子并抽取").click()
    expect(page.locator("#seed-dice-error")).to_have_text("掷骰种子至少需要20位数字。")
    expect(dice).to_have_value("123456")
    expect(dice).to_have_attribute("aria-invalid", "true")
    dice.fill(DICE)
    page.get_by_role("button", name="确认种子并抽取").click()
    expect(page.get_by_role("status").filter(has_text="种子已记录")).to_be_visible()

    # 3 and 4: the selection, the teams, and the unstaffed tasks with the failed constraint.
    record = _call(stack, "GET", "draw", f"/draws/{draw_id}/record", role=Role.AUDITOR)
    assert record["seed"] == DICE and record["seed_source"] == "dice"
    selected = [u for s in record["strata"] for u in s["selected"]]
    assert selected
    expect(page.get_by_text(f"共抽取 {len(selected)} 户")).to_be_visible()
    for uscc in selected[:3]:
        expect(page.get_by_role("cell", name=uscc, exact=True).first).to_be_visible()
    tasks = _call(stack, "GET", "draw", f"/draws/{draw_id}/tasks", role=Role.AUDITOR)
    expect(page.get_by_text(f"共 {len(tasks)} 项检查任务")).to_be_visible()
    unstaffed = [t for t in tasks if not t["task"]["team"]]
    if unstaffed:
        expect(page.locator("table.unstaffed tbody tr")).to_have_count(len(unstaffed))
    check_page(page, "console-draw-completed-desktop")
    expect(screen.locator(".present-state")).to_have_text("已完成")  # polled, no reload
    expect(screen.locator(".present-names li")).to_have_count(min(len(selected), 40))
    save_screenshot(screen, "console-present-completed-desktop")
    screen.close()

    # Exports: XLSX and CSV with Chinese headers, every selected company once per stratum.
    with page.expect_download() as download:
        page.get_by_role("link", name="抽取结果 XLSX").click()
    sheet = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("分层", "序号", "统一社会信用代码", "主体名称")
    assert [r[2] for r in rows[1:]] == selected
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").last.click()
    text = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0].startswith("任务编号,批次,统一社会信用代码,主体名称")
    assert len(text.splitlines()) == len(tasks) + 1

    # A redraw: asked with a reason by one officer; the same officer cannot confirm it.
    page.get_by_role("button", name="提出重新抽取").click()
    expect(page.locator("#reason-error")).to_be_visible()  # no reason: refused at its field
    page.get_by_label("重新抽取的理由").fill("名录库导入错误，重新抽取")
    page.get_by_role("button", name="提出重新抽取").click()
    expect(page.get_by_role("status").filter(has_text="等待另一名抽取人员确认")).to_be_visible()
    expect(page.get_by_text("等待另一名抽取人员登录后确认。")).to_be_visible()
    assert page.get_by_role("button", name=re.compile("确认重新抽取")).count() == 0
    check_page(page, "console-redraw-asked-desktop")
    sign_out(page)

    # The second officer confirms: the first draw stays, superseded; the new one is committed.
    sign_in(page, stack, "draw-officer-2", f"/console/draws/{draw_id}")
    page.get_by_role("button", name="我是另一名抽取人员，确认重新抽取").click()
    expect(page.get_by_role("status").filter(has_text="已确认重新抽取")).to_be_visible()
    new_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    assert new_id != draw_id
    expect(page.get_by_text(f"本次抽取是对 {draw_id} 的重新抽取")).to_be_visible()
    old = _call(stack, "GET", "draw", f"/draws/{draw_id}", role=Role.AUDITOR)
    assert old["state"] == "superseded" and old["superseded_by"] == new_id
    assert (old["redraw_by"], old["redraw_confirmed_by"]) == ("draw-officer", "draw-officer-2")
    new = _call(stack, "GET", "draw", f"/draws/{new_id}", role=Role.AUDITOR)
    assert new["state"] == "committed" and new["supersedes"] == draw_id
    check_page(page, "console-redrawn-desktop")
    context.close()


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("planner-scjg", "/console/draws"),
        ("planner-scjg", "/console/rules"),
        ("auditor", "/console/rules"),
    ],
)
def test_a_role_sees_a_403_page_where_it_must(
    browser_stack: Seeded, desktop: Page, username: str, path: str
) -> None:
    sign_in(desktop, browser_stack, username, path)
    expect(desktop.get_by_role("heading", level=1, name="无权访问")).to_be_visible()
    response = desktop.goto(browser_stack.urls["web"] + path)
    assert response is not None and response.status == 403
    assert_accessible(desktop)


def test_an_inspector_has_no_console(browser_stack: Seeded, desktop: Page) -> None:
    who = browser_stack.summary["accounts"]["inspector"]
    sign_in(desktop, browser_stack, who["username"], "/console/")
    expect(desktop.get_by_role("heading", level=1, name="无权访问")).to_be_visible()
    save_screenshot(desktop, "console-403-desktop")


def test_an_auditor_reads_a_draw_without_its_controls(
    browser_stack: Seeded, desktop: Page
) -> None:
    draw_id = browser_stack.summary["draws"][0]["draw_id"]
    sign_in(desktop, browser_stack, "auditor", f"/console/draws/{draw_id}")
    expect(desktop.get_by_role("heading", level=2, name=re.compile("抽取结果"))).to_be_visible()
    assert desktop.get_by_role("button", name="提出重新抽取").count() == 0
    assert desktop.get_by_role("button", name=re.compile("开始抽取")).count() == 0
    check_page(desktop, "console-draw-auditor-desktop")
