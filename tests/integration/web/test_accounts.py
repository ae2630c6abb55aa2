"""Accounts and sign-in of the web service, on real PostgreSQL and NATS, with the real registry
answering the roster check over HTTP."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from pathlib import Path
from typing import Any

import pytest

from contracts.common import Role
from services.registry.app import spec as registry_spec
from services.registry.domain import synthetic
from services.web.app import spec as web_spec
from tests.integration.registry.helpers import http_import
from tests.waiting import eventually

PASSWORD = "Jian-cha-2026"


async def _roster(registry: Any, tmp_path: Path) -> tuple[str, str]:
    """Import 30 inspectors; one active id and one not active."""
    out = io.StringIO()
    synthetic.write_inspectors(out, 30)
    path = tmp_path / "inspectors.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    await http_import(registry, "inspectors", path)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    active = next(r["inspector_id"] for r in rows if r["status"] == "active")
    away = next(r["inspector_id"] for r in rows if r["status"] != "active")
    return active, away


@pytest.fixture
async def web(run_service: Any, serve_app: Any, tmp_path: Path, monkeypatch: Any) -> Any:
    registry = await run_service(registry_spec)
    active, away = await _roster(registry, tmp_path)
    monkeypatch.setenv("SPOTCHECK_WEB_REGISTRY_URL", await serve_app(registry.ctx.app))
    svc = await run_service(web_spec)
    svc.active, svc.away = active, away
    return svc


async def _add(web: Any, **body: Any) -> Any:
    return await web.http.post("/admin/users", json=body, headers=web.auth(Role.OPERATOR))


def _pre_csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the sign-in form carries a CSRF token"
    return found.group(1)


async def _sign_in(web: Any, username: str, password: str) -> Any:
    page = await web.http.get("/login")
    assert page.status_code == 200
    return await web.http.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": _pre_csrf(page.text)},
    )


async def test_accounts_are_checked_when_added(web: Any) -> None:
    r = await _add(web, username="li", display_name="李明", role="inspector", password=PASSWORD)
    assert r.status_code == 422
    fields = {d["loc"][0] for d in r.json()["error"]["details"]}
    assert fields == {"department", "inspector_id"}
    r = await _add(
        web, username="li", display_name="李明", role="planner", department="SCJG", password="short"
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == ["password"]
    r = await _add(
        web,
        username="li",
        display_name="李明",
        role="inspector",
        department="SCJG",
        inspector_id="NO-SUCH-ID",
        password=PASSWORD,
    )
    assert r.status_code == 422 and "名录库" in r.json()["error"]["details"][0]["msg_zh"]
    ok = dict(username="li", display_name="李明", role="inspector", department="SCJG")
    r = await _add(web, **ok, inspector_id=web.active, password=PASSWORD)
    assert r.status_code == 201 and r.json()["initial_password"] is None
    again = await _add(web, **ok, inspector_id=web.active, password=PASSWORD)
    assert again.status_code == 409
    # only an operator manages accounts
    r = await web.http.get("/admin/users", headers=web.auth(Role.AUDITOR))
    assert r.status_code == 403
    listed = (await web.http.get("/admin/users", headers=web.auth(Role.OPERATOR))).json()
    assert [a["username"] for a in listed] == ["li"] and "password_hash" not in listed[0]


async def test_sign_in_lockout_reset_and_disable(web: Any) -> None:
    body = dict(display_name="王芳", role="inspector", department="SCJG")
    assert (
        await _add(web, username="wang", inspector_id=web.active, password=PASSWORD, **body)
    ).status_code == 201
    # a form without the token of its own page is refused before the password is looked at
    r = await web.http.post("/login", data={"username": "wang", "password": PASSWORD})
    assert r.status_code == 422 or r.status_code == 403
    # five wrong passwords lock the account; the right one then does not sign in either
    for attempt in range(4):
        r = await _sign_in(web, "wang", "wrong-password")
        assert r.status_code == 401 and "用户名或密码错误" in r.text, attempt
    r = await _sign_in(web, "wang", "wrong-password")
    assert r.status_code == 401 and "已锁定" in r.text
    r = await _sign_in(web, "wang", PASSWORD)
    assert r.status_code == 401 and "已锁定" in r.text
    # an unknown name reads exactly like a wrong password
    r = await _sign_in(web, "nobody", PASSWORD)
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    # a reset lifts the lock and must be changed at first sign-in
    reset = await web.http.post("/admin/users/wang/reset-password", headers=web.auth(Role.OPERATOR))
    new = reset.json()["password"]
    r = await _sign_in(web, "wang", new)
    assert r.status_code == 303 and r.headers["location"] == "/password"
    cookie = r.cookies.get("spotcheck_session")
    assert cookie and "httponly" in r.headers["set-cookie"].lower()
    web.http.cookies.set("spotcheck_session", cookie)
    page = await web.http.get("/password")
    assert page.status_code == 200 and "首次登录或密码已重置" in page.text, page.text
    csrf = _pre_csrf(page.text)
    # without the session's CSRF token nothing changes
    r = await web.http.post("/password", data={"current": new, "new": "Another-pass-9"})
    assert r.status_code == 403
    r = await web.http.post("/password", data={"current": new, "new": "weak", "csrf_token": csrf})
    assert r.status_code == 422 and "密码至少" in r.text
    r = await web.http.post(
        "/password", data={"current": new, "new": "Another-pass-9", "csrf_token": csrf}
    )
    assert r.status_code == 303
    # disabling ends the session at once
    r = await web.http.post(
        "/admin/users/wang/disable", json={"reason": "调离"}, headers=web.auth(Role.OPERATOR)
    )
    assert r.status_code == 200
    r = await web.http.get("/password")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    web.http.cookies.clear()
    r = await _sign_in(web, "wang", "Another-pass-9")
    assert r.status_code == 401 and "停用" in r.text
    actions = [e.action for e in await web.ctx.audit.entries()]
    for expected in (
        "account.added",
        "account.locked",
        "account.password_reset",
        "session.started",
        "account.password_changed",
        "account.disabled",
    ):
        assert expected in actions
    assert (await web.ctx.audit.verify()).broken is None


async def test_a_sign_in_waiting_too_long_for_the_account_row_is_busy(
    run_service: Any, monkeypatch: Any
) -> None:
    # The bound (5 s by default) shortened so the test need not wait it; the path is the same.
    wait_s = 2.0
    monkeypatch.setenv("SPOTCHECK_WEB_SIGN_IN_WAIT_S", str(wait_s))
    web = await run_service(web_spec)
    assert web.wiring.accounts.sign_in_wait_s == wait_s
    body = dict(display_name="陈静", role="planner", department="SCJG", password=PASSWORD)
    assert (await _add(web, username="chen", **body)).status_code == 201
    pool = web.ctx.db.pool

    async def sign_in_waits_for_the_row() -> bool:
        waiting: int = await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return waiting > 0

    # Another sign-in of the account (on any copy) holding its row all along.
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM accounts WHERE username = 'chen' FOR UPDATE")
        started = time.monotonic()
        attempt = asyncio.create_task(_sign_in(web, "chen", PASSWORD))
        await eventually(sign_in_waits_for_the_row, what="the sign-in waiting for the row")
        r = await asyncio.wait_for(attempt, timeout=wait_s + 15)
        elapsed = time.monotonic() - started
        assert r.status_code == 401 and "登录尝试过于频繁" in r.text, r.text
        assert elapsed >= wait_s * 0.95, elapsed  # it waited the bound, not refused at once
        assert not await sign_in_waits_for_the_row()
    # The row free again, the same password signs in: the busy attempt counted no failure.
    account = await web.wiring.accounts.store.account("chen")
    assert account is not None and account.failed_logins == 0
    r = await _sign_in(web, "chen", PASSWORD)
    assert r.status_code == 303, r.text


async def test_an_inspector_not_active_in_the_roster_cannot_sign_in(web: Any) -> None:
    body = dict(display_name="赵强", role="inspector", department="SCJG", password=PASSWORD)
    assert (await _add(web, username="zhao", inspector_id=web.away, **body)).status_code == 201
    r = await _sign_in(web, "zhao", PASSWORD)
    assert r.status_code == 401 and "不在岗" in r.text


async def test_pages_need_a_session_and_open_redirects_are_refused(web: Any) -> None:
    r = await web.http.get("/m/")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/m/"
    body = dict(display_name="钱伟", role="auditor", password=PASSWORD)
    assert (await _add(web, username="qian", **body)).status_code == 201
    page = await web.http.get("/login")
    r = await web.http.post(
        "/login",
        data={
            "username": "qian",
            "password": PASSWORD,
            "csrf_token": _pre_csrf(page.text),
            "next": "//evil.example/",
        },
    )
    # not the other site: the auditor's own home, the console's 审计
    assert r.status_code == 303 and r.headers["location"] == "/console/audit"
    # an unknown page is a page in Chinese, not JSON
    r = await web.http.get("/no/such/page")
    assert r.status_code == 404 and "页面不存在" in r.text


async def test_an_empty_or_odd_roster_id_is_an_answer_not_a_500(web: Any) -> None:
    # Found by the fuzzer (issue 17): an empty `inspector_id` asked the registry for
    # `/inspectors/`, another route, and the answer was a 500. Empty is "none"; any other id
    # is one path segment, quoted, whatever it holds.
    for n in (1, 2):  # twice: two accounts without a roster id do not clash on ""
        r = await _add(
            web,
            username=f"zhao{n}",
            display_name="赵",
            role="policy",
            inspector_id="",
            department="",
        )
        assert r.status_code == 201, r.text
    listed = (await web.http.get("/admin/users", headers=web.auth(Role.OPERATOR))).json()
    assert {a["inspector_id"] for a in listed} == {None}
    for odd in ("../entities", "a/b", "?x=1", "%00"):
        r = await _add(
            web,
            username="qian",
            display_name="钱",
            role="inspector",
            department="SCJG",
            inspector_id=odd,
            password=PASSWORD,
        )
        assert r.status_code == 422 and "名录库" in r.json()["error"]["details"][0]["msg_zh"], odd
