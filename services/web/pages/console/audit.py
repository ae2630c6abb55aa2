"""审计 (`/console/audit`): auditors walk and verify every service's audit chain (a broken link
is named: the service, the entry and why), and see who did what and when, filtered by person
and object."""

# No `from __future__ import annotations`: the routes name dependency aliases built inside
# `router()`, which FastAPI must see as objects, not as strings to resolve in module scope.

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.web.domain import console as words
from services.web.pages.console.common import context
from services.web.queries import WebQueries
from services.web.queries.audit import SERVICES, AuditReads
from services.web.render import Pages
from services.web.sessions import CookieNames, Person, person_dependency

SERVICE_NAMES = {
    "registry": "名录库",
    "planner": "计划与规则",
    "draw": "公开抽取",
    "publisher": "结果公示",
    "web": "账号与登录",
}


def router(
    *, pages: Pages, queries: WebQueries, cookies: CookieNames, reads: AuditReads
) -> APIRouter:
    """The auditors' route."""
    r = APIRouter(tags=["console"], include_in_schema=False)
    Auditor = Annotated[
        Person,
        person_dependency(queries=queries, cookies=cookies, roles=words.roles_of("audit")),
    ]

    @r.get("/console/audit")
    async def audit(
        request: Request, who: Auditor, service: str = "", actor: str = "", subject: str = ""
    ) -> Response:
        service = service if service in SERVICES else ""
        found = await reads.view(
            who.caller, service=service, actor=actor.strip()[:100], subject=subject.strip()[:200]
        )
        return pages.render(
            request,
            "console/audit.html",
            context(
                who,
                "audit",
                chains=found.chains,
                entries=found.entries,
                window=found.window,
                service=service,
                actor=actor,
                subject=subject,
                service_names=SERVICE_NAMES,
                breaks=words.CHAIN_BREAKS,
                broken=[c for c in found.chains if not c.get("ok")],
                broken_entries=found.broken,
            ),
        )

    return r
