"""Sign-in through a province's SSO: the web service, the registry and a real OIDC provider, each
on its own port, and a browser (an httpx client keeping cookies) walking between them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from contracts.common import Role
from services.kit.auth import is_public
from services.kit.http import api_routes
from services.registry.app import spec as registry_spec
from services.web.app import spec as web_spec
from services.web.domain.sso import pkce_challenge
from tests.integration.publisher.conftest import publish_tasks, task_assigned
from tests.integration.publisher.test_intake import publisher_spec

from .oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, Person
from .test_accounts import PASSWORD, _add, _roster

STATE_GONE = "登录请求已失效"
TOKEN_REFUSED = "统一身份认证的登录凭据无效或已过期"


@pytest.fixture
def provider(serve_app_in_thread: Any) -> OidcProvider:
    p = OidcProvider()
    p.issuer = serve_app_in_thread(p.app())
    return p


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as client:
        yield client


def _sso_env(monkeypatch: Any, provider: OidcProvider) -> None:
    monkeypatch.setenv("SPOTCHECK_WEB_OIDC_ISSUER", provider.issuer)
    monkeypatch.setenv("SPOTCHECK_WEB_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SPOTCHECK_WEB_OIDC_CLIENT_SECRET", CLIENT_SECRET)


@pytest.fixture
async def web(
    run_service: Any, serve_app: Any, provider: OidcProvider, tmp_path: Path, monkeypatch: Any
) -> Any:
    """The registry (with a roster) and the web with SSO on, both on real ports; the services
    take the tokens the web mints (no JWKS)."""
    registry = await run_service(registry_spec)
    active, away = await _roster(registry, tmp_path)
    monkeypatch.setenv("SPOTCHECK_WEB_REGISTRY_URL", await serve_app(registry.ctx.app))
    _sso_env(monkeypatch, provider)
    svc = await run_service(web_spec)
    svc.url = await serve_app(svc.ctx.app)
    svc.active, svc.away = active, away
    return svc


async def _begin(browser: httpx.AsyncClient, web: Any, next_url: str = "/password") -> str:
    """The browser asks to sign in and is sent to the provider: the provider's answer's
    location (the callback with a code)."""
    begun = await browser.get(f"{web.url}/login/sso", params={"next": next_url})
    assert begun.status_code == 303, begun.text
    at_provider = await browser.get(begun.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    return str(at_provider.headers["location"])


async def _sso_sign_in(browser: httpx.AsyncClient, web: Any, next_url: str = "/password") -> Any:
    """The whole trip; the callback's answer."""
    return await browser.get(await _begin(browser, web, next_url))


async def _count(web: Any, table: str) -> int:
    return int(await web.ctx.db.pool.fetchval(f"SELECT count(*) FROM {table}"))


async def test_round_trip_through_the_provider(
    web: Any, provider: OidcProvider, browser: httpx.AsyncClient
) -> None:
    body = dict(display_name="李明", role="inspector", department="SCJG", password=PASSWORD)
    assert (await _add(web, username="li", inspector_id=web.active, **body)).status_code == 201
    provider.person = Person("li", Role.INSPECTOR, sub=web.active, dept="SCJG")

    page = await browser.get(f"{web.url}/login", params={"next": "/password"})
    assert page.status_code == 200
    assert "使用统一身份认证登录" in page.text and 'name="password"' not in page.text
    assert 'href="/login/sso?next=/password"' in page.text.replace("%2F", "/")

    begun = await browser.get(f"{web.url}/login/sso", params={"next": "/password"})
    assert begun.status_code == 303
    location = urlsplit(begun.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{provider.issuer}/authorize"
    asked = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert asked["response_type"] == "code" and asked["client_id"] == CLIENT_ID
    assert asked["redirect_uri"] == f"{web.url}/login/sso/callback"
    assert asked["scope"] == "openid profile" and asked["code_challenge_method"] == "S256"
    pending = await web.ctx.db.pool.fetchrow("SELECT * FROM sso_logins")
    assert pending["state"] == asked["state"] and pending["nonce"] == asked["nonce"]
    assert pending["next"] == "/password"
    # the verifier stays on the server; only its challenge travels
    assert asked["code_challenge"] == pkce_challenge(pending["code_verifier"])
    assert pending["code_verifier"] not in begun.headers["location"]

    at_provider = await browser.get(begun.headers["location"])
    assert at_provider.status_code == 302
    callback = str(at_provider.headers["location"])
    assert callback.startswith(f"{web.url}/login/sso/callback?code=")
    done = await browser.get(callback)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/password"
    assert "httponly" in done.headers["set-cookie"].lower()
    # the provider checked the secret and the PKCE verifier before answering
    (exchange,) = provider.token_requests
    assert exchange["client_secret"] == CLIENT_SECRET
    assert exchange["code_verifier"] == pending["code_verifier"]

    signed_in = await browser.get(f"{web.url}/password")
    assert signed_in.status_code == 200 and "修改密码" in signed_in.text
    assert await _count(web, "sso_logins") == 0
    session = await web.ctx.db.pool.fetchrow("SELECT username, access_token FROM sessions")
    # the services take the web's own tokens here: the person's is not kept
    assert session["username"] == "li" and session["access_token"] is None
    started = [e for e in await web.ctx.audit.entries() if e.action == "session.started"]
    assert [(e.actor, e.data["via"]) for e in started] == [("li", "sso")]

    # the same callback again (a replayed state) starts nothing
    again = await browser.get(callback)
    assert again.status_code == 400 and STATE_GONE in again.text
    assert await _count(web, "sessions") == 1
    assert (await web.ctx.audit.verify()).broken is None


async def test_id_tokens_that_are_not_this_logins_answer_are_refused(
    web: Any, provider: OidcProvider, browser: httpx.AsyncClient
) -> None:
    body = dict(display_name="钱伟", role="auditor", password=PASSWORD)
    assert (await _add(web, username="qian", **body)).status_code == 201
    provider.person = Person("qian", Role.AUDITOR, sub="qian")
    now = int(time.time())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases: dict[str, dict[str, Any]] = {
        "wrong nonce": {"nonce": "a-nonce-of-another-login"},
        "no nonce": {"nonce": None},
        "wrong audience": {"aud": "another-client"},
        "expired": {"iat": now - 3600, "exp": now - 600},
        "wrong issuer": {"iss": "https://sso.elsewhere.example"},
    }
    for case, claims in [*cases.items(), ("signed by another key", {})]:
        provider.id_token_claims = claims
        provider.signing_key = other_key if case == "signed by another key" else None
        r = await _sso_sign_in(browser, web)
        assert r.status_code == 401, (case, r.status_code, r.text)
        assert TOKEN_REFUSED in r.text, case
        assert "set-cookie" not in r.headers or "spotcheck_session" not in r.headers["set-cookie"]
        assert await _count(web, "sessions") == 0, case
        assert await _count(web, "sso_logins") == 0, case
    # the same provider, the right claims: signed in
    provider.id_token_claims, provider.signing_key = {}, None
    r = await _sso_sign_in(browser, web, next_url="//evil.example/")
    # no open redirect: the auditor's own home, the console's 审计
    assert r.status_code == 303 and r.headers["location"] == "/console/audit"
    assert await _count(web, "sessions") == 1


async def test_accounts_are_refused_as_at_password_sign_in(
    web: Any, provider: OidcProvider, browser: httpx.AsyncClient
) -> None:
    body = dict(role="inspector", department="SCJG", password=PASSWORD)
    assert (
        await _add(web, username="zhao", display_name="赵强", inspector_id=web.away, **body)
    ).status_code == 201
    assert (
        await _add(web, username="wang", display_name="王芳", inspector_id=web.active, **body)
    ).status_code == 201
    r = await web.http.post(
        "/admin/users/wang/disable", json={"reason": "调离"}, headers=web.auth(Role.OPERATOR)
    )
    assert r.status_code == 200
    for username, sub, message in (
        ("nobody", "X-1", "在本系统中没有账号"),
        ("wang", web.active, "账号已停用，请联系管理员。"),
        ("zhao", web.away, "名录库中该执法检查人员不在岗（停用、休假或退休），不能登录。"),
    ):
        provider.person = Person(username, Role.INSPECTOR, sub=sub, dept="SCJG")
        r = await _sso_sign_in(browser, web)
        assert r.status_code == 401 and message in r.text, (username, r.text)
        assert await _count(web, "sessions") == 0, username
    provider.person = Person("wang", Role.INSPECTOR, sub=web.active, dept="SCJG")
    provider.id_token_claims = {"preferred_username": None}
    r = await _sso_sign_in(browser, web)
    assert r.status_code == 401 and "未提供用户名（preferred_username）" in r.text
    assert await _count(web, "sessions") == 0
    assert not [e for e in await web.ctx.audit.entries() if e.action == "session.started"]


async def test_a_callback_must_answer_a_live_login_of_the_same_browser(
    web: Any, provider: OidcProvider, browser: httpx.AsyncClient
) -> None:
    body = dict(display_name="钱伟", role="auditor", password=PASSWORD)
    assert (await _add(web, username="qian", **body)).status_code == 201
    provider.person = Person("qian", Role.AUDITOR, sub="qian")

    # a state the web never gave
    r = await browser.get(f"{web.url}/login/sso/callback", params={"code": "x", "state": "forged"})
    assert r.status_code == 400 and STATE_GONE in r.text
    # older than 10 minutes
    callback = await _begin(browser, web)
    await web.ctx.db.pool.execute(
        "UPDATE sso_logins SET created_at = created_at - interval '10 minutes 1 second'"
    )
    r = await browser.get(callback)
    assert r.status_code == 400 and STATE_GONE in r.text
    # a login begun in one browser, its callback opened in another (login CSRF): refused, and
    # the state is spent for the first browser too
    callback = await _begin(browser, web)
    async with httpx.AsyncClient(follow_redirects=False) as other:
        r = await other.get(callback)
    assert r.status_code == 400 and "不是从本浏览器发起" in r.text
    r = await browser.get(callback)
    assert r.status_code == 400 and STATE_GONE in r.text
    # the provider answers with an error instead of a code
    callback = await _begin(browser, web)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    r = await browser.get(
        f"{web.url}/login/sso/callback", params={"error": "access_denied", "state": state}
    )
    assert r.status_code == 401 and "access_denied" in r.text
    # a code the provider does not know (or already redeemed)
    callback = await _begin(browser, web)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    r = await browser.get(
        f"{web.url}/login/sso/callback", params={"code": "not-a-code", "state": state}
    )
    assert r.status_code == 401 and "invalid_grant" in r.text
    assert await _count(web, "sessions") == 0
    assert await _count(web, "sso_logins") == 0  # every callback spent its login


async def test_passwords_sign_nobody_in_while_sso_is_on(
    web: Any, browser: httpx.AsyncClient
) -> None:
    body = dict(display_name="钱伟", role="auditor", password=PASSWORD)
    assert (await _add(web, username="qian", **body)).status_code == 201
    page = await browser.get(f"{web.url}/login")
    r = await browser.post(
        f"{web.url}/login",
        data={
            "username": "qian",
            "password": PASSWORD,
            "csrf_token": browser.cookies["spotcheck_pre"],
        },
    )
    assert page.status_code == 200
    assert r.status_code == 403 and "已启用统一身份认证" in r.text, r.text
    assert "spotcheck_session" not in r.headers.get("set-cookie", "")
    assert await _count(web, "sessions") == 0


async def test_the_persons_own_token_is_passed_when_services_verify_by_jwks(
    run_service: Any,
    serve_app: Any,
    provider: OidcProvider,
    browser: httpx.AsyncClient,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    """Every service verifies the provider's tokens: the web holds no key and mints nothing, so
    the roster check at sign-in and the start of a task can only go through with the token the
    provider gave the person."""
    by_jwks = {"jwt_jwks_url": f"{provider.issuer}/jwks", "jwt_issuer": provider.issuer}
    registry = await run_service(registry_spec, **by_jwks)

    def token(role: Role, dept: str | None = None, ttl_s: int = 3600) -> str:
        return provider.mint(Person(f"test-{role.value}", role, f"test-{role.value}", dept))

    registry.token = token  # the roster import, with a token of the provider
    active, _ = await _roster(registry, tmp_path)
    publisher = await run_service(publisher_spec(relay_enabled=False), **by_jwks)
    await publish_tasks(publisher, [task_assigned("T-1", team=(active, "I-2"))])
    monkeypatch.setenv("SPOTCHECK_WEB_REGISTRY_URL", await serve_app(registry.ctx.app))
    monkeypatch.setenv("SPOTCHECK_WEB_PUBLISHER_URL", await serve_app(publisher.ctx.app))
    _sso_env(monkeypatch, provider)
    web = await run_service(web_spec, **by_jwks)
    web.url = await serve_app(web.ctx.app)
    assert web.wiring.backends.key is None
    # `spotcheck user add` checks the roster with a token the web mints: not here (see
    # docs/operations.md), so the account is written as that command would leave it.
    async with web.ctx.db.transaction() as conn:
        await web.wiring.accounts.store.insert_account(
            conn,
            username="li",
            display_name="李明",
            role=Role.INSPECTOR,
            department="scjg",
            inspector_id=active,
            password_hash=None,
            must_change_password=False,
        )
    provider.person = Person("li", Role.INSPECTOR, sub=active, dept="scjg")

    done = await _sso_sign_in(browser, web, next_url="/password")
    assert done.status_code == 303, done.text
    sealed = await web.ctx.db.pool.fetchval("SELECT access_token FROM sessions")
    assert sealed is not None and b"eyJ" not in sealed  # kept, but not as a usable token
    page = await browser.get(f"{web.url}/password")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    started = await browser.post(f"{web.url}/m/tasks/T-1/start", data={"csrf_token": csrf})
    assert started.status_code == 303, started.text
    by = await publisher.ctx.db.pool.fetchval("SELECT started_by FROM tasks WHERE task_id = 'T-1'")
    assert by == active

    # when the provider's token ends, so does the session
    await web.ctx.db.pool.execute("UPDATE sessions SET access_expires_at = now()")
    r = await browser.get(f"{web.url}/password")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_the_sso_routes_are_public_and_only_there_when_sso_is_on(
    run_service: Any, provider: OidcProvider, monkeypatch: Any
) -> None:
    web = await run_service(web_spec)
    paths = {route.path for route in api_routes(web.ctx.app.routes)}
    assert "/login" in paths and "/login/sso" not in paths
    r = await web.http.get("/login/sso")
    assert r.status_code == 404
    _sso_env(monkeypatch, provider)
    web = await run_service(web_spec)
    sso_routes = {
        route.path: is_public(route.endpoint)
        for route in api_routes(web.ctx.app.routes)
        if route.path.startswith("/login/sso")
    }
    assert sso_routes == {"/login/sso": True, "/login/sso/callback": True}
