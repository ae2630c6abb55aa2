"""The officers' console (`/console/`) as officers use it, on a desktop (1280×800): a draw
officer runs a whole ceremony with dice digits typed by a witness, watches the presentation
screen, exports the selection, replaces one member of a task (换人), and asks for a redraw that
a second officer confirms; roles see a 403 page where they must. Every page passes axe-core and
fits the width, and leaves a screenshot (`console-*.png`) for the guide.

This module runs after `test_mobile.py` (its name says so): its draws leave tasks, and a redraw
supersedes them, which the phone tests' choice of open tasks must not meet.
"""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from contracts.common import Role
from tests.browser.checks import assert_accessible, save_screenshot
from tests.browser.conftest import DESKTOP, Seeded
from tests.browser.officers import approved_plan, call, check_page, sign_in, sign_out

DICE = "31415926535897932384626433"


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
    status = call(stack, "GET", "draw", f"/draws/{draw_id}", role=Role.AUDITOR)
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
    record = call(stack, "GET", "draw", f"/draws/{draw_id}/record", role=Role.AUDITOR)
    assert record["seed"] == DICE and record["seed_source"] == "dice"
    selected = [u for s in record["strata"] for u in s["selected"]]
    assert selected
    expect(page.get_by_text(f"共抽取 {len(selected)} 户")).to_be_visible()
    for uscc in selected[:3]:
        expect(page.get_by_role("cell", name=uscc, exact=True).first).to_be_visible()
    tasks = call(stack, "GET", "draw", f"/draws/{draw_id}/tasks", role=Role.AUDITOR)
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
        page.get_by_role("link", name="检查任务 CSV").click()
    text = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0].startswith("任务编号,批次,统一社会信用代码,主体名称")
    assert len(text.splitlines()) == len(tasks) + 1

    # 换人: one member of one task replaced, with a reason and an explicit confirmation.
    staffed = next(t["task"] for t in tasks if t["task"]["team"])
    task_id, ill = staffed["task_id"], staffed["team"][0]
    page.get_by_role("link", name=f"换人：{task_id}").click()
    expect(
        page.get_by_role("heading", level=1, name=f"换人：{staffed['entity_name']}")
    ).to_be_visible()
    check_page(page, "console-restaff-desktop")
    page.get_by_role("radio", name=re.compile(ill["inspector_id"])).check()
    page.get_by_label("换人理由").fill("  ")  # blank: the browser lets it through, the server not
    page.get_by_role("checkbox", name=re.compile("我确认替换该检查人员")).check()
    page.get_by_role("button", name="确认换人").click()
    expect(page.locator("#reason-error")).to_have_text("请填写换人理由。")
    expect(page.get_by_role("radio", name=re.compile(ill["inspector_id"]))).to_be_checked()
    page.get_by_label("换人理由").fill("病假")
    page.get_by_role("checkbox", name=re.compile("我确认替换该检查人员")).check()
    page.get_by_role("button", name="确认换人").click()
    expect(page.get_by_role("status").filter(has_text="已换人")).to_be_visible()
    [done] = call(stack, "GET", "draw", f"/draws/{draw_id}/restaffings", role=Role.AUDITOR)
    assert (done["task_id"], done["replaced"]["inspector_id"]) == (task_id, ill["inspector_id"])
    assert (done["reason"], done["by"]) == ("病假", "draw-officer")
    came = done["replacement"]["inspector_id"]
    row = page.get_by_role("row").filter(has_text=task_id)
    expect(row).to_contain_text(done["replacement"]["name"])
    after = call(stack, "GET", "draw", f"/draws/{draw_id}/tasks", role=Role.AUDITOR)
    teams = {t["task"]["task_id"]: [m["inspector_id"] for m in t["task"]["team"]] for t in after}
    assert came in teams[task_id] and ill["inspector_id"] not in teams[task_id]
    assert {k: v for k, v in teams.items() if k != task_id} == {
        t["task"]["task_id"]: [m["inspector_id"] for m in t["task"]["team"]]
        for t in tasks
        if t["task"]["task_id"] != task_id
    }

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
    old = call(stack, "GET", "draw", f"/draws/{draw_id}", role=Role.AUDITOR)
    assert old["state"] == "superseded" and old["superseded_by"] == new_id
    assert (old["redraw_by"], old["redraw_confirmed_by"]) == ("draw-officer", "draw-officer-2")
    new = call(stack, "GET", "draw", f"/draws/{new_id}", role=Role.AUDITOR)
    assert new["state"] == "committed" and new["supersedes"] == draw_id
    check_page(page, "console-redrawn-desktop")
    context.close()


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("planner-scjg", "/console/draws"),
        ("planner-scjg", "/console/rules"),
        ("auditor", "/console/rules"),
        # a planner of 市场监管 opens no plan of another department
        ("planner-scjg", "/console/plans/P2026-CJ-STHJ"),
        ("draw-officer", "/console/plans/new"),
        ("planner-scjg", "/console/audit"),
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


def test_an_auditor_reads_a_draw_without_its_controls(browser_stack: Seeded, desktop: Page) -> None:
    draw_id = browser_stack.summary["draws"][0]["draw_id"]
    sign_in(desktop, browser_stack, "auditor", f"/console/draws/{draw_id}")
    expect(desktop.get_by_role("heading", level=2, name=re.compile("抽取结果"))).to_be_visible()
    assert desktop.get_by_role("button", name="提出重新抽取").count() == 0
    assert desktop.get_by_role("button", name=re.compile("开始抽取")).count() == 0
    check_page(desktop, "console-draw-auditor-desktop")


def test_a_planner_files_a_plan_through_the_form(browser_stack: Seeded, desktop: Page) -> None:
    stack = browser_stack
    sign_in(desktop, stack, "planner-scjg")
    expect(desktop).to_have_url(re.compile(r"/console/plans$"))
    expect(desktop.get_by_role("heading", level=1, name="抽查计划")).to_be_visible()
    expect(
        desktop.get_by_role("link", name=re.compile("昌江区市场监督管理局2026年度"))
    ).to_be_visible()
    check_page(desktop, "console-plans-desktop")

    desktop.get_by_role("link", name="编制新计划").click()
    expect(desktop.get_by_role("heading", level=1, name="编制抽查计划")).to_be_visible()
    # The planner's own department is ticked; the catalogue's items are offered.
    expect(desktop.get_by_role("checkbox", name="市场监管")).to_be_checked()
    title = f"浏览器测试：{uuid.uuid4().hex[:6]} 市场主体登记事项抽查计划"
    desktop.get_by_label("计划名称").fill(title)
    desktop.get_by_label("区划代码（6位，多个用空格或逗号分隔）").fill("360202 36020")
    desktop.get_by_label("开始日期").fill("2026-12-01")
    desktop.get_by_label("结束日期").fill("2026-11-01")
    desktop.get_by_label("纳入 SCJG-002 市场主体登记事项的检查").check()
    desktop.get_by_label("SCJG-002 基础比例（%）").fill("百分之三")
    desktop.get_by_label("纳入 SCJG-006 广告发布行为的检查").check()
    desktop.get_by_role("button", name="提交计划").click()

    # Every refusal at once, each next to its field, nothing typed lost.
    expect(desktop.locator("#form-problems")).to_contain_text("共 4 处")
    expect(desktop.locator("#regions-error")).to_have_text("“36020”不是6位区划代码")
    expect(desktop.locator("#period_end-error")).to_contain_text("早于开始日期")
    expect(desktop.locator("#ratio-SCJG-002-error")).to_contain_text("百分数")
    expect(desktop.locator("#item-SCJG-006-error")).to_have_text(
        "抽查比例和抽取户数须填写且只填写一项"
    )
    expect(desktop.get_by_label("计划名称")).to_have_value(title)
    check_page(desktop, "console-plan-refused-desktop")

    desktop.get_by_label("区划代码（6位，多个用空格或逗号分隔）").fill("360202")
    desktop.get_by_label("结束日期").fill("2026-12-31")
    desktop.get_by_label("SCJG-002 基础比例（%）").fill("3")
    desktop.get_by_label("SCJG-006 抽取户数").fill("5")
    desktop.get_by_label("报同级人民政府备案日期（应在2月底前）").fill("2026-03-05")
    desktop.get_by_label("录入平台日期（应在3月31日前；不填即今天）").fill("2026-03-10")
    desktop.get_by_role("button", name="提交计划").click()
    expect(desktop.get_by_role("status")).to_have_text("计划已提交并通过检查。")
    expect(desktop.get_by_role("heading", level=1, name=title)).to_be_visible()
    plan_id = desktop.url.rsplit("/", 1)[-1].split("?")[0]
    shown = call(stack, "GET", "planner", f"/plans/{plan_id}", role=Role.AUDITOR)
    assert shown["status"] == "approved" and shown["submitted_by"] == "planner-scjg"
    assert shown["flags"] == ["filed_late"]
    expect(desktop.get_by_text("逾期备案（晚于2月底）")).to_be_visible()
    strata = shown["approved"]["strata"]
    rows = desktop.locator("#strata-h + p + .table-wrap tbody tr")
    expect(rows).to_have_count(len(strata))
    d_class = next(s for s in strata if s["stratum_id"].endswith(".D.360202"))
    row = rows.filter(has_text=d_class["stratum_id"])
    expect(row).to_contain_text(str(d_class["k_estimate"]))
    for fired in d_class["fired"]:
        expect(row).to_contain_text(fired)
    desktop.locator("#strata-h").scroll_into_view_if_needed()
    check_page(desktop, "console-plan-desktop")


def test_a_planner_uploads_a_plan_file_and_sees_its_refusals(
    browser_stack: Seeded, desktop: Page
) -> None:
    sign_in(desktop, browser_stack, "planner-scjg", "/console/plans/new")
    bad = (
        "title: 上传的计划\nyear: 2026\ndepartments: [SCJG]\nscope: {regions: ['360202']}\n"
        "period: {start: 2026-12-01, end: 2026-12-31}\nitems:\n  - {item: NOPE-001, ratio: '3%'}\n"
    )
    desktop.get_by_label("计划文件", exact=True).set_input_files(
        files=[{"name": "plan.yaml", "mimeType": "text/yaml", "buffer": bad.encode()}]
    )
    desktop.get_by_role("button", name="上传并提交").click()
    expect(desktop.locator("#upload-problems")).to_contain_text(
        "检查事项（NOPE-001）：事项“NOPE-001”不在检查事项清单中"
    )
    good = bad.replace("NOPE-001", "SCJG-006")
    desktop.get_by_label("计划文件", exact=True).set_input_files(
        files=[{"name": "plan.yaml", "mimeType": "text/yaml", "buffer": good.encode()}]
    )
    desktop.get_by_role("button", name="上传并提交").click()
    expect(desktop.get_by_role("heading", level=1, name="上传的计划")).to_be_visible()


def test_policy_staff_simulate_a_changed_cap_and_activate_it(
    browser_stack: Seeded, desktop: Page
) -> None:
    stack = browser_stack
    active = call(stack, "GET", "planner", "/rules/active", role=Role.POLICY)
    files = call(stack, "GET", "planner", f"/rules/versions/{active['version']}", role=Role.POLICY)
    sign_in(desktop, stack, "policy")
    expect(desktop).to_have_url(re.compile(r"/console/rules$"))
    expect(desktop.get_by_text(active["version"])).to_be_visible()
    check_page(desktop, "console-rules-desktop")

    # A file edited in the browser with a mistake: its check names file and line.
    desktop.get_by_role("link", name="在浏览器中修改 ratios.yaml").click()
    editor = desktop.get_by_label("内容（YAML）")
    original = files["files"]["ratios.yaml"]
    assert editor.input_value() == original
    editor.fill(original.replace("cap_ratio:", "cap_ratoi:"))
    desktop.get_by_role("button", name="保存为候选规则集并检查").click()
    expect(desktop.get_by_role("alert")).to_contain_text("未通过")
    first = desktop.locator("table.check-errors tbody tr").first
    expect(first).to_contain_text("ratios.yaml")
    line = original.splitlines().index(next(x for x in original.splitlines() if "cap_ratio:" in x))
    expect(first.locator("td").nth(1)).to_have_text(str(line + 1))
    # The reason in Chinese for policy staff (the API keeps the English beside it).
    typo = desktop.locator("table.check-errors tbody tr").filter(has_text="cap_ratoi").first
    expect(typo.locator("td").nth(3)).to_contain_text("不认识的字段 rules.")
    expect(desktop.locator("table.check-errors")).not_to_contain_text("Extra inputs")
    check_page(desktop, "console-rules-check-errors-desktop")

    # A changed cap uploaded as one file over the active set: checked, tested, simulated.
    desktop.get_by_role("link", name="规则管理", exact=True).first.click()
    classes = files["files"]["risk-classes.yaml"]
    b_rule = 'when: {risk_class: B}\n    then: {multiply_ratio: "1"}'
    assert b_rule in classes
    changed = classes.replace(b_rule, b_rule.replace('"1"', '"4"'))
    desktop.get_by_label("规则文件（.yaml / .zip，可多选）").set_input_files(
        files=[{"name": "risk-classes.yaml", "mimeType": "text/yaml", "buffer": changed.encode()}]
    )
    desktop.get_by_label("说明（可选）").fill("B类主体抽查比例提高为4倍")
    desktop.get_by_role("button", name="上传并检查").click()
    expect(desktop.get_by_role("heading", level=1, name=re.compile("候选规则集"))).to_be_visible()
    expect(desktop.get_by_text(re.compile("通过：14 个检查事项"))).to_be_visible()
    expect(
        desktop.locator(".file-list li").filter(has_text=re.compile(r"^risk-classes\.yaml"))
    ).to_contain_text("已修改")
    desktop.get_by_label("用于模拟的计划").select_option("P2026-CJ-SCJG")
    desktop.get_by_role("button", name="按此计划模拟").click()
    table = desktop.locator("table.simulation")
    expect(table).to_be_visible()
    candidate_id = desktop.url.split("/candidates/")[1].split("?")[0]
    plan = call(stack, "GET", "planner", "/plans/P2026-CJ-SCJG", role=Role.POLICY)
    submission = plan["submission"]
    submission["items"] = [
        {**i, "ratio": f"{i['ratio']}bp"} if isinstance(i.get("ratio"), int) else i
        for i in submission["items"]
    ]
    sim = call(
        stack,
        "POST",
        "planner",
        "/rules/simulate",
        role=Role.POLICY,
        json={"plan": submission, "files": {**files["files"], "risk-classes.yaml": changed}},
    )
    different = [s for s in sim["strata"] if s["active_k"] != s["candidate_k"]]
    assert different, "four times the class-B ratio raises some stratum's k"
    expect(table.locator("tbody tr")).to_have_count(len(sim["strata"]))
    expect(table.locator("tbody tr.changed")).to_have_count(
        sum(
            1
            for s in sim["strata"]
            if (s["active_bp"], s["active_k"], s["active_excluded"])
            != (s["candidate_bp"], s["candidate_k"], s["candidate_excluded"])
        )
    )
    row = table.locator("tbody tr", has_text=different[0]["stratum_id"])
    expect(row.locator("td").nth(3)).to_have_text(str(different[0]["active_k"]))
    expect(row.locator("td").nth(5)).to_have_text(str(different[0]["candidate_k"]))
    table.scroll_into_view_if_needed()
    check_page(desktop, "console-rules-simulate-desktop")

    # Activation asks first; the new version is active at once.
    desktop.get_by_role("button", name="启用此规则集").click()  # not ticked: the browser asks
    assert (
        call(stack, "GET", "planner", "/rules/active", role=Role.POLICY)["version"]
        == (active["version"])
    )
    desktop.once("dialog", lambda dialog: dialog.accept())
    desktop.get_by_label(re.compile("我已核对检查、测试和模拟结果")).check()
    desktop.get_by_role("button", name="启用此规则集").click()
    expect(desktop.get_by_role("status")).to_contain_text("规则集已启用")
    now = call(stack, "GET", "planner", "/rules/active", role=Role.POLICY)["version"]
    assert now != active["version"]
    history = call(stack, "GET", "planner", "/rules/history", role=Role.POLICY)
    assert history[0]["activated_by"] == "policy" and history[0]["version"] == now
    candidate = call(stack, "GET", "planner", f"/rules/candidates/{candidate_id}", role=Role.POLICY)
    assert candidate["check"]["version"] == now
    # Leave the stack's rules as the other tests found them.
    call(
        stack,
        "POST",
        "planner",
        "/rules/activate",
        role=Role.POLICY,
        json={"files": files["files"]},
    )


def test_an_auditor_verifies_the_chains_and_finds_who_redrew(
    browser_stack: Seeded, desktop: Page
) -> None:
    services = ("registry", "planner", "draw", "publisher", "web")

    def verified() -> dict[str, Any]:
        return {
            s: call(browser_stack, "GET", s, "/audit/verify", role=Role.AUDITOR) for s in services
        }

    # The chains go on growing while the page loads (deliveries, deadlines, this sign-in):
    # the page's count lies between the services' answers before and after it.
    before = verified()
    sign_in(desktop, browser_stack, "auditor")
    expect(desktop).to_have_url(re.compile(r"/console/audit$"))
    chains = desktop.locator("table.chains tbody tr")
    expect(chains).to_have_count(5)
    shown = {s: chains.filter(has_text=s).locator("td").nth(2).inner_text() for s in services}
    after = verified()
    for service in services:
        row = chains.filter(has_text=service)
        expect(row).to_contain_text("完整" if after[service]["ok"] else "链条断裂")
        entries = int(shown[service].replace(",", ""))
        assert before[service]["entries"] <= entries <= after[service]["entries"], service
    check_page(desktop, "console-audit-desktop")
    # Who confirmed the redraw of the ceremony test (this module's first test)?
    desktop.get_by_label("服务", exact=True).select_option(label="公开抽取")
    desktop.get_by_label("人员", exact=True).fill("draw-officer-2")
    desktop.get_by_role("button", name="筛选").click()
    rows = desktop.locator("table.entries tbody tr")
    expect(rows.filter(has_text="draw.redraw").first).to_be_visible()
    for text in rows.locator("td:nth-child(3)").all_inner_texts():
        assert "draw-officer-2" in text
