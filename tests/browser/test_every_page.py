"""Every page a signed-in person opens — the officers' console and 掌上查 — on a 390 px phone,
a 768 px tablet and a 1280 px desktop: it loads for the role it is for, shows its heading, fits
the screen's width, passes axe (WCAG 2.1 AA), and leaves a screenshot of each width to look at.

Read-only: it opens pages as the demo left them, so it may run before or after the journeys
(the public site's pages are checked the same way in test_public_site.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from contracts.common import Role
from services.kit.auth import issue_token
from tests.browser.checks import assert_accessible, assert_fits_width, save_screenshot
from tests.browser.conftest import DESKTOP, PHONE, TABLET, Seeded

VIEWPORTS = {"phone": PHONE, "tablet": TABLET, "desktop": DESKTOP}


def _get(stack: Seeded, service: str, path: str) -> Any:
    key = (Path(stack.env["SPOTCHECK_VAR_DIR"]) / "jwt.key").read_bytes().strip()
    token = issue_token(key, role=Role.AUDITOR, sub="test", ttl_s=600)
    r = httpx.get(
        stack.urls[service] + path, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    r.raise_for_status()
    return r.json()


@pytest.fixture(scope="module")
def ids(browser_stack: Seeded) -> dict[str, str]:
    """A draw, a plan of the planner's department (SCJG) and a task of the demo's, and the
    inspector on that task; an open task of the draw (the 换人 page)."""
    draws = _get(browser_stack, "publisher", "/public/draws.json")["draws"]
    draw = next(d for d in draws if not d["superseded"])
    tasks = _get(browser_stack, "publisher", "/tasks?status=assigned&limit=50")
    inspector = browser_stack.summary["accounts"]["inspector"]
    mine = _get(browser_stack, "publisher", "/tasks?limit=500")
    task = next(
        (t for t in mine if inspector["username"].upper() in t["team"]), tasks[0] if tasks else {}
    )
    rows = _get(browser_stack, "draw", f"/draws/{draw['draw_id']}/tasks?limit=1000")
    open_task = next(
        r["task"]["task_id"]
        for r in rows
        if r["state"] == "assigned" and r["task"]["team"] and r["progress"] == "not_started"
    )
    plans = _get(browser_stack, "planner", "/plans?department=SCJG")
    plan = next(p for p in plans if p["status"] == "approved")
    return {
        "draw": draw["draw_id"],
        "plan": plan["plan_id"],
        "task": task["task_id"],
        "open_task": open_task,
        "inspector": inspector["username"],
    }


# name: (who signs in, path, the page's level-1 heading or None where it is the person's own)
PAGES: dict[str, tuple[str, str, str | None]] = {
    "console-plans": ("planner-scjg", "/console/plans", "抽查计划"),
    "console-plan-new": ("planner-scjg", "/console/plans/new", None),
    "console-plan-joint-new": ("planner-scjg", "/console/plans/joint/new", "发起联合抽查"),
    "console-plan": ("planner-scjg", "/console/plans/{plan}", None),
    "console-draws": ("draw-officer", "/console/draws", None),
    "console-draw": ("draw-officer", "/console/draws/{draw}", None),
    "console-present": ("draw-officer", "/console/draws/{draw}/present", None),
    "console-restaff": ("draw-officer", "/console/draws/{draw}/tasks/{open_task}/restaff", None),
    "console-rules": ("policy", "/console/rules", None),
    "console-rules-edit": ("policy", "/console/rules/edit", None),
    "console-rules-catalogue": ("policy", "/console/rules/catalogue", "事项清单导入"),
    "console-audit": ("auditor", "/console/audit", None),
    "console-stats": ("auditor", "/console/stats", None),
    "password": ("auditor", "/password", None),
    "m-tasks": ("{inspector}", "/m/", "我的任务"),
    "m-task": ("{inspector}", "/m/tasks/{task}", None),
    "m-result": ("{inspector}", "/m/tasks/{task}/result", None),
    "m-code": ("{inspector}", "/m/tasks/{task}/code", None),
}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_signed_in_page(
    name: str, viewport: str, browser_stack: Seeded, browser: Browser, ids: dict[str, str]
) -> None:
    who, path, heading = PAGES[name]
    username, path = who.format(**ids), path.format(**ids)
    context = browser.new_context(**VIEWPORTS[viewport])
    try:
        page: Page = context.new_page()
        page.goto(f"{browser_stack.urls['web']}/login?next={path}")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(str(browser_stack.summary["accounts"]["password"]))
        page.get_by_role("button", name="登录").click()
        expect(page).to_have_url(f"{browser_stack.urls['web']}{path}")
        again = page.goto(f"{browser_stack.urls['web']}{path}")  # its status: not an error page
        assert again is not None and again.status == 200, again and again.status
        title = page.get_by_role("heading", level=1)
        expect(title.first).to_be_visible()
        if heading is not None:
            expect(title.first).to_have_text(heading)
        assert_fits_width(page)
        assert_accessible(page)
        save_screenshot(page, f"every-{name}-{viewport}")
    finally:
        context.close()
