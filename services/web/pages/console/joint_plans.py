"""联合抽查 (`/console/plans/joint/...`): the lead department's planner starts a joint plan, the
invited departments' planners join it with their own items (能联尽联), and the lead submits it
once everyone has joined; the planner service keeps the draft and checks every step again with
the person's token.
"""

# No `from __future__ import annotations`: the routes name dependency aliases built inside
# `router()`, which FastAPI must see as objects, not as strings to resolve in module scope.

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from contracts.common import Role
from services.kit.errors import Forbidden, Invalid
from services.web.backends import BackendError
from services.web.commands.plans import PlanCommands
from services.web.domain import console as words
from services.web.domain.plan_form import (
    Problems,
    check_form,
    problems_from_refusal,
    submission_from_form,
)
from services.web.pages.console.common import context, message_of, today
from services.web.pages.console.plans import STATUSES, form_values, render_form
from services.web.queries import WebQueries
from services.web.queries.plans import PlanReads
from services.web.render import Pages
from services.web.sessions import CookieNames, Person, person_dependency


def router(
    *,
    pages: Pages,
    queries: WebQueries,
    cookies: CookieNames,
    reads: PlanReads,
    commands: PlanCommands,
) -> APIRouter:
    """The joint plans' routes (before the plans' own, whose `/console/plans/{plan_id}` is
    more general)."""
    r = APIRouter(tags=["console"], include_in_schema=False)
    JointReader = Annotated[
        Person,
        person_dependency(queries=queries, cookies=cookies, roles=(Role.PLANNER, Role.POLICY)),
    ]
    JointPlanner = Annotated[
        Person,
        person_dependency(queries=queries, cookies=cookies, roles=(Role.PLANNER,)),
    ]

    async def joint_form(
        request: Request,
        who: Person,
        *,
        values: dict[str, Any],
        problems: Problems,
        status_code: int = 200,
    ) -> Response:
        mine = who.account.department or ""
        return await render_form(
            pages,
            reads,
            request,
            who,
            "console/plan_joint_new.html",
            values=values,
            problems=problems,
            status_code=status_code,
            department=mine,
            mine=mine,
        )

    @r.get("/console/plans/joint/new")
    async def new_joint(request: Request, who: JointPlanner) -> Response:
        year = today().year
        values: dict[str, Any] = {
            "year": str(year),
            "batches": "1",
            "period_start": f"{year}-04-01",
            "period_end": f"{year}-11-30",
        }
        return await joint_form(request, who, values=values, problems=Problems())

    @r.post("/console/plans/joint/new")
    async def start_joint(request: Request, who: JointPlanner) -> Response:
        values = form_values(await request.form())
        mine = who.account.department or ""
        catalogue, _ = await reads.form_data(who.caller)
        own = [i["code"] for i in _of_department(catalogue, mine)]
        body, codes = submission_from_form(values, catalogue=own)
        body["departments"] = [mine, *[d for d in body["departments"] if d != mine]]
        body["lead_department"] = mine
        problems = check_form(body, codes)
        if not values.get("plan_id"):
            problems.add("plan_id", "请填写计划编号（各部门据此加入）")
        if len(body["departments"]) < 2:
            problems.add("departments", "请至少邀请一个其他部门")
        if not problems:
            body.pop("lead_department")
            try:
                await commands.start_joint(who.caller, body)
            except (BackendError, Invalid, Forbidden) as exc:
                problems = _joint_refused(exc, codes)
            else:
                return RedirectResponse(
                    f"/console/plans/joint/{body['plan_id']}?done=started", status_code=303
                )
        return await joint_form(request, who, values=values, problems=problems, status_code=422)

    async def joint_page(
        request: Request,
        who: Person,
        plan_id: str,
        *,
        values: dict[str, Any] | None = None,
        problems: Problems | None = None,
        submit_problem: str = "",
        done: str = "",
        status_code: int = 200,
    ) -> Response:
        draft = await reads.joint_draft(who.caller, plan_id)
        mine = who.account.department or ""
        planner = who.account.role is Role.PLANNER
        member = next((m for m in draft["members"] if m["department"] == mine), None)
        can_join = planner and member is not None and draft["state"] == "open"
        catalogue: list[dict[str, Any]] = []
        if can_join:
            catalogue = _of_department((await reads.form_data(who.caller))[0], mine)
        if values is None:
            values = _values_of_items(member["items"] if member else [])
        return pages.render(
            request,
            "console/plan_joint.html",
            context(
                who,
                "plans",
                draft=draft,
                mine=mine,
                joined=bool(member and member["joined"]),
                can_join=can_join,
                can_submit=planner
                and mine == draft["lead_department"]
                and draft["state"] == "open",
                catalogue=catalogue,
                values=values,
                problems=problems or Problems(),
                submit_problem=submit_problem,
                statuses=STATUSES,
                ratio=words.ratio,
                done=JOINT_DONE.get(done, ""),
            ),
            status_code=status_code,
        )

    @r.get("/console/plans/joint/{plan_id}")
    async def show_joint(
        request: Request, plan_id: str, who: JointReader, done: str = ""
    ) -> Response:
        return await joint_page(request, who, plan_id, done=done)

    @r.post("/console/plans/joint/{plan_id}/join")
    async def join_joint(request: Request, plan_id: str, who: JointPlanner) -> Response:
        values = form_values(await request.form())
        catalogue, _ = await reads.form_data(who.caller)
        own = [i["code"] for i in _of_department(catalogue, who.account.department or "")]
        body, codes = submission_from_form(values, catalogue=own)
        problems = Problems()
        if not codes:
            problems.add("items", "请至少选择一个本部门的检查事项")
        for entry in body["items"]:
            if ("ratio" in entry) == ("count" in entry):
                problems.add(f"item-{entry['item']}", "抽查比例和抽取户数须填写且只填写一项")
        if not problems:
            try:
                await commands.join_joint(who.caller, plan_id, body["items"])
            except (BackendError, Invalid, Forbidden) as exc:
                problems = _joint_refused(exc, codes)
            else:
                return RedirectResponse(
                    f"/console/plans/joint/{plan_id}?done=joined", status_code=303
                )
        return await joint_page(
            request, who, plan_id, values=values, problems=problems, status_code=422
        )

    @r.post("/console/plans/joint/{plan_id}/submit")
    async def submit_joint(request: Request, plan_id: str, who: JointPlanner) -> Response:
        try:
            reply = await commands.submit_joint(who.caller, plan_id)
        except (BackendError, Invalid, Forbidden) as exc:
            if getattr(exc, "code", "") == "plan_invalid":  # stored, rejected: show why
                return RedirectResponse(f"/console/plans/{plan_id}", status_code=303)
            return await joint_page(
                request, who, plan_id, submit_problem=message_of(exc), status_code=422
            )
        return RedirectResponse(f"/console/plans/{reply['plan_id']}?done=filed", status_code=303)

    return r


JOINT_DONE = {
    "started": "联合抽查已发起，等待受邀部门加入。",
    "joined": "本部门的检查事项已保存。",
}


def _of_department(catalogue: list[dict[str, Any]], department: str) -> list[dict[str, Any]]:
    """The catalogue's items of one department (a joint plan's departments bring their own)."""
    out = []
    for item in catalogue:
        dept = item.get("department")
        code = dept.get("code") if isinstance(dept, dict) else dept
        if code == department:
            out.append(item)
    return out


def _values_of_items(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A department's items (as the planner shows them: ratios in basis points) as form values."""
    values: dict[str, Any] = {}
    for entry in items:
        code = entry["item"]
        values[f"item-{code}"] = "on"
        if entry.get("ratio_bp") is not None:
            values[f"ratio-{code}"] = words.ratio(int(entry["ratio_bp"]))
        if entry.get("count") is not None:
            values[f"count-{code}"] = str(entry["count"])
    return values


def _joint_refused(exc: Exception, codes: list[str]) -> Problems:
    """A joint plan's refusal, each reason next to its field, in Chinese."""
    status = getattr(exc, "status", 0)
    details = getattr(exc, "details", [])
    if status in (403, 409):
        problems = Problems()
        if status == 409 and not details:
            problems.add("plan_id", "该计划编号已被使用，请换一个编号")
        else:
            problems.add(None, message_of(exc))  # type: ignore[arg-type]
        return problems
    problems = problems_from_refusal(details, codes)
    if not problems:
        problems.add(None, message_of(exc))  # type: ignore[arg-type]
    return problems
