"""掌上查 as inspectors use it, on phones (390×844, touch): sign in, see the tasks, open one,
fill its checklist, attach a photo, submit; the second member confirms on their own phone; the
result reaches the public results page. The same with the phone going offline in the middle
(kept on the phone, sent once when back); a refusal shown next to its field with nothing typed
lost; a wrong password locked out after the limit; another team's task refused. Every page
passes axe-core and fits the phone's width, and leaves a screenshot (`m-*.png`) for the guide.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from contracts.common import Role
from services.kit.auth import issue_token
from tests.browser.checks import assert_accessible, assert_fits_width, save_screenshot
from tests.browser.conftest import PHONE, Seeded
from tests.waiting import wait_until

# A 1×1 PNG: evidence as the camera would hand it over.
PHOTO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _token(stack: Seeded, role: Role, sub: str, dept: str | None = None) -> str:
    key = (Path(stack.env["SPOTCHECK_VAR_DIR"]) / "jwt.key").read_bytes().strip()
    return issue_token(key, role=role, sub=sub, dept=dept, ttl_s=600)


def _api(stack: Seeded, service: str, path: str, *, role: Role, sub: str = "test") -> Any:
    r = httpx.get(
        stack.urls[service] + path,
        headers={"Authorization": f"Bearer {_token(stack, role, sub)}"},
        timeout=30,
    )
    r.raise_for_status()
    return r.json()


def _open_tasks(stack: Seeded) -> list[dict[str, Any]]:
    """Tasks not started, with a team of two or more whose members all have accounts."""
    accounts = {
        a["inspector_id"]
        for a in httpx.get(
            stack.urls["web"] + "/admin/users",
            headers={"Authorization": f"Bearer {_token(stack, Role.OPERATOR, 'test')}"},
            timeout=30,
        ).json()
        if a["inspector_id"] and not a["disabled"]
    }
    tasks = _api(stack, "publisher", "/tasks?status=assigned&limit=500", role=Role.AUDITOR)
    return [t for t in tasks if len(t["team"]) >= 2 and set(t["team"]) <= accounts]


@pytest.fixture(scope="module")
def open_tasks(browser_stack: Seeded) -> Iterator[list[dict[str, Any]]]:
    """Open tasks for this module's journeys; each test takes its own with `pop()`."""
    tasks = _open_tasks(browser_stack)
    assert len(tasks) >= 3, "the demo leaves open two-member tasks"
    yield tasks


def _password(stack: Seeded) -> str:
    return str(stack.summary["accounts"]["password"])


def sign_in(
    page: Page, stack: Seeded, username: str, password: str | None = None, *, ok: bool = True
) -> None:
    """Sign in through the form, as a person does; with `ok`, wait until the tasks show."""
    page.goto(stack.urls["web"] + "/m/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password or _password(stack))
    page.get_by_role("button", name="登录").click()  # a tap on a phone, a click on a desktop
    if ok:
        expect(page.get_by_role("heading", level=1, name="我的任务")).to_be_visible()


# Per check method: the field its record needs, what fills it, and the refusal without it.
METHOD_RECORD = {
    "on_site": ("place", "店内及后仓", "实地核查须填写检查地点"),
    "documents": ("documents", "营业执照\n进货查验记录", "书面检查须列明所查阅的材料"),
    "online": ("url", "https://shop.example.cn/91360202", "网络监测须填写所监测的网址或平台"),
    "commissioned": ("report", "", "委托检验检测须附检验检测报告"),
}


def _fill_method_record(page: Page) -> str:
    """What the task's preselected method requires; only that method's fields are shown."""
    method = page.locator("#method").input_value()
    for other in METHOD_RECORD:
        part = page.locator(f'.method-part[data-method="{other}"]')
        expect(part).to_be_visible() if other == method else expect(part).to_be_hidden()
    field, value, _ = METHOD_RECORD[method]
    if method == "commissioned":
        page.locator("#report").set_input_files(
            files=[{"name": "报告.png", "mimeType": "image/png", "buffer": PHOTO}]
        )
    elif method == "on_site" and page.locator("#place").input_value():
        pass  # the registered address, filled in for the inspector
    else:
        page.locator(f"#{field}").fill(value)
    return method


def _fill_result(page: Page, task: dict[str, Any], *, photo: bool = True) -> None:
    """Answer every checklist question, pick 未发现问题 for every item, date the check on the
    task's last day (the demo's periods have ended), give what the method requires, name the
    representative."""
    page.get_by_label("检查日期").fill(task["period_end"])
    _fill_method_record(page)
    for group in page.locator("fieldset.question").all():
        group.get_by_label("是", exact=True).check()
    for select in page.locator("select[name$='-category']").all():
        select.select_option(label="未发现问题")
    if photo:
        page.get_by_label("拍照或选择照片（最多9张）").set_input_files(
            files=[{"name": "现场.png", "mimeType": "image/png", "buffer": PHOTO}]
        )
    page.get_by_label("企业代表姓名").fill("周经理")
    page.get_by_label("企业代表已当面核对检查结果").check()


def test_sign_in_and_my_tasks(browser_stack: Seeded, phone: Page) -> None:
    who = browser_stack.summary["accounts"]["inspector"]
    phone.goto(browser_stack.urls["web"] + "/m/")
    assert_accessible(phone)
    save_screenshot(phone, "m-login-phone")
    sign_in(phone, browser_stack, who["username"])
    expect(phone.get_by_role("heading", level=1, name="我的任务")).to_be_visible()
    tasks = phone.locator("a.task[data-task]")
    expect(tasks.first).to_be_visible()
    assert tasks.count() >= who["open_tasks"]
    assert_fits_width(phone)
    assert_accessible(phone)
    save_screenshot(phone, "m-tasks-phone")
    # filter by status: only tasks still to do
    phone.get_by_label("按状态筛选").select_option(label="待检查")
    expect(phone).to_have_url(re.compile(r"status=assigned"))
    # (the overdue mark and a triggered check's mark, 触发检查, are not status chips)
    for chip in phone.locator("#task-list .chip:not(.overdue):not(.triggered)").all():
        expect(chip).to_have_text("待检查")


def test_result_confirmed_by_both_members_reaches_the_public_page(
    browser_stack: Seeded, browser: Browser, open_tasks: list[dict[str, Any]]
) -> None:
    task = open_tasks.pop()
    first, second = (m.lower() for m in task["team"][:2])
    a = browser.new_context(**PHONE).new_page()
    sign_in(a, browser_stack, first)
    a.goto(f"{browser_stack.urls['web']}/m/tasks/{task['task_id']}")
    expect(a.get_by_role("heading", level=1, name=task["entity_name"])).to_be_visible()
    expect(a.get_by_text("统一社会信用代码")).to_be_visible()
    expect(a.get_by_role("link", name="在地图中打开")).to_have_attribute("href", re.compile("amap"))
    assert_fits_width(a)
    assert_accessible(a)
    save_screenshot(a, "m-task-phone")
    a.get_by_role("button", name="开始检查").tap()
    expect(a.locator(".chip.in_progress").first).to_be_visible()
    a.get_by_role("link", name="录入结果").tap()
    expect(a.get_by_role("heading", level=1, name="录入结果")).to_be_visible()
    _fill_result(a, task)
    expect(a.locator("#photo-previews img")).to_have_count(1)
    assert_accessible(a)
    save_screenshot(a, "m-result-phone")
    a.get_by_role("button", name="提交结果").tap()
    expect(a.get_by_text("等待同组检查人员在其手机上确认")).to_be_visible()
    expect(a.get_by_role("button", name="我已核对，确认此结果")).to_have_count(0)

    b = browser.new_context(**PHONE).new_page()
    sign_in(b, browser_stack, second)
    b.goto(f"{browser_stack.urls['web']}/m/tasks/{task['task_id']}")
    expect(b.get_by_role("heading", name="待确认的检查结果")).to_be_visible()
    assert_accessible(b)
    save_screenshot(b, "m-confirm-phone")
    b.get_by_role("button", name="我已核对，确认此结果").tap()
    expect(b.get_by_text("结果已录入，将按期公示")).to_be_visible()

    # the public results page lists it once the publisher has delivered it
    # (the relay publishes in the background: wait for its open data to hold it, then look)
    notices = f"{browser_stack.urls['publisher']}/public/results.json"

    def disclosed() -> bool:
        r = httpx.get(notices, params={"q": task["uscc"]}, timeout=10)
        return r.status_code == 200 and task["uscc"] in r.text

    wait_until(disclosed, what=f"the result of {task['task_id']} in the public notices", timeout=60)
    public = browser.new_context(**PHONE).new_page()
    public.goto(f"{browser_stack.urls['publisher']}/public/results?q={task['uscc']}")
    expect(public.get_by_role("main").get_by_text(task["entity_name"]).first).to_be_visible()
    detail = _api(browser_stack, "publisher", f"/tasks/{task['task_id']}", role=Role.AUDITOR)
    assert len(detail["results"]) == 1
    version = detail["results"][0]
    assert {c["inspector_id"] for c in version["confirmations"]} == set(task["team"][:2]) | set(
        task["team"]
    )
    assert len(version["attachments"]) == 1 and version["representative"]["name"] == "周经理"
    assert all(a["answers"] for a in version["items"] if a["answers"] is not None)

    # A correction is a new version with its reason, confirmed by the team the same way.
    a.goto(f"{browser_stack.urls['web']}/m/tasks/{task['task_id']}")
    a.get_by_role("link", name="更正结果").tap()
    expect(a.get_by_role("heading", level=1, name="更正结果")).to_be_visible()
    _fill_result(a, task, photo=False)
    a.get_by_label("更正理由").fill("漏记现场发现的问题")
    a.get_by_role("button", name="提交结果").tap()
    expect(a.get_by_text("等待同组检查人员在其手机上确认")).to_be_visible()
    b.goto(f"{browser_stack.urls['web']}/m/tasks/{task['task_id']}")
    b.get_by_role("button", name="我已核对，确认此结果").tap()
    expect(b.get_by_text("结果已录入，将按期公示")).to_be_visible()
    versions = _api(browser_stack, "publisher", f"/tasks/{task['task_id']}", role=Role.AUDITOR)
    assert [v["version"] for v in versions["results"]] == [1, 2]
    assert versions["results"][1]["correction_reason"] == "漏记现场发现的问题"


def test_offline_result_is_kept_and_sent_once(
    browser_stack: Seeded, browser: Browser, open_tasks: list[dict[str, Any]]
) -> None:
    task = open_tasks.pop()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, browser_stack, task["team"][0].lower())
    page.goto(f"{browser_stack.urls['web']}/m/tasks/{task['task_id']}/result")
    _fill_result(page, task)
    context.set_offline(True)
    page.get_by_role("button", name="提交结果").tap()
    expect(page.locator("#submit-status")).to_contain_text("已保存在本机")
    expect(page.locator("body")).to_have_class(re.compile("offline"))
    save_screenshot(page, "m-offline-phone")
    # nothing reached the publisher while offline
    before = _api(browser_stack, "publisher", f"/tasks/{task['task_id']}", role=Role.AUDITOR)
    assert before["pending_draft"] is None
    context.set_offline(False)
    expect(page.get_by_text("等待同组检查人员在其手机上确认")).to_be_visible(timeout=30_000)
    after = _api(browser_stack, "publisher", f"/tasks/{task['task_id']}", role=Role.AUDITOR)
    draft = after["pending_draft"]
    assert draft is not None and after["status"] == "awaiting_confirmation"
    # the queue is empty: a reload and another online event send nothing more
    page.goto(f"{browser_stack.urls['web']}/m/")
    expect(page.locator("#queue")).to_be_hidden()
    page.evaluate("window.dispatchEvent(new Event('online'))")
    again = _api(browser_stack, "publisher", f"/tasks/{task['task_id']}", role=Role.AUDITOR)
    assert again["pending_draft"]["draft_id"] == draft["draft_id"] and not again["results"]
    context.close()


def test_a_refusal_is_shown_next_to_its_field_and_nothing_typed_is_lost(
    browser_stack: Seeded, phone: Page, open_tasks: list[dict[str, Any]]
) -> None:
    task = open_tasks.pop()
    sign_in(phone, browser_stack, task["team"][0].lower())
    phone.goto(f"{browser_stack.urls['web']}/m/tasks/{task['task_id']}/result")
    _fill_result(phone, task, photo=False)
    phone.get_by_label("检查日期").fill("2020-01-02")  # before the task's period
    phone.get_by_label("整改要求").fill("补报年度报告")
    # and without what the check method requires: both refusals come at once
    field, _, refusal = METHOD_RECORD[phone.locator("#method").input_value()]
    if field != "report":
        phone.locator(f"#{field}").fill("")
    else:
        phone.locator("#report").set_input_files(files=[])
    phone.get_by_role("button", name="提交结果").tap()
    error = phone.locator("#err-check_date")
    expect(error).to_be_visible()
    expect(error).to_contain_text("检查日期不在任务期限内")
    expect(phone.locator(f"#err-{field}")).to_contain_text(refusal)
    expect(phone.get_by_label("检查日期")).to_have_attribute("aria-invalid", "true")
    expect(phone.get_by_label("整改要求")).to_have_value("补报年度报告")
    expect(phone.get_by_label("企业代表姓名")).to_have_value("周经理")
    assert_accessible(phone)
    save_screenshot(phone, "m-refused-phone")


def test_wrong_passwords_lock_the_account(browser_stack: Seeded, phone: Page) -> None:
    web = browser_stack.urls["web"]
    headers = {"Authorization": f"Bearer {_token(browser_stack, Role.OPERATOR, 'test')}"}
    body = {
        "username": "lock-test",
        "display_name": "锁定测试",
        "role": "auditor",
        "password": "Suoding-2026-x",
    }
    assert httpx.post(f"{web}/admin/users", json=body, headers=headers).status_code == 201
    for _ in range(4):
        sign_in(phone, browser_stack, "lock-test", "not-the-password", ok=False)
        expect(phone.get_by_role("alert")).to_have_text("用户名或密码错误。")
    sign_in(phone, browser_stack, "lock-test", "not-the-password", ok=False)
    expect(phone.get_by_role("alert")).to_contain_text("已锁定")
    sign_in(phone, browser_stack, "lock-test", "Suoding-2026-x", ok=False)
    expect(phone.get_by_role("alert")).to_contain_text("已锁定")
    assert_accessible(phone)
    save_screenshot(phone, "m-locked-phone")


def test_another_teams_task_is_refused(browser_stack: Seeded, phone: Page) -> None:
    who = browser_stack.summary["accounts"]["inspector"]["username"]
    tasks = _api(browser_stack, "publisher", "/tasks?limit=500", role=Role.AUDITOR)
    foreign = next(t for t in tasks if who not in {m.lower() for m in t["team"]})
    sign_in(phone, browser_stack, who)
    response = phone.goto(f"{browser_stack.urls['web']}/m/tasks/{foreign['task_id']}")
    assert response is not None and response.status == 403
    expect(phone.get_by_role("heading", level=1, name="无权访问")).to_be_visible()
    assert_accessible(phone)


def test_check_code_opens_the_public_check_page(
    browser_stack: Seeded, phone: Page, desktop: Page
) -> None:
    who = browser_stack.summary["accounts"]["inspector"]["username"]
    sign_in(phone, browser_stack, who)
    phone.locator("a.task[data-task]").first.tap()
    phone.get_by_role("link", name="检查码").tap()
    expect(phone.get_by_role("heading", level=1, name="检查码")).to_be_visible()
    expect(phone.locator(".qr svg")).to_be_visible()
    assert_accessible(phone)
    save_screenshot(phone, "m-code-phone")
    url = phone.locator("main a[href*='/check/']").get_attribute("href")
    assert url
    desktop.goto(url)  # what the entity's phone opens when it scans the code: no sign-in
    expect(desktop.get_by_role("heading", level=1, name="检查任务核验")).to_be_visible()
    expect(desktop.get_by_role("cell").first).to_be_visible()
    assert_accessible(desktop)
    save_screenshot(desktop, "m-check-desktop")


def test_the_same_pages_on_a_desktop(browser_stack: Seeded, desktop: Page) -> None:
    """Office staff open the same pages on a desktop: they read as well there."""
    who = browser_stack.summary["accounts"]["inspector"]["username"]
    sign_in(desktop, browser_stack, who)
    assert_accessible(desktop)
    save_screenshot(desktop, "m-tasks-desktop")
    desktop.locator("a.task[data-task]").first.click()
    expect(desktop.get_by_role("heading", name="检查对象")).to_be_visible()
    assert_fits_width(desktop)
    assert_accessible(desktop)
    save_screenshot(desktop, "m-task-desktop")
