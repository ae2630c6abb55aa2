"""掌上查 after a finding: the task page's 后续处置 shows the order to correct (责令整改) with its
deadline passed and no re-check (整改期限已过，尚未复查), and the referral to the judicial organs
as the receiving body acknowledged it (已受理（案号…）) and then concluded it (办结（…）).

The result is entered by department staff over the API (a paper record), the acknowledgement
and outcome by the receiving body's liaison (role `agency`); the inspector only reads.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from contracts.common import Role
from tests.browser.conftest import Seeded
from tests.browser.officers import call, check_page

CASE = "昌公刑受字〔2026〕18号"


def _a_task_and_member(stack: Seeded) -> tuple[dict[str, Any], str]:
    """A task with no result, checkable on site, one of whose members has an account."""
    accounts = {
        a["inspector_id"]: a["username"]
        for a in call(stack, "GET", "web", "/admin/users", role=Role.OPERATOR)
        if a["inspector_id"] and not a["disabled"]
    }
    tasks = call(stack, "GET", "publisher", "/tasks?status=assigned&limit=500", role=Role.AUDITOR)
    for task in reversed(tasks):  # the other modules take theirs from the front
        members = [m for m in task["team"] if m in accounts]
        if members and "on_site" in task["methods"]:
            return task, accounts[members[0]]
    raise AssertionError("the demo left no open on-site task with a member who has an account")


def test_the_follow_up_of_a_finding_shows_on_the_task(browser_stack: Seeded, phone: Page) -> None:
    stack = browser_stack
    task, username = _a_task_and_member(stack)
    task_id = task["task_id"]
    # Checked on the period's first day, to correct by the next: the deadline has passed.
    checked = date.fromisoformat(task["period_start"])
    assert checked + timedelta(days=1) < date.today(), task["period_start"]
    dept = task["lead_department"]
    result = {
        "task_id": task_id,
        "check_date": checked.isoformat(),
        "method": "on_site",
        "method_record": {"place": "店内"},
        "items": [
            {"item_code": i["code"], "category": "C", "problems": "年报资产数据虚假"}
            for i in task["items"]
        ],
        "confirmations": [
            {"inspector_id": m, "confirmed_at": f"{checked.isoformat()}T16:00:00+08:00"}
            for m in task["team"]
        ],
        "follow_up": {
            "rectify_by": (checked + timedelta(days=1)).isoformat(),
            "rectification": "更正年报",
            "refer_to": "judicial",
        },
    }
    accepted = call(
        stack, "POST", "publisher", "/results", role=Role.PLANNER, dept=dept, json=result
    )
    referral_id = f"{accepted['result_id']}:v{accepted['version']}"
    ack = {
        "receiver": "景德镇市公安局昌江分局",
        "received_at": f"{checked.isoformat()}T09:00:00+08:00",
        "case_number": CASE,
    }
    path = f"/referrals/{referral_id}/acknowledgement"
    call(stack, "POST", "publisher", path, role=Role.AGENCY, json=ack)

    phone.goto(f"{stack.urls['web']}/login?next=/m/tasks/{task_id}")
    phone.get_by_label("用户名").fill(username)
    phone.get_by_label("密码").fill(str(stack.summary["accounts"]["password"]))
    phone.get_by_role("button", name="登录").click()
    section = phone.get_by_role("region", name="后续处置")
    expect(section).to_be_visible()
    expect(section.get_by_text("整改期限已过，尚未复查")).to_be_visible()
    expect(section.get_by_text("移送司法机关（第1版结果）")).to_be_visible()
    expect(section.get_by_text(f"已受理（案号{CASE}）", exact=False)).to_be_visible()
    check_page(phone, "m-task-follow-up-phone")

    outcome = {"outcome": "立案侦查", "decided_at": (checked + timedelta(days=30)).isoformat()}
    path = f"/referrals/{referral_id}/outcome"
    call(stack, "POST", "publisher", path, role=Role.AGENCY, json=outcome)
    phone.reload()
    expect(section.get_by_text("办结（立案侦查", exact=False)).to_be_visible()
