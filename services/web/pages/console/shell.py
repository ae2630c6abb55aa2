"""The console's front page: where an officer lands, with the sections their role opens."""

# No `from __future__ import annotations`: the routes name dependency aliases built inside
# `router()`, which FastAPI must see as objects, not as strings to resolve in module scope.

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.kit.auth import public
from services.web.domain.console import CONSOLE_ROLES, console_home
from services.web.pages.console.common import context
from services.web.queries import WebQueries
from services.web.render import Pages
from services.web.sessions import CookieNames, Person, person_dependency


def router(*, pages: Pages, queries: WebQueries, cookies: CookieNames) -> APIRouter:
    """`/console/`."""
    r = APIRouter(tags=["console"], include_in_schema=False)
    Officer = Annotated[
        Person, person_dependency(queries=queries, cookies=cookies, roles=CONSOLE_ROLES)
    ]

    @r.get("/console")
    @public
    async def no_slash() -> Response:
        return RedirectResponse("/console/", status_code=307)

    @r.get("/console/")
    async def home(request: Request, who: Officer) -> Response:
        home = console_home(who.account.role)
        if home != "/console/":
            return RedirectResponse(home, status_code=303)
        return pages.render(request, "console/home.html", context(who, "home"))

    return r
