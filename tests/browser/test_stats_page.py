"""统计分析 (`/console/stats`, issue #13) in a real browser against the demo county: the page
shows the figures this test computes itself from the services' own APIs — each service's
`/stats/...` and, for the tasks, the publisher's task list card by card, each result's latest
version, and the draw's own task list for each task's industry and risk class — draws a chart
over every table, offers each table as a CSV with Chinese headers, fits a 390 px phone and a
1280 px desktop, passes axe, and leaves screenshots of both to look at."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from contracts.common import Role
from services.kit.auth import issue_token
from services.registry.library import industries
from tests.browser.checks import assert_accessible, assert_fits_width, save_screenshot
from tests.browser.conftest import DESKTOP, PHONE, Seeded

DEPARTMENTS = {"SCJG": "市场监管", "SW": "税务", "STHJ": "生态环境"}


def _get(stack: Seeded, service: str, path: str, **params: Any) -> Any:
    key = (Path(stack.env["SPOTCHECK_VAR_DIR"]) / "jwt.key").read_bytes().strip()
    token = issue_token(key, role=Role.AUDITOR, sub="test", ttl_s=600)
    r = httpx.get(
        stack.urls[service] + path,
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    r.raise_for_status()
    return r.json()


def pct(part: int, whole: int) -> str:
    """A share as the page must write it: one decimal, no trailing `.0`, `—` for nothing."""
    if whole == 0:
        return "—"
    return f"{round(part * 100 / whole, 1):.1f}".removesuffix(".0") + "%"


def grouped(n: int) -> str:
    return f"{n:,}"


@pytest.fixture(scope="module")
def year(browser_stack: Seeded) -> int:
    """The year of the demo's plans."""
    plans = _get(browser_stack, "planner", "/plans")
    return int(next(p for p in plans if p["status"] == "approved")["year"])


def sign_in(page: Page, stack: Seeded, username: str, path: str) -> None:
    page.goto(f"{stack.urls['web']}/login?next={path}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(str(stack.summary["accounts"]["password"]))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{stack.urls['web']}{path}")


def cards(page: Page) -> dict[str, str]:
    out: dict[str, str] = page.eval_on_selector_all(
        "[data-figure]",
        "els => Object.fromEntries(els.map(e => [e.dataset.figure, e.textContent.trim()]))",
    )
    return out


def table_rows(page: Page, key: str) -> list[list[str]]:
    rows: list[list[str]] = page.eval_on_selector_all(
        f"table[data-table='{key}'] tbody tr",
        "trs => trs.map(tr => [...tr.children].map(c => c.textContent.trim()))",
    )
    return rows


def _tasks_of_the_year(stack: Seeded, year: int) -> list[dict[str, Any]]:
    """The publisher's task cards (as the phone shows them) of the draws' tasks whose period
    starts in `year`, merged ones left out (the list already leaves out a redrawn draw's); the
    demo's triggered check (触发检查) is counted apart, as the figures are."""
    cards: list[dict[str, Any]] = []
    while True:  # the list answers at most 500 cards a page
        page = _get(stack, "publisher", "/tasks", limit=500, offset=len(cards))
        cards += page
        if len(page) < 500:
            break
    return [
        c
        for c in cards
        if date.fromisoformat(c["period_start"]).year == year
        and c["status"] != "merged"
        and c["kind"] == "random"
    ]


def _drawn_entities(stack: Seeded, draw_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The draw service's own task bodies (its public task list) by task id: what each task
    says of its entity's industry and risk class."""
    out: dict[str, dict[str, Any]] = {}
    for draw_id in sorted(draw_ids):
        offset = 0
        while True:
            page = _get(stack, "draw", f"/draws/{draw_id}/tasks", offset=offset, limit=1000)
            out.update({row["task"]["task_id"]: row["task"] for row in page})
            offset += len(page)
            if len(page) < 1000:
                break
    return out


def test_the_leaders_figures_equal_the_services_own(
    browser_stack: Seeded, browser: Browser, year: int
) -> None:
    stack = browser_stack
    entities = _get(stack, "registry", "/stats/entities")
    tasks = _get(stack, "publisher", "/stats/tasks", year=year)
    triggered = _get(stack, "publisher", "/stats/tasks", year=year, kind="triggered")
    plans = _get(stack, "planner", "/stats/plans", year=year)
    draws = _get(stack, "draw", "/stats/draws", year=year)

    # The publisher's counts agree with its own task list, card by card.
    listed = _tasks_of_the_year(stack, year)
    assert listed, "the demo county has tasks this year"
    done = [c for c in listed if c["latest_result"] is not None]
    assert tasks["tasks"] == len(listed)
    assert tasks["completed"] == len(done)
    assert tasks["overdue"] == sum(1 for c in listed if c["overdue"])
    assert tasks["entities_checked"] == len({c["uscc"] for c in done})
    per_dept: dict[str, list[int]] = {}
    for c in listed:
        for d in c["departments"]:
            row = per_dept.setdefault(d, [0, 0, 0])
            row[0] += 1
            row[1] += c["latest_result"] is not None
            row[2] += bool(c["overdue"])
    assert {
        r["key"]: [r["tasks"], r["completed"], r["overdue"]] for r in tasks["by_department"]
    } == (per_dept)

    # Checked entities per risk class and results per industry agree with what the draw says of
    # each task's entity, and the problems with each result's latest version as recorded.
    drawn_tasks = _drawn_entities(stack, {c["draw_id"] for c in done})
    violating = {
        c["code"]
        for c in _get(stack, "publisher", "/public/result-categories.json")["categories"]
        if c["violation"]
    }
    per_class: dict[str, set[str]] = {}
    per_industry: dict[str, list[int]] = {}
    for c in done:
        task = drawn_tasks[c["task_id"]]
        assert task["industry_code"], "the demo's tasks carry their entity's industry"
        per_class.setdefault(task["risk_class"] or "", set()).add(c["uscc"])
        latest = _get(stack, "publisher", f"/results/{c['latest_result']['result_id']}")[-1]
        row = per_industry.setdefault(task["industry_code"], [0, 0])
        row[0] += 1
        row[1] += bool(set(latest["categories"]) & violating)
    assert {r["risk_class"]: r["entities"] for r in tasks["by_risk_class"]} == {
        k: len(v) for k, v in per_class.items()
    }
    assert {r["industry_code"]: [r["results"], r["problems"]] for r in tasks["by_industry"]} == (
        per_industry
    )

    context = browser.new_context(**DESKTOP)
    try:
        page = context.new_page()
        path = f"/console/stats?year={year}"
        sign_in(page, stack, "auditor", path)
        expect(page.get_by_role("heading", level=1)).to_have_text(f"统计分析：{year}年度")
        total = entities["total"]
        t = tasks["timeliness"]
        due = t["on_time"] + t["late"] + t["overdue"]
        assert cards(page) == {
            "抽查覆盖率": pct(tasks["entities_checked"], total),
            "随机抽查事项占比": pct(plans["general_items_planned"], plans["general_items"]),
            "联合抽查占比（能联尽联）": pct(plans["joint_strata"], plans["strata"]),
            "任务完成率": pct(tasks["completed"], tasks["tasks"]),
            "按时公示率": pct(t["on_time"], due),
            "计划逾期报备": f"{len(plans['late'])}项",
            "触发检查（另计）": f"{triggered['tasks']}项",
        }
        assert table_rows(page, "departments") == [
            [
                DEPARTMENTS.get(r["key"], r["key"]),
                grouped(r["tasks"]),
                grouped(r["completed"]),
                grouped(r["overdue"]),
                pct(r["completed"], r["tasks"]),
                grouped(r["entities"]),
                pct(r["entities"], total),
            ]
            for r in tasks["by_department"]
        ]
        in_class: dict[str, int] = {}
        for g in entities["groups"]:
            key = g["key"]["risk_class"]
            in_class[key] = in_class.get(key, 0) + g["count"]
        drawn = {r["risk_class"]: r for r in draws["by_risk_class"]}
        checked = {r["risk_class"]: r["entities"] for r in tasks["by_risk_class"]}
        class_rows = table_rows(page, "coverage-class")
        assert set(checked) <= {row[0][0] if row[0] != "未分类" else "" for row in class_rows}
        for row in class_rows:
            code = row[0][0] if row[0] != "未分类" else ""
            picked = drawn.get(code, {"entities": 0})["entities"]
            seen = checked.get(code, 0)
            assert row[1:] == [
                grouped(in_class.get(code, 0)),
                grouped(picked),
                pct(picked, in_class.get(code, 0)),
                grouped(seen),
                pct(seen, in_class.get(code, 0)),
            ]
        planned = {r["risk_class"]: r for r in plans["by_risk_class"]}
        for row in table_rows(page, "ratio-class"):
            code = row[0][0] if row[0] != "未分类" else ""
            p = planned.get(code, {"k": 0, "n": 0})
            d = drawn.get(code, {"k": 0, "n": 0})
            assert row[1:] == [
                grouped(p["k"]),
                grouped(p["n"]),
                pct(p["k"], p["n"]),
                grouped(d["k"]),
                grouped(d["n"]),
                pct(d["k"], d["n"]),
            ]
        assert [r[1] for r in table_rows(page, "timeliness")] == [
            grouped(t[k]) for k in ("on_time", "late", "overdue", "pending")
        ]
        items = {r["item_code"]: r for r in tasks["by_item"]}
        for row in table_rows(page, "items"):
            code = row[0].rsplit("（", 1)[1].rstrip("）")
            assert row[1:] == [
                grouped(items[code]["checked"]),
                grouped(items[code]["problems"]),
                pct(items[code]["problems"], items[code]["checked"]),
            ]

        # The problem rate by industry: the publisher's industry codes added up to their
        # GB/T 4754 大类, named in Chinese.
        by_division: dict[str, list[int]] = {}
        for r in tasks["by_industry"]:
            row = by_division.setdefault(r["industry_code"][:3], [0, 0])
            row[0] += r["results"]
            row[1] += r["problems"]
        assert by_division, "the demo county has results with their industries"
        table = industries()
        expected = []
        for code in sorted(by_division, key=lambda k: (k == "", k)):
            n, bad = by_division[code]
            name = table.get(code)
            label = f"{name.name}（{code}）" if name else (code or "未记录行业")
            expected.append([label, grouped(n), grouped(bad), pct(bad, n)])
        assert table_rows(page, "industries") == expected
        expect(page.get_by_role("heading", name="问题发现率（按行业）")).to_be_visible()

        # Every chart drawn over its table; the CSV of a table is that table.
        for chart in page.locator("[data-chart]").all():
            expect(chart).to_have_attribute("data-drawn", "true")
            expect(chart).to_be_visible()
        answer = page.request.get(
            f"{stack.urls['web']}/console/stats.csv?table=departments&year={year}&department=all"
        )
        assert answer.ok and answer.headers["content-type"].startswith("text/csv")
        text = answer.body().decode("utf-8")
        assert text.startswith("\ufeff部门,任务数,已完成,超期未完成,完成率")
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        assert rows[1:] == table_rows(page, "departments")
        answer = page.request.get(
            f"{stack.urls['web']}/console/stats.csv?table=industries&year={year}&department=all"
        )
        assert answer.ok
        rows = list(csv.reader(io.StringIO(answer.body().decode("utf-8").lstrip("\ufeff"))))
        assert rows[0] == [
            "行业（国民经济行业分类大类）",
            "检查结果（条）",
            "发现问题（条）",
            "问题发现率",
        ]
        assert rows[1:] == expected
        expect(page.locator("[data-chart='industries']")).to_have_attribute("data-drawn", "true")

        assert_fits_width(page)
        assert_accessible(page)
        save_screenshot(page, "console-stats-desktop")
        page.locator("#h-ratio-class").scroll_into_view_if_needed()
        save_screenshot(page, "console-stats-ratios-desktop")
        page.locator("#h-industries").scroll_into_view_if_needed()
        save_screenshot(page, "console-stats-industries-desktop")
    finally:
        context.close()


def test_a_planner_sees_their_departments_figures_on_a_phone(
    browser_stack: Seeded, browser: Browser, year: int
) -> None:
    stack = browser_stack
    tasks = _get(stack, "publisher", "/stats/tasks", year=year, department="SCJG")
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        path = f"/console/stats?year={year}"
        sign_in(page, stack, "planner-scjg", path)
        expect(page.get_by_label("部门", exact=True)).to_have_value("SCJG")
        assert cards(page)["任务完成率"] == pct(tasks["completed"], tasks["tasks"])
        roster = {
            i["inspector_id"]: i["name"]
            for i in _get(stack, "registry", "/inspectors", limit=1000)["inspectors"]
        }
        assert [r[:4] for r in table_rows(page, "inspectors")] == [
            [
                f"{roster[r['key']]}（{r['key']}）",
                grouped(r["tasks"]),
                grouped(r["completed"]),
                grouped(r["overdue"]),
            ]
            for r in tasks["by_inspector"]
        ]
        expect(page.locator("[data-chart='departments']")).to_have_attribute("data-drawn", "true")
        # Every department: the choice is kept in the link of each CSV.
        page.get_by_label("部门", exact=True).select_option("all")
        page.get_by_role("button", name="查看").click()
        expect(page).to_have_url(
            f"{stack.urls['web']}/console/stats?year={year}&region=&department=all"
        )
        everyone = _get(stack, "publisher", "/stats/tasks", year=year)
        assert cards(page)["任务完成率"] == pct(everyone["completed"], everyone["tasks"])
        assert_fits_width(page)
        assert_accessible(page)
        save_screenshot(page, "console-stats-phone")
        page.locator("#h-departments").scroll_into_view_if_needed()
        save_screenshot(page, "console-stats-departments-phone")
    finally:
        context.close()
