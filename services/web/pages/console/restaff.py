"""换人 (`/console/draws/{draw_id}/tasks/{task_id}/restaff`): a draw officer replaces one member
of one open task — the member, a written reason, and an explicit confirmation — and the draw
service draws the replacement by the draw's seeded rules (docs/draw-spec.md §7a).

The page works without JavaScript: the members are radio buttons, the confirmation a required
checkbox that the server checks again. A refusal (task not open, nobody eligible — with the
constraint, in Chinese) is shown at its field; success goes back to the draw's page.
"""

# No `from __future__ import annotations`: the routes name dependency aliases built inside
# `router()`, which FastAPI must see as objects, not as strings to resolve in module scope.

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from contracts.common import Role
from services.kit.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from services.web.backends import BackendError
from services.web.commands.ceremony import CeremonyCommands
from services.web.domain import console as words
from services.web.pages.console.common import context, message_of
from services.web.queries import WebQueries
from services.web.queries.draws import DrawReads
from services.web.render import Pages
from services.web.sessions import CookieNames, Person, person_dependency

REFUSED = (BackendError, Invalid, Conflict, Forbidden, NotFound)


def is_open(row: dict[str, Any]) -> bool:
    """Whether a task row of `GET /draws/{id}/tasks` may be re-staffed (the draw decides again)."""
    return (
        row.get("state") == "assigned"
        and bool(row["task"].get("team"))
        and row.get("progress") not in ("result_recorded", "cancelled")
    )


def router(
    *,
    pages: Pages,
    queries: WebQueries,
    cookies: CookieNames,
    reads: DrawReads,
    ceremony: CeremonyCommands,
) -> APIRouter:
    """The 换人 page and its form."""
    r = APIRouter(tags=["console"], include_in_schema=False)
    Officer = Annotated[
        Person, person_dependency(queries=queries, cookies=cookies, roles=(Role.DRAW_OFFICER,))
    ]

    async def page(
        request: Request,
        who: Person,
        draw_id: str,
        task_id: str,
        *,
        problems: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response:
        view = await reads.ceremony(who.caller, draw_id)
        row = next((t for t in view.tasks if t["task"]["task_id"] == task_id), None)
        if row is None:
            raise NotFound("该抽取中没有这项任务。")
        return pages.render(
            request,
            "console/restaff.html",
            context(
                who,
                "draws",
                draw=view.status,
                task=row["task"],
                open=is_open(row) and view.status["state"] == "completed",
                progress=words.PROGRESS.get(str(row.get("progress")), row.get("progress")),
                problems=problems or {},
                values=values or {},
            ),
            status_code=status_code,
        )

    path = "/console/draws/{draw_id}/tasks/{task_id}/restaff"

    @r.get(path)
    async def show(request: Request, draw_id: str, task_id: str, who: Officer) -> Response:
        return await page(request, who, draw_id, task_id)

    @r.post(path)
    async def restaff(
        request: Request,
        draw_id: str,
        task_id: str,
        who: Officer,
        inspector_id: Annotated[str, Form(max_length=64)] = "",
        reason: Annotated[str, Form(max_length=500)] = "",
        confirm: Annotated[str, Form(max_length=10)] = "",
    ) -> Response:
        values = {"inspector_id": inspector_id, "reason": reason}
        problems: dict[str, str] = {}
        if not inspector_id:
            problems["inspector_id"] = "请选择要换下的检查人员。"
        if not reason.strip():
            problems["reason"] = "请填写换人理由。"
        if not confirm:
            problems["confirm"] = "请勾选确认后再提交。"
        if problems:
            return await page(
                request, who, draw_id, task_id, problems=problems, values=values, status_code=422
            )
        try:
            await ceremony.restaff(
                who.caller, task_id, inspector_id=inspector_id, reason=reason.strip()
            )
        except REFUSED as exc:
            field = "reason" if exc.code.startswith("reason") else "inspector_id"
            return await page(
                request,
                who,
                draw_id,
                task_id,
                problems={field: message_of(exc)},
                values=values,
                status_code=_status(exc),
            )
        return RedirectResponse(f"/console/draws/{quote(draw_id)}?done=restaffed", 303)

    return r


def _status(exc: DomainError) -> int:
    return exc.status if exc.status in (403, 404, 409, 422) else 422
