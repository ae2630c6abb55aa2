"""掌上查 after a redraw: the inspector's phone shows, on a task of the superseded draw, that the
draw was redrawn (已重新抽取, no check needed), its check-code page warns the code is void, and
the page the entity opens by scanning it says so too (此任务已作废).

The draw is this module's own (a plan filed for it, drawn and redrawn over the API by two draw
officers), so the demo's tasks the other modules use stay as they were. Its name puts it after
`test_mobile.py`, whose choice of open tasks is made before any redraw here.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from contracts.common import Role
from tests.browser.conftest import Seeded
from tests.browser.officers import approved_plan, call, check_page
from tests.waiting import wait_until

BEACON = "9f2c4be0a1d3e5f7081a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"


def _start(stack: Seeded, plan_id: str) -> dict[str, Any]:
    """Start the plan's draw once the draw service has the plan (it learns it from an event)."""
    started: dict[str, Any] = {}

    def try_start() -> bool:
        try:
            started.update(
                call(
                    stack,
                    "POST",
                    "draw",
                    "/draws",
                    role=Role.DRAW_OFFICER,
                    sub="draw-officer",
                    json={"plan_id": plan_id},
                )
            )
        except Exception:
            return False
        return True

    wait_until(try_start, what=f"the draw of {plan_id} starts")
    return started


def _a_task_for_an_account(stack: Seeded, draw_id: str) -> tuple[dict[str, Any], str]:
    """A task of the draw whose team has a member with an account, and that account's name."""
    accounts = {
        a["inspector_id"]: a["username"]
        for a in call(stack, "GET", "web", "/admin/users", role=Role.OPERATOR)
        if a["inspector_id"] and not a["disabled"]
    }
    tasks = call(stack, "GET", "draw", f"/draws/{draw_id}/tasks", role=Role.AUDITOR)
    for row in tasks:
        task = row["task"]
        for member in task["team"]:
            if member["inspector_id"] in accounts:
                return task, accounts[member["inspector_id"]]
    raise AssertionError(f"no task of {draw_id} has a team member with an account")


def _publisher_status(stack: Seeded, task_id: str) -> str:
    try:
        task = call(stack, "GET", "publisher", f"/tasks/{task_id}", role=Role.AUDITOR)
    except Exception:
        return ""
    return str(task.get("status", ""))


def test_a_redrawn_task_says_so_on_the_phone_and_its_check_code_is_void(
    browser_stack: Seeded, phone: Page, desktop: Page
) -> None:
    stack = browser_stack
    plan = approved_plan(stack, "浏览器测试：重新抽取后作废的任务")
    draw_id = _start(stack, plan["plan_id"])["draw_id"]
    seeded = call(
        stack,
        "POST",
        "draw",
        f"/draws/{draw_id}/seed",
        role=Role.DRAW_OFFICER,
        sub="draw-officer",
        json={"seed": BEACON, "source": "beacon"},
    )
    assert seeded["state"] == "completed", seeded["state"]
    task, username = _a_task_for_an_account(stack, draw_id)
    task_id = task["task_id"]
    wait_until(
        lambda: _publisher_status(stack, task_id) == "assigned",
        what=f"the publisher has {task_id}",
    )

    # Two officers redraw (the one who asks cannot confirm).
    call(
        stack,
        "POST",
        "draw",
        f"/draws/{draw_id}/redraw",
        role=Role.DRAW_OFFICER,
        sub="draw-officer",
        json={"reason": "名录库导入错误，重新抽取"},
    )
    new = call(
        stack,
        "POST",
        "draw",
        f"/draws/{draw_id}/redraw/confirm",
        role=Role.DRAW_OFFICER,
        sub="draw-officer-2",
    )
    assert new["supersedes"] == draw_id
    # The publisher learns of the redraw from `draw.superseded`.
    wait_until(
        lambda: _publisher_status(stack, task_id) == "superseded",
        what=f"the publisher marks {task_id} superseded",
    )

    # The inspector's phone: the old task says it was redrawn and needs no check.
    phone.goto(f"{stack.urls['web']}/login?next=/m/tasks/{task_id}")
    phone.get_by_label("用户名").fill(username)
    phone.get_by_label("密码").fill(str(stack.summary["accounts"]["password"]))
    phone.get_by_role("button", name="登录").click()
    expect(phone.get_by_role("heading", level=1, name=task["entity_name"])).to_be_visible()
    expect(phone.locator("main .chip.superseded")).to_have_text("已重新抽取")
    notice = phone.get_by_role("status").filter(has_text="已被重新抽取取代")
    expect(notice).to_have_text(
        "此任务所在的抽取已被重新抽取取代，无需检查；请按“我的任务”中新的任务检查。"
    )
    check_page(phone, "m-task-superseded-phone")

    # Its check code: the page warns the code is void before the code is shown.
    phone.get_by_role("link", name="检查码").tap()
    expect(phone.get_by_role("heading", level=1, name="检查码")).to_be_visible()
    warning = phone.get_by_role("alert")
    expect(warning).to_contain_text("此任务已作废")
    expect(warning).to_contain_text("不要出示此检查码")
    check_page(phone, "m-code-superseded-phone")

    # What the entity's phone opens by scanning it (no sign-in): void, and nothing that
    # vouches for the task.
    url = phone.locator("main a[href*='/check/']").get_attribute("href")
    assert url and url.endswith(f"/check/{task_id}")
    for page, name in (
        (phone, "m-check-superseded-phone"),
        (desktop, "m-check-superseded-desktop"),
    ):
        page.goto(url)
        expect(page.get_by_role("heading", level=1, name="检查任务核验")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("此任务已作废")
        expect(page.get_by_text("这是“双随机、一公开”抽查系统登记的真实检查任务。")).to_have_count(
            0
        )
        check_page(page, name)
