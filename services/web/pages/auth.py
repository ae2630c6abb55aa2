"""Sign-in, sign-out and the person's own password."""

# No `from __future__ import annotations`: the routes name dependency aliases built inside
# `router()`, which FastAPI must see as objects, not as strings to resolve in module scope.

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from contracts.common import Role
from services.kit.auth import public
from services.kit.errors import Invalid
from services.web.commands import AccountCommands, SignInRefused
from services.web.domain.console import console_home
from services.web.queries import WebQueries
from services.web.render import Pages
from services.web.sessions import (
    CookieNames,
    Person,
    check_pre_csrf,
    person_dependency,
    pre_csrf_value,
)


def home_of(role: Role) -> str:
    """Where a person lands after signing in: inspectors on 掌上查, officers on the console."""
    return "/m/" if role is Role.INSPECTOR else console_home(role)


def safe_next(value: str | None, role: Role) -> str:
    """Only a path on this site (never `//host` or a scheme): no open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return home_of(role)


def render_login(
    request: Request,
    *,
    pages: Pages,
    cookies: CookieNames,
    oidc: bool,
    next_url: str,
    error: str = "",
    username: str = "",
    status: int = 200,
) -> Response:
    """The sign-in page (the password form, or the SSO button), with an error when one."""
    token = pre_csrf_value(request)
    response = pages.render(
        request,
        "login.html",
        {
            "next": next_url,
            "error": error,
            "username": username,
            "oidc": oidc,
            "pre_csrf": token,
        },
        status_code=status,
    )
    cookies.set_pre_csrf(request, response, token)
    return response


def router(
    *,
    pages: Pages,
    accounts: AccountCommands,
    queries: WebQueries,
    cookies: CookieNames,
    min_password_length: int,
    oidc: bool,
) -> APIRouter:
    """`/login`, `/logout`, `/password`."""
    r = APIRouter(tags=["sign-in"], include_in_schema=False)
    Signed = Annotated[Person, person_dependency(queries=queries, cookies=cookies, roles=())]

    def login_page(
        request: Request, *, next_url: str, error: str = "", username: str = "", status: int = 200
    ) -> Response:
        return render_login(
            request,
            pages=pages,
            cookies=cookies,
            oidc=oidc,
            next_url=next_url,
            error=error,
            username=username,
            status=status,
        )

    @r.get("/login")
    @public
    async def login_form(request: Request, next: str = "") -> Response:
        return login_page(request, next_url=next)

    @r.post("/login")
    @public
    async def login(
        request: Request,
        username: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=256)],
        csrf_token: Annotated[str, Form(max_length=100)] = "",
        next: Annotated[str, Form(max_length=500)] = "",
    ) -> Response:
        check_pre_csrf(request, csrf_token)
        client = request.headers.get("user-agent", "")
        try:
            started = await accounts.sign_in(username.strip(), password, client=client)
        except SignInRefused as exc:
            return login_page(
                request, next_url=next, error=exc.message, username=username, status=exc.status
            )
        target = (
            "/password" if started.must_change_password else safe_next(next, started.account.role)
        )
        response = RedirectResponse(target, status_code=303)
        cookies.set_session(request, response, started.token)
        return response

    @r.post("/logout")
    async def logout(request: Request, who: Signed) -> Response:
        await accounts.sign_out(who.session_token, username=who.account.username)
        response = RedirectResponse("/login", status_code=303)
        cookies.clear_session(request, response)
        return response

    @r.get("/password")
    async def password_form(request: Request, who: Signed) -> Response:
        return pages.render(request, "password.html", _password_context(who, {}))

    @r.post("/password")
    async def change_password(
        request: Request,
        who: Signed,
        current: Annotated[str, Form(max_length=256)],
        new: Annotated[str, Form(max_length=256)],
    ) -> Response:
        try:
            await accounts.change_password(who.account, current=current, new=new)
        except Invalid as exc:
            errors: dict[str, str] = {}
            for d in exc.details:
                field = str(d["loc"][0])
                if field == "password":
                    field = "new"
                errors[field] = "；".join(filter(None, [errors.get(field), d.get("msg_zh")]))
            return pages.render(
                request, "password.html", _password_context(who, errors), status_code=422
            )
        return RedirectResponse(home_of(who.account.role), status_code=303)

    def _password_context(who: Person, errors: dict[str, str]) -> dict[str, Any]:
        return {
            "csrf_token": who.csrf_token,
            "errors": errors,
            "min_length": min_password_length,
            "must_change": who.account.must_change_password,
            "person": who,
        }

    return r
