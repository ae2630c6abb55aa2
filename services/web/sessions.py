"""The signed-in person of a page request: session cookie, CSRF token, and their calls.

A session is a random token in an HttpOnly, SameSite=Lax cookie (only its SHA-256 is stored).
Every form carries the session's CSRF token in a hidden field, and htmx sends it as the
`X-CSRF-Token` header; a POST without the right one is refused before anything runs. The sign-in
form, before any session exists, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request, Response

from contracts.common import Role
from services.kit.errors import DomainError, Forbidden, Unauthorized
from services.web.backends import Caller
from services.web.commands import unseal
from services.web.domain.sso import PENDING_LOGIN_MINUTES
from services.web.queries import WebQueries
from services.web.store import AccountRow

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PRE_CSRF_COOKIE = "spotcheck_pre"
# The state of an SSO login begun in this browser: its callback must come back to the same one.
SSO_STATE_COOKIE = "spotcheck_sso"
SSO_PATH = "/login/sso"


class SignInNeeded(Unauthorized):
    """No live session: the page answers with a redirect to the sign-in page."""

    code = "sign_in_needed"

    def __init__(self, next_url: str) -> None:
        super().__init__("请先登录")
        self.next_url = next_url


class CsrfRefused(DomainError):
    """A form came without the session's CSRF token (or with another)."""

    status = 403
    code = "csrf"


@dataclass(frozen=True)
class Person:
    """Whoever is signed in, as pages and backend calls need them."""

    account: AccountRow
    csrf_token: str
    session_token: str
    # Their own access token from the province's SSO, kept with the session only when the
    # services verify the provider's tokens (SPOTCHECK_JWT_JWKS_URL).
    bearer: str | None = None

    @property
    def caller(self) -> Caller:
        """Their identity in calls to the four services: their own SSO token when kept, else
        the claims of the token the web mints for them."""
        a = self.account
        return Caller(
            sub=a.inspector_id or a.username, role=a.role, dept=a.department, bearer=self.bearer
        )


class CookieNames:
    """The session cookie's name and flags, by whether the request came over HTTPS."""

    def __init__(self, *, secure: str) -> None:
        self.secure = secure

    def is_secure(self, request: Request) -> bool:
        """Whether cookies get the Secure flag (and the `__Host-` name) for this request."""
        if self.secure == "always":
            return True
        if self.secure == "never":
            return False
        return request.url.scheme == "https"

    def session(self, request: Request) -> str:
        """`__Host-` pins the cookie to this host and path / over HTTPS."""
        return "__Host-spotcheck" if self.is_secure(request) else "spotcheck_session"

    def set_session(self, request: Request, response: Response, token: str) -> None:
        """Give the browser its session cookie (no Max-Age: it ends with the browser too)."""
        response.set_cookie(
            self.session(request),
            token,
            httponly=True,
            secure=self.is_secure(request),
            samesite="lax",
            path="/",
        )

    def clear_session(self, request: Request, response: Response) -> None:
        """Forget the session cookie."""
        response.delete_cookie(self.session(request), path="/")

    def set_pre_csrf(self, request: Request, response: Response, value: str) -> None:
        """The sign-in form's token (double-submit: this cookie and the same value in the
        form, which a page of another site can neither read nor set)."""
        response.set_cookie(
            PRE_CSRF_COOKIE,
            value,
            httponly=True,
            secure=self.is_secure(request),
            samesite="strict",
            path="/",
        )

    def set_sso_state(self, request: Request, response: Response, state: str) -> None:
        """Bind an SSO login to this browser. Lax, not Strict: the provider's redirect back is a
        top-level navigation from another site, and must bring it."""
        response.set_cookie(
            SSO_STATE_COOKIE,
            state,
            max_age=PENDING_LOGIN_MINUTES * 60,
            httponly=True,
            secure=self.is_secure(request),
            samesite="lax",
            path=SSO_PATH,
        )

    def sso_state(self, request: Request) -> str:
        """The state of the SSO login this browser began, if any."""
        return request.cookies.get(SSO_STATE_COOKIE, "")

    def clear_sso_state(self, request: Request, response: Response) -> None:
        """Forget the SSO login's state once its callback came."""
        response.delete_cookie(SSO_STATE_COOKIE, path=SSO_PATH)


def pre_csrf_value(request: Request) -> str:
    """The sign-in form's token: the browser's, or a new one."""
    return request.cookies.get(PRE_CSRF_COOKIE) or secrets.token_urlsafe(24)


def check_pre_csrf(request: Request, submitted: str) -> None:
    """Refuse a sign-in form whose token is not its cookie's."""
    expected = request.cookies.get(PRE_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, submitted):
        raise CsrfRefused("表单已过期，请刷新页面后重新提交。")


async def _submitted_csrf(request: Request) -> str:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


def person_dependency(*, queries: WebQueries, cookies: CookieNames, roles: tuple[Role, ...]) -> Any:
    """A FastAPI dependency: the signed-in person holding one of `roles` (any when empty)."""

    async def _person(request: Request) -> Person:
        token = request.cookies.get(cookies.session(request), "")
        row = await queries.session(token) if token else None
        if row is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInNeeded(quote(target, safe="/?=&"))
        if request.method not in SAFE_METHODS:
            submitted = await _submitted_csrf(request)
            if not hmac.compare_digest(row.csrf_token, submitted):
                raise CsrfRefused("表单已过期或来源不明，请刷新页面后重新提交。")
        if roles and row.account.role not in roles:
            raise Forbidden("您的账号无权打开此页面。")
        return Person(
            account=row.account,
            csrf_token=row.csrf_token,
            session_token=token,
            bearer=unseal(row.access_token, token=token) if row.access_token else None,
        )

    # The route walker counts a route as guarded by this marker (tests/integration/kit).
    _person.__spotcheck_roles__ = roles  # type: ignore[attr-defined]
    return Depends(_person)
