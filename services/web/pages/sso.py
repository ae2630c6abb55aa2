"""Sign-in through the province's SSO: `/login/sso` sends the browser to the provider, the
provider sends it back to `/login/sso/callback` (the protocol is in `services/web/sso.py`)."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.kit.auth import public
from services.web.commands import SignInRefused
from services.web.pages.auth import render_login, safe_next
from services.web.render import Pages
from services.web.sessions import CookieNames
from services.web.sso import SsoSignIn

CALLBACK = "/login/sso/callback"


def router(
    *, pages: Pages, sso: SsoSignIn, cookies: CookieNames, public_base_url: str
) -> APIRouter:
    """`/login/sso`, `/login/sso/callback`."""
    r = APIRouter(tags=["sign-in"], include_in_schema=False)

    def redirect_uri(request: Request) -> str:
        """The callback's address as registered with the provider."""
        base = public_base_url or str(request.base_url)
        return base.rstrip("/") + CALLBACK

    @r.get("/login/sso")
    @public
    async def begin(request: Request, next: str = "") -> Response:
        start = await sso.begin(next_url=next, redirect_uri=redirect_uri(request))
        response = RedirectResponse(start.url, status_code=303)
        cookies.set_sso_state(request, response, start.state)
        return response

    @r.get(CALLBACK)
    @public
    async def callback(
        request: Request, code: str = "", state: str = "", error: str = ""
    ) -> Response:
        try:
            done = await sso.finish(
                state=state,
                code=code,
                error=error,
                browser_state=cookies.sso_state(request),
                redirect_uri=redirect_uri(request),
                client=request.headers.get("user-agent", ""),
            )
        except SignInRefused as exc:
            response = render_login(
                request,
                pages=pages,
                cookies=cookies,
                oidc=True,
                next_url="",
                error=exc.message,
                status=exc.status,
            )
        else:
            target = safe_next(done.next_url, done.started.account.role)
            response = RedirectResponse(target, status_code=303)
            cookies.set_session(request, response, done.started.token)
        cookies.clear_sso_state(request, response)
        return response

    return r
