"""Two web copies on one NATS and one PostgreSQL (DESIGN §11, issue 18).

A session is a row of the web schema (its token's digest, its CSRF token, its end), not a copy's
memory: signed in on copy 1, the same cookie and CSRF token work on copy 2; signed out on copy
2, copy 1 refuses the cookie at once. Wrong passwords are counted on the account's row under a
row lock, so the lockout counts across copies, also attempts made at the same moment.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from contracts.common import Role
from services.registry.app import spec as registry_spec
from services.web.app import spec as web_spec
from tests.integration.web.test_accounts import _roster

PASSWORD = "Jian-cha-2026"
SESSION = "spotcheck_session"


@pytest.fixture
async def copies(run_service: Any, serve_app: Any, tmp_path: Path, monkeypatch: Any) -> list[Any]:
    """Two web copies with one account, `wang`, an inspector active in the registry's roster."""
    registry = await run_service(registry_spec)
    active, _ = await _roster(registry, tmp_path)
    monkeypatch.setenv("SPOTCHECK_WEB_REGISTRY_URL", await serve_app(registry.ctx.app))
    one, two = await run_service(web_spec), await run_service(web_spec)
    r = await one.http.post(
        "/admin/users",
        json={
            "username": "wang",
            "display_name": "王芳",
            "role": "inspector",
            "department": "SCJG",
            "inspector_id": active,
            "password": PASSWORD,
        },
        headers=one.auth(Role.OPERATOR),
    )
    assert r.status_code == 201, r.text
    return [one, two]


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page carries a CSRF token"
    return found.group(1)


async def _sign_in(web: Any, password: str) -> Any:
    """The sign-in form of `web`, filled and sent (its own pre-sign-in CSRF cookie)."""
    page = await web.http.get("/login")
    assert page.status_code == 200
    return await web.http.post(
        "/login", data={"username": "wang", "password": password, "csrf_token": _csrf(page.text)}
    )


async def test_a_session_started_on_one_copy_works_and_ends_on_the_other(
    copies: list[Any],
) -> None:
    one, two = copies
    r = await _sign_in(one, PASSWORD)
    assert r.status_code == 303, r.text
    cookie = r.cookies.get(SESSION)
    assert cookie
    for svc in copies:
        svc.http.cookies.clear()
        svc.http.cookies.set(SESSION, cookie)
    page = await one.http.get("/password")
    assert page.status_code == 200, page.text
    csrf = _csrf(page.text)
    # Copy 2 knows the session copy 1 started: pages, and a change with copy 1's CSRF token.
    page = await two.http.get("/password")
    assert page.status_code == 200 and _csrf(page.text) == csrf
    r = await two.http.post("/password", data={"current": PASSWORD, "new": "Another-pass-9"})
    assert r.status_code == 403  # without the CSRF token, refused there too
    r = await two.http.post(
        "/password", data={"current": PASSWORD, "new": "Another-pass-9", "csrf_token": csrf}
    )
    assert r.status_code == 303, r.text
    assert (await one.http.get("/password")).status_code == 200
    # Signed out on copy 2: copy 1 refuses the same cookie at once.
    r = await two.http.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    for svc in copies:
        svc.http.cookies.set(SESSION, cookie)
        r = await svc.http.get("/password")
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), r.text
    actions = [e.action for e in await one.ctx.audit.entries()]
    assert actions.count("session.started") == 1 and actions.count("session.ended") == 1


async def test_wrong_passwords_on_both_copies_lock_the_account_on_both(
    copies: list[Any],
) -> None:
    one, two = copies
    # Four wrong passwords at the same moment, two on each copy: every one counted.
    answers = await asyncio.gather(*(_sign_in(svc, "wrong-password") for svc in (one, two) * 2))
    for r in answers:
        assert r.status_code == 401 and "用户名或密码错误" in r.text, r.text
    async with one.ctx.db.pool.acquire() as conn:
        assert (
            await conn.fetchval("SELECT failed_logins FROM accounts WHERE username = 'wang'") == 4
        )
    # The fifth, on copy 2, locks it; copy 1 then refuses the right password.
    r = await _sign_in(two, "wrong-password")
    assert r.status_code == 401 and "已锁定" in r.text, r.text
    for svc in copies:
        r = await _sign_in(svc, PASSWORD)
        assert r.status_code == 401 and "已锁定" in r.text, r.text
        assert SESSION not in r.cookies
    actions = [e.action for e in await two.ctx.audit.entries()]
    assert actions.count("session.refused") == 4 and actions.count("account.locked") == 1
    assert "session.started" not in actions


async def test_a_burst_of_guesses_on_both_copies_is_checked_no_more_than_the_lockout_allows(
    copies: list[Any],
) -> None:
    """Twelve wrong passwords sent at the same moment, six to each copy: the lockout allows
    five guesses, so five passwords are checked (four refused, the fifth locks) and the other
    seven are refused as locked without being checked."""
    answers = await asyncio.gather(*(_sign_in(svc, "wrong-password") for svc in copies * 6))
    assert all(r.status_code == 401 for r in answers), [r.text for r in answers]
    wrong = [r for r in answers if "用户名或密码错误" in r.text]
    locked = [r for r in answers if "已锁定" in r.text]
    assert (len(wrong), len(locked)) == (4, 8), [r.text for r in answers]
    actions = [e.action for e in await copies[0].ctx.audit.entries()]
    assert actions.count("session.refused") == 4 and actions.count("account.locked") == 1
    for svc in copies:
        r = await _sign_in(svc, PASSWORD)
        assert r.status_code == 401 and "已锁定" in r.text, r.text
