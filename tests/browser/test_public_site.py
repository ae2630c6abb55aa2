"""The public site (一公开) as citizens and companies use it, on phones and desktops, against the
real stack with the demo county: every page loads with its heading, fits a phone, passes
axe-core and leaves a screenshot (`site-<page>-<viewport>.png`; `make screenshots` writes them
to docs/images/). Search finds a demo company by part of its name and by its USCC, and its page
lists its result. On each demo draw the 验证 button says 一致 for every stratum, as
tools/verify_draw.py says OK; a candidate list with one USCC changed (served by the test) or a
record with its selection reordered is named, with the tool's very first difference; a
company's ticket and cut-off equal the tool's. The keyboard alone reaches the search and the
verifier; the large-text mode works without JavaScript; pages print without their controls.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from services.registry.library import entity_uscc
from tests.browser.checks import assert_accessible, assert_fits_width, save_screenshot
from tests.browser.conftest import DESKTOP, PHONE, Seeded
from tests.stack import ROOT

TOOL = ROOT / "tools" / "verify_draw.py"
VERIFY_TIMEOUT_MS = 120_000

# page → path and its first heading
PAGES = {
    "home": ("/", "“双随机、一公开”抽查公示"),
    "items": ("/items", "抽查事项清单"),
    "plans": ("/plans", "计划公告"),
    "tasks": ("/tasks", "任务公告"),
    "results": ("/results", "结果公告"),
    "draws": ("/draws", "抽取记录"),
}


def _get(stack: Seeded, service: str, path: str) -> Any:
    r = httpx.get(stack.urls[service] + path, timeout=60)
    r.raise_for_status()
    return r.json()


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def draws(browser_stack: Seeded) -> list[dict[str, Any]]:
    """The demo's draws with their records, the one with the most candidates first."""
    out = []
    for d in browser_stack.summary["draws"]:
        record = _get(browser_stack, "draw", f"/draws/{d['draw_id']}/record")
        out.append({"draw_id": d["draw_id"], "record": record})
    out.sort(key=lambda d: -sum(s["n"] for s in d["record"]["strata"]))
    assert out, "the demo made draws"
    return out


@pytest.fixture(scope="module")
def a_result(browser_stack: Seeded) -> dict[str, Any]:
    """A published result of the demo (its company is findable)."""
    page = _get(browser_stack, "publisher", "/public/notices/results.json?limit=1")
    assert page["results"], "the demo published results"
    return dict(page["results"][0])


def _verify(page: Page) -> None:
    page.get_by_role("button", name="验证").click()
    expect(page.locator("[data-verifier]")).to_have_attribute(
        "data-state", "done", timeout=VERIFY_TIMEOUT_MS
    )


def _verdicts(page: Page) -> dict[str, str]:
    cells = page.locator("[data-verdict]")
    return {
        cells.nth(i).get_attribute("data-verdict") or "": cells.nth(i).inner_text()
        for i in range(cells.count())
    }


# ---- every page -------------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("name", list(PAGES))
def test_public_site_page(
    name: str, viewport: str, browser_stack: Seeded, request: pytest.FixtureRequest
) -> None:
    page: Page = request.getfixturevalue(viewport)
    path, heading = PAGES[name]
    response = page.goto(browser_stack.urls["web"] + path)
    assert response is not None and response.ok, response and response.status
    assert response.headers["cache-control"] == "public, max-age=60" and response.headers["etag"]
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
    if name != "home":
        nav = page.get_by_role("navigation", name="公示栏目")
        expect(nav.get_by_role("link", name=heading)).to_have_attribute("aria-current", "page")
    assert_fits_width(page)
    assert_accessible(page)
    save_screenshot(page, f"site-{name}-{viewport}")


def test_results_filtered_with_names_on_a_phone(browser_stack: Seeded, phone: Page) -> None:
    """A citizen narrows 结果公告 by department and result with a finger; the choices are names,
    the page says how many, and what was chosen stays chosen."""
    phone.goto(browser_stack.urls["web"] + "/results")
    department = phone.get_by_label("检查部门")
    expect(department.locator("option", has_text="昌江区市场监督管理局")).to_have_count(1)
    department.select_option(label="昌江区市场监督管理局")
    phone.get_by_label("检查结果", exact=True).select_option(label="未发现问题")
    phone.get_by_role("button", name="筛选").click()
    expect(phone).to_have_url(re.compile(r"department=SCJG.*category=1"))
    expect(phone.get_by_role("status").first).to_contain_text("共")
    expect(phone.get_by_label("检查部门")).to_have_value("SCJG")
    expect(phone.locator("article").first).to_contain_text("昌江区市场监督管理局")
    assert_fits_width(phone)
    assert_accessible(phone)
    save_screenshot(phone, "site-results-filtered-phone")


# ---- companies ---------------------------------------------------------------------------------


def test_search_finds_a_company_by_part_of_its_name_and_by_uscc(
    browser_stack: Seeded, phone: Page, a_result: dict[str, Any]
) -> None:
    name, uscc = a_result["entity_name"], a_result["uscc"]
    # Four characters from the middle of the name, as someone remembers it: after the place
    # names, which half the companies of a county share (they would fill the first page).
    place = re.match(r"(?:.+?[省市])?(?:.+?[区县旗])?", name)
    part = name[place.end() if place else 0 :][:4]
    phone.goto(browser_stack.urls["web"] + "/")
    phone.get_by_label("企业名称或统一社会信用代码").fill(part)
    phone.get_by_role("button", name="查询").click()
    expect(phone).to_have_url(re.compile(r"/search\?q="))
    found = phone.get_by_role("link", name=name)
    expect(found.first).to_be_visible()
    assert_fits_width(phone)
    assert_accessible(phone)
    save_screenshot(phone, "site-search-phone")

    found.first.click()
    expect(phone.get_by_role("heading", level=1, name=name)).to_be_visible()
    results = phone.get_by_role("region", name="检查结果")
    expect(results).to_contain_text(a_result["items"][0]["category_name"])
    expect(phone.get_by_text(uscc).first).to_be_visible()
    assert_fits_width(phone)
    assert_accessible(phone)
    save_screenshot(phone, "site-company-phone")
    # From its page to its own ticket in this year's draw that chose it, computed on the phone.
    phone.get_by_role("link", name=re.compile(f"核对在 {a_result['draw_id']} 中的签号")).click()
    expect(phone.locator(".ticket-row").first).to_be_visible(timeout=VERIFY_TIMEOUT_MS)
    assert phone.locator(".ticket-row[data-selected=true]").count() >= 1

    phone.goto(browser_stack.urls["web"] + "/")
    phone.get_by_label("企业名称或统一社会信用代码").fill(uscc.lower())
    phone.keyboard.press("Enter")
    expect(phone).to_have_url(re.compile(f"/companies/{uscc}$"))
    expect(phone.get_by_role("heading", level=1, name=name)).to_be_visible()


# ---- the draw verified in the browser ------------------------------------------------------------


def test_every_demo_draw_is_consistent_as_the_tool_says(
    browser_stack: Seeded, desktop: Page, draws: list[dict[str, Any]]
) -> None:
    web = browser_stack.urls["web"]
    for d in draws:
        draw_id, record = d["draw_id"], d["record"]
        desktop.goto(f"{web}/draws/{draw_id}")
        _verify(desktop)
        verdicts = _verdicts(desktop)
        assert set(verdicts) == {s["stratum_id"] for s in record["strata"]}
        assert set(verdicts.values()) == {"一致"}, verdicts
        assert desktop.locator("[data-verifier]").get_attribute("data-ok") == "true"
        expect(desktop.locator("[data-verify-summary]")).to_contain_text("全部一致")
        tool = _tool(f"{web}/draws/{draw_id}/record.json", f"{web}/draws/{draw_id}/candidates/")
        assert tool.returncode == 0 and tool.stdout.startswith(f"OK {draw_id} "), tool
    assert_accessible(desktop)
    save_screenshot(desktop, "site-draw-verified-desktop")


def _tamper_list(body: bytes) -> bytes:
    """The list with its last USCC changed (still a list, still ascending)."""
    lines = body.decode().split("\n")[:-1]
    lines[-1] = "9" * 17 + "Y"
    return "".join(u + "\n" for u in lines).encode()


def _tamper_record(record: dict[str, Any], sid: str) -> dict[str, Any]:
    """The record with one stratum's selection in another order."""
    out = json.loads(json.dumps(record))
    s = next(s for s in out["strata"] if s["stratum_id"] == sid)
    s["selected"] = list(reversed(s["selected"]))
    return out


@pytest.mark.parametrize("what", ["list", "record"])
def test_a_changed_file_is_named_as_the_tool_names_it(
    what: str, browser_stack: Seeded, desktop: Page, draws: list[dict[str, Any]], tmp_path: Path
) -> None:
    web = browser_stack.urls["web"]
    draw_id, record = draws[0]["draw_id"], draws[0]["record"]
    wanted = [s for s in record["strata"] if s["n"] >= 2 and s["k"] >= 2]
    sid = wanted[len(wanted) // 2]["stratum_id"]
    # The same files for the tool, in a folder: the record and every list, one changed.
    for s in record["strata"]:
        body = httpx.get(f"{web}/draws/{draw_id}/candidates/{s['stratum_id']}.txt").content
        if what == "list" and s["stratum_id"] == sid:
            body = _tamper_list(body)
        (tmp_path / f"{s['stratum_id']}.txt").write_bytes(body)
    served = _tamper_record(record, sid) if what == "record" else record
    (tmp_path / "record.json").write_text(json.dumps(served), encoding="utf-8")

    def list_of(route: Route) -> None:
        route.fulfill(
            body=(tmp_path / f"{sid}.txt").read_bytes(), content_type="text/plain; charset=utf-8"
        )

    def record_of(route: Route) -> None:
        route.fulfill(body=json.dumps(served), content_type="application/json")

    if what == "list":
        desktop.route(f"**/draws/{draw_id}/candidates/{sid}.txt", list_of)
    else:
        desktop.route(f"**/draws/{draw_id}/record.json", record_of)
    desktop.goto(f"{web}/draws/{draw_id}")
    _verify(desktop)

    verdicts = _verdicts(desktop)
    assert verdicts[sid].startswith("不一致"), verdicts[sid]
    assert all(v == "一致" for k, v in verdicts.items() if k != sid), verdicts
    assert desktop.locator("[data-verifier]").get_attribute("data-ok") == "false"
    summary = desktop.locator("[data-verify-summary]")
    expect(summary).to_contain_text(sid)
    tool = _tool(str(tmp_path / "record.json"), str(tmp_path))
    assert tool.returncode == 1, tool
    said = tool.stdout.strip().removeprefix("DIFFERENCE: ")
    assert summary.get_attribute("data-first-difference") == said
    if what == "list":
        assert_accessible(desktop)
        save_screenshot(desktop, "site-draw-difference-desktop")


def test_a_company_sees_its_own_ticket_as_the_tool_computes_it(
    browser_stack: Seeded, phone: Page, draws: list[dict[str, Any]]
) -> None:
    web = browser_stack.urls["web"]
    draw_id, record = draws[0]["draw_id"], draws[0]["record"]
    uscc = next(s["selected"][0] for s in record["strata"] if s["selected"])
    phone.goto(f"{web}/draws/{draw_id}#verify")
    phone.get_by_label("统一社会信用代码").fill(uscc)
    phone.get_by_role("button", name="计算签号").click()
    rows = phone.locator(".ticket-row")
    expect(rows.first).to_be_visible(timeout=VERIFY_TIMEOUT_MS)
    shown = {
        rows.nth(i).get_attribute("data-stratum"): (
            rows.nth(i).get_attribute("data-ticket"),
            rows.nth(i).get_attribute("data-cutoff"),
            rows.nth(i).get_attribute("data-selected") == "true",
        )
        for i in range(rows.count())
    }
    tool = _tool(
        f"{web}/draws/{draw_id}/record.json", f"{web}/draws/{draw_id}/candidates/", "--uscc", uscc
    )
    assert tool.returncode == 0, tool
    computed = {}
    for line in tool.stdout.splitlines()[:-1]:
        sid, _, ticket, cutoff, mark = line.split("\t")
        computed[sid] = (
            ticket.removeprefix("ticket "),
            cutoff.removeprefix("cut-off "),
            mark == "SELECTED",
        )
    assert shown == computed and any(sel for _, _, sel in computed.values())
    rows.first.scroll_into_view_if_needed()
    assert_fits_width(phone)
    assert_accessible(phone)
    save_screenshot(phone, "site-draw-ticket-phone")


def _synthetic(n: int, *, reorder: bool) -> tuple[dict[str, Any], bytes]:
    """A record of one stratum of `n` candidates (its selection by hashlib), and its list."""
    seed, sid, bp = "27182818284590452353", f"2026.WIDE-{n}.B.360202", 500
    usccs = sorted({entity_uscc(91, "360202", i) for i in range(n)})
    body = "".join(u + "\n" for u in usccs).encode()
    k = (n * bp + 9999) // 10000
    chosen = sorted((hashlib.sha256(f"{seed}|{sid}|{u}".encode()).hexdigest(), u) for u in usccs)
    selected = [u for _, u in chosen[:k]]
    if reorder:
        selected[k // 2], selected[k // 2 + 1] = selected[k // 2 + 1], selected[k // 2]
    digest = hashlib.sha256(body).hexdigest()
    record = {
        "spec": "spotcheck-draw/1",
        "draw_id": "D-WIDE",
        "plan_id": "P-WIDE",
        "rules_version": "x",
        "seed": seed,
        "seed_source": "dice",
        "commitment_sha256": hashlib.sha256(f"{sid}\t{n}\t{k}\t{digest}\n".encode()).hexdigest(),
        "strata": [
            {
                "stratum_id": sid,
                "n": n,
                "bp": bp,
                "k": k,
                "candidates_sha256": digest,
                "selected": selected,
            }
        ],
    }
    return record, body


@pytest.mark.parametrize("reorder", [False, True])
def test_a_large_stratum_is_hashed_by_workers_as_the_tool_computes(
    reorder: bool,
    browser_stack: Seeded,
    desktop: Page,
    draws: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    """A stratum past `PARALLEL_FROM` is hashed in slices by verify-worker.js: the verdict, the
    first difference and a company's ticket are still the tool's."""
    record, body = _synthetic(30_000, reorder=reorder)
    sid = record["strata"][0]["stratum_id"]
    (tmp_path / "record.json").write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / f"{sid}.txt").write_bytes(body)
    draw_id = draws[-1]["draw_id"]
    desktop.route(
        f"**/draws/{draw_id}/record.json",
        lambda route: route.fulfill(body=json.dumps(record), content_type="application/json"),
    )
    desktop.route(
        f"**/draws/{draw_id}/candidates/{sid}.txt",
        lambda route: route.fulfill(body=body, content_type="text/plain; charset=utf-8"),
    )
    workers: list[str] = []
    desktop.on("worker", lambda w: workers.append(w.url))
    uscc = record["strata"][0]["selected"][0]
    desktop.goto(f"{browser_stack.urls['web']}/draws/{draw_id}")
    desktop.get_by_label("统一社会信用代码").fill(uscc)
    desktop.get_by_role("button", name="计算签号").click()
    section = desktop.locator("[data-verifier]")
    expect(section).to_have_attribute("data-state", "done", timeout=VERIFY_TIMEOUT_MS)
    if desktop.evaluate("navigator.hardwareConcurrency") > 1:
        assert workers and all(w.endswith("/static/public/verify-worker.js") for w in workers)
    tool = _tool(str(tmp_path / "record.json"), str(tmp_path), "--uscc", uscc)
    said = desktop.locator("[data-verify-summary]").get_attribute("data-first-difference")
    if reorder:
        assert tool.returncode == 1 and section.get_attribute("data-ok") == "false"
        assert said == tool.stdout.strip().removeprefix("DIFFERENCE: ")
        return
    assert tool.returncode == 0 and section.get_attribute("data-ok") == "true" and said == ""
    line = tool.stdout.splitlines()[0].split("\t")
    row = desktop.locator(".ticket-row").first
    assert row.get_attribute("data-ticket") == line[2].removeprefix("ticket ")
    assert row.get_attribute("data-cutoff") == line[3].removeprefix("cut-off ")


def test_draw_page_on_a_phone(
    browser_stack: Seeded, phone: Page, draws: list[dict[str, Any]]
) -> None:
    draw_id = draws[0]["draw_id"]
    phone.goto(f"{browser_stack.urls['web']}/draws/{draw_id}")
    expect(phone.get_by_role("heading", level=1)).to_contain_text(draw_id)
    expect(phone.get_by_role("heading", name="抽查任务与检查人员")).to_be_visible()
    assert_fits_width(phone)
    assert_accessible(phone)
    save_screenshot(phone, "site-draw-phone")
    _verify(phone)
    assert phone.locator("[data-verifier]").get_attribute("data-ok") == "true"
    phone.locator("[data-verify-summary]").scroll_into_view_if_needed()
    assert_fits_width(phone)
    save_screenshot(phone, "site-draw-verified-phone")


# ---- keyboard, large text, print -------------------------------------------------------------


def _tab_to(page: Page, selector: str, *, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_alone_searches_and_verifies(
    browser_stack: Seeded, desktop: Page, draws: list[dict[str, Any]], a_result: dict[str, Any]
) -> None:
    web = browser_stack.urls["web"]
    desktop.goto(web + "/")
    _tab_to(desktop, "a.skip")
    _tab_to(desktop, "#search-q")
    desktop.keyboard.type(a_result["uscc"][:10])
    desktop.keyboard.press("Enter")
    expect(desktop).to_have_url(re.compile(r"/search\?q="))
    _tab_to(desktop, "ol.companies a")
    desktop.keyboard.press("Enter")
    expect(desktop).to_have_url(re.compile(r"/companies/"))

    desktop.goto(f"{web}/draws/{draws[-1]['draw_id']}")
    _tab_to(desktop, "[data-verify-button]")
    desktop.keyboard.press("Enter")
    expect(desktop.locator("[data-verifier]")).to_have_attribute(
        "data-ok", "true", timeout=VERIFY_TIMEOUT_MS
    )


@pytest.fixture
def phone_without_js(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(**PHONE, java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_large_text_works_without_javascript(
    browser_stack: Seeded, phone_without_js: Page, browser: Browser
) -> None:
    page = phone_without_js
    web = browser_stack.urls["web"]
    page.goto(web + "/results")
    page.get_by_role("link", name="大字版").click()
    expect(page).to_have_url(re.compile(r"/results$"))
    expect(page.locator("html")).to_have_class("large-text")
    assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "20px"
    assert_fits_width(page)
    # The filters are a plain form: they work without script too.
    page.get_by_label("所在地区").select_option(index=1)
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"region=\d{6}"))
    expect(page.locator("html")).to_have_class("large-text")
    cookies = page.context.cookies()
    # axe needs script: the same page, same cookie, in a context that runs it
    context = browser.new_context(**PHONE)
    try:
        checked = context.new_page()
        context.add_cookies(cookies)
        checked.goto(page.url)
        expect(checked.locator("html")).to_have_class("large-text")
        assert_fits_width(checked)
        assert_accessible(checked)
        save_screenshot(checked, "site-large-text-phone")
    finally:
        context.close()
    page.get_by_role("link", name="标准字号").click()
    expect(page.locator("html")).not_to_have_class("large-text")


def test_notices_print_without_their_controls(browser_stack: Seeded, browser: Browser) -> None:
    context = browser.new_context(**DESKTOP)
    try:
        page = context.new_page()
        page.goto(browser_stack.urls["web"] + "/tasks")
        page.emulate_media(media="print")
        expect(page.get_by_role("navigation", name="公示栏目")).to_be_hidden()
        expect(page.locator("form.filters-form")).to_be_hidden()
        expect(page.locator("article").first).to_be_visible()
    finally:
        context.close()
