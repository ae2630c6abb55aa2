"""抽查计划 (`/console/plans`): department planners write an annual plan in a form (or upload
its YAML) and see every refusal at once, each next to its field; everyone with the role reads
the plans, their filing dates and late flags, joint plans' share, and a plan's strata with n,
ratio, k and the rules that fired.

A planner sees and files their own department's plans (a joint plan is theirs when their
department takes part); the planner service enforces the same with their token.
"""

# No `from __future__ import annotations`: the routes name dependency aliases built inside
# `router()`, which FastAPI must see as objects, not as strings to resolve in module scope.

import datetime as dt
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from contracts.common import Role
from services.kit.errors import Forbidden, Invalid
from services.web.backends import BackendError
from services.web.commands.plans import PlanCommands
from services.web.domain import console as words
from services.web.domain.plan_form import (
    ENTITY_TYPES,
    LABELS,
    Problems,
    check_form,
    problems_from_refusal,
    submission_from_form,
    values_from_submission,
)
from services.web.domain.public import year_of
from services.web.pages.console.common import context, message_of, today
from services.web.queries import WebQueries
from services.web.queries.plans import PlanReads
from services.web.render import Pages
from services.web.sessions import CookieNames, Person, person_dependency

FLAGS = {
    "not_filed": "未报同级政府备案",
    "filed_late": "逾期备案（晚于2月底）",
    "entered_late": "逾期录入（晚于3月31日）",
}
STATUSES = {"approved": "已通过", "rejected": "已退回"}
MAX_YAML_BYTES = 256 * 1024


def router(
    *,
    pages: Pages,
    queries: WebQueries,
    cookies: CookieNames,
    reads: PlanReads,
    commands: PlanCommands,
) -> APIRouter:
    """The planners' routes."""
    r = APIRouter(tags=["console"], include_in_schema=False)
    Reader = Annotated[
        Person,
        person_dependency(queries=queries, cookies=cookies, roles=words.roles_of("plans")),
    ]
    Writer = Annotated[
        Person,
        person_dependency(queries=queries, cookies=cookies, roles=(Role.PLANNER, Role.POLICY)),
    ]

    @r.get("/console/plans")
    async def overview(
        request: Request, who: Reader, year: str = "", status: str = "", done: str = ""
    ) -> Response:
        chosen = year_of(year)
        plans = await reads.plans(
            who.caller, year=chosen, status=status if status in STATUSES else None
        )
        # 联合抽查: the drafts a planner's department leads or is invited to (all, to policy).
        show_joint = who.account.role in (Role.PLANNER, Role.POLICY)
        joint_drafts = await reads.joint_drafts(who.caller) if show_joint else []
        return pages.render(
            request,
            "console/plans.html",
            context(
                who,
                "plans",
                plans=plans,
                year=year,
                status=status,
                statuses=STATUSES,
                flags=FLAGS,
                can_write=who.account.role in (Role.PLANNER, Role.POLICY),
                can_start_joint=who.account.role is Role.PLANNER,
                show_joint=show_joint,
                joint_drafts=joint_drafts,
                done=done,
                ratio=words.ratio,
            ),
        )

    async def form_page(
        request: Request,
        who: Person,
        *,
        values: dict[str, Any],
        problems: Problems,
        upload_problems: list[str] | None = None,
        status_code: int = 200,
    ) -> Response:
        return await render_form(
            pages,
            reads,
            request,
            who,
            "console/plan_new.html",
            values=values,
            problems=problems,
            status_code=status_code,
            upload_problems=upload_problems or [],
        )

    @r.get("/console/plans/new")
    async def new(request: Request, who: Writer) -> Response:
        year = today().year
        values: dict[str, Any] = {
            "year": str(year),
            "departments": [who.account.department] if who.account.department else [],
            "batches": "1",
            "period_start": f"{year}-04-01",
            "period_end": f"{year}-11-30",
        }
        return await form_page(request, who, values=values, problems=Problems())

    @r.post("/console/plans/new")
    async def file_plan(request: Request, who: Writer) -> Response:
        form = await request.form()
        values: dict[str, Any] = {}
        for key in form:
            got = [v for v in form.getlist(key) if isinstance(v, str)]
            values[key] = (
                got
                if key in ("departments", "entity_types", "risk_classes")
                else (got[0] if got else "")
            )
        catalogue, _ = await reads.form_data(who.caller)
        body, codes = submission_from_form(values, catalogue=[i["code"] for i in catalogue])
        problems = check_form(body, codes)
        mine = who.account.department
        if who.account.role is Role.PLANNER and mine and mine not in body["departments"]:
            problems.add(
                "departments",
                f"计划的部门须包含您所在的部门（{words.DEPARTMENTS.get(mine, mine)}）",
            )
        if not problems:
            try:
                reply = await commands.submit(who.caller, body)
            except (BackendError, Invalid, Forbidden) as exc:
                problems = _refused(exc, codes)
            else:
                return RedirectResponse(
                    f"/console/plans/{reply['plan_id']}?done=filed", status_code=303
                )
        return await form_page(request, who, values=values, problems=problems, status_code=422)

    @r.post("/console/plans/upload")
    async def upload(request: Request, who: Writer) -> Response:
        form = await request.form()
        file = form.get("plan_file")
        reasons: list[str] = []
        body: Any = None
        if not isinstance(file, UploadFile) or not file.filename:
            reasons.append("请选择计划的 YAML 文件。")
        else:
            content = await file.read(MAX_YAML_BYTES + 1)
            if len(content) > MAX_YAML_BYTES:
                reasons.append("文件过大（最大256 KB）。")
            else:
                try:
                    body = _jsonable(yaml.safe_load(content.decode("utf-8-sig")))
                except (UnicodeDecodeError, yaml.YAMLError) as exc:
                    reasons.append(f"文件不是 UTF-8 编码的有效 YAML：{exc}")
                if body is not None and not isinstance(body, dict):
                    reasons.append("文件的顶层应是一个计划（键值对）。")
        if not reasons and isinstance(body, dict):
            codes = [str(e.get("item", "")) for e in body.get("items") or [] if isinstance(e, dict)]
            try:
                reply = await commands.submit(who.caller, body)
            except (BackendError, Invalid, Forbidden) as exc:
                refused = _refused(exc, codes)
                reasons = refused.general + [
                    f"{_label(name)}：{m}" for name, ms in refused.by_field.items() for m in ms
                ]
            else:
                return RedirectResponse(
                    f"/console/plans/{reply['plan_id']}?done=filed", status_code=303
                )
        values = values_from_submission(body) if isinstance(body, dict) else {}
        return await form_page(
            request,
            who,
            values=values,
            problems=Problems(),
            upload_problems=reasons,
            status_code=422,
        )

    @r.get("/console/plans/{plan_id}")
    async def show(request: Request, plan_id: str, who: Reader, done: str = "") -> Response:
        plan = await reads.plan(who.caller, plan_id)
        mine = who.account.department
        if who.account.role is Role.PLANNER and mine and mine not in plan["departments"]:
            raise Forbidden(f"此计划不属于您所在的部门（{words.DEPARTMENTS.get(mine, mine)}）。")
        approved = plan.get("approved") or {}
        submission = plan.get("submission") or {}
        return pages.render(
            request,
            "console/plan.html",
            context(
                who,
                "plans",
                plan=plan,
                approved=approved,
                submission=submission,
                strata=approved.get("strata") or [],
                excluded=approved.get("excluded") or [],
                items={i["code"]: i for i in approved.get("items") or []},
                reasons=plan.get("reasons") or [],
                flags=FLAGS,
                statuses=STATUSES,
                ratio=words.ratio,
                done="计划已提交并通过检查。" if done == "filed" else "",
                labels=LABELS,
            ),
        )

    return r


async def render_form(
    pages: Pages,
    reads: PlanReads,
    request: Request,
    who: Person,
    template: str,
    *,
    values: dict[str, Any],
    problems: Problems,
    status_code: int,
    department: str | None = None,
    **extra: Any,
) -> Response:
    """A plan form (a plan's, or a joint plan's start) with the catalogue — only `department`'s
    items when given — the risk classes, entity types and field labels."""
    catalogue, risk_classes = await reads.form_data(who.caller)
    if department is not None:
        catalogue = [i for i in catalogue if _department_of(i) == department]
    return pages.render(
        request,
        template,
        context(
            who,
            "plans",
            values=values,
            problems=problems,
            catalogue=catalogue,
            risk_classes=risk_classes,
            entity_types=ENTITY_TYPES,
            labels=LABELS,
            **extra,
        ),
        status_code=status_code,
    )


def _department_of(item: dict[str, Any]) -> Any:
    dept = item.get("department")
    return dept.get("code") if isinstance(dept, dict) else dept


def form_values(form: Any) -> dict[str, Any]:
    """A plan form's values: lists for the multiple choices, text for the rest."""
    values: dict[str, Any] = {}
    for key in form:
        got = [v for v in form.getlist(key) if isinstance(v, str)]
        values[key] = (
            got
            if key in ("departments", "entity_types", "risk_classes")
            else (got[0] if got else "")
        )
    return values


def _refused(exc: Exception, codes: list[str]) -> Problems:
    if isinstance(exc, Forbidden) or getattr(exc, "status", 0) == 403:
        problems = Problems()
        problems.add("departments", "计划的部门须包含您所在的部门")
        return problems
    if getattr(exc, "status", 0) == 409:
        problems = Problems()
        problems.add("plan_id", "该计划编号已被使用（被退回的计划也保留记录），请换一个编号或留空")
        return problems
    details = getattr(exc, "details", [])
    problems = problems_from_refusal(details, codes)
    if not problems:
        problems.add(None, message_of(exc))  # type: ignore[arg-type]
    return problems


def _label(name: str) -> str:
    """A form field's name as a person reads it: `ratio-SCJG-001` → `比例（SCJG-001）`."""
    kind, _, code = name.partition("-")
    if code and kind in ("item", "ratio", "count"):
        return {"item": "检查事项", "ratio": "比例", "count": "户数"}[kind] + f"（{code}）"
    return LABELS.get(name, name)


def _jsonable(value: Any) -> Any:
    """YAML's dates as the ISO text the planner's JSON reads."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
