"""What the console's browser tests do as an officer: sign in through the form, sign out, and
check a page (fits the width, axe clean, screenshot); and, beside the pages, what they ask the
services (`call`, with a token of the role), the plans they file for a draw of their own
(`approved_plan`), and the stack's PostgreSQL (`sql`, for a test that tampers with a row)."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from playwright.sync_api import Page, expect

from contracts.common import Role
from services.kit.auth import issue_token
from tests.browser.checks import assert_accessible, assert_fits_width, save_screenshot
from tests.browser.conftest import Seeded


def sign_in(page: Page, stack: Seeded, username: str, path: str = "/console/") -> None:
    """Sign in through the form, as an officer does, going to `path`."""
    page.goto(stack.urls["web"] + "/login?next=" + path)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(str(stack.summary["accounts"]["password"]))
    page.get_by_role("button", name="登录").click()


def sign_out(page: Page) -> None:
    """退出, and back on the sign-in page."""
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/login"))


def check_page(page: Page, name: str) -> None:
    """The page fits the screen's width, axe finds nothing, and a screenshot is kept."""
    assert_fits_width(page)
    assert_accessible(page)
    save_screenshot(page, name)


def token(stack: Seeded, role: Role, sub: str, dept: str | None = None) -> str:
    """A bearer token of the stack's key."""
    key = (Path(stack.env["SPOTCHECK_VAR_DIR"]) / "jwt.key").read_bytes().strip()
    return issue_token(key, role=role, sub=sub, dept=dept, ttl_s=600)


def call(
    stack: Seeded,
    method: str,
    service: str,
    path: str,
    *,
    role: Role,
    dept: str | None = None,
    json: Any = None,
    sub: str = "test",
) -> Any:
    """A service's HTTP API with a token of `role`; the answer's JSON (an error raises)."""
    r = httpx.request(
        method,
        stack.urls[service] + path,
        headers={"Authorization": f"Bearer {token(stack, role, sub, dept)}"},
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
        "period": {"start": "2026-06-01", "end": "2026-11-30"},
        "items": [{"item": "SCJG-006", "ratio": "3%"}],
        "filed_on": "2026-02-20",
    }
    call(stack, "POST", "planner", "/plans", role=Role.PLANNER, dept="SCJG", json=body)
    return body


def sql(stack: Seeded, query: str, *args: Any) -> list[dict[str, Any]]:
    """Run one statement on the stack's PostgreSQL (`var/stack.json` says where); its rows.

    In a thread of its own: while the sync Playwright lives, this thread's event loop counts as
    running (tests/browser/conftest.py), so asyncpg gets a loop elsewhere. A plain connection,
    without the services' codecs: json and jsonb come and go as text."""
    stack_file = Path(stack.env["SPOTCHECK_VAR_DIR"]) / "stack.json"
    url = json.loads(stack_file.read_text())["database_url"]

    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url)
        try:
            return [dict(r) for r in await conn.fetch(query, *args)]
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=60)
