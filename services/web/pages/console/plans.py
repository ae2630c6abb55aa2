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

    JointReader = Annotated[
        Person,
        person_dependency(queries=queries, cookies=cookies, roles=(Role.PLANNER, Role.POLICY)),
    ]
    JointPlanner = Annotated[
        Person,
        person_dependency(queries=queries, cookies=cookies, roles=(Role.PLANNER,)),
    ]

    @r.get("/console/plans")
    async def overview(
        request: Request, who: Reader, year: str = "", status: str = "", done: str = ""
    ) -> Response:
        chosen = int(year) if year.isdigit() else None
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
        catalogue, risk_classes = await reads.form_data(who.caller)
        return pages.render(
            request,
            "console/plan_new.html",
            context(
                who,
                "plans",
                values=values,
                problems=problems,
                upload_problems=upload_problems or [],
                catalogue=catalogue,
                risk_classes=risk_classes,
                entity_types=ENTITY_TYPES,
                labels=LABELS,
            ),
            status_code=status_code,
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

    # ---- 联合抽查: the lead starts a draft, the invited departments join, the lead submits --

    async def joint_form(
        request: Request,
        who: Person,
        *,
        values: dict[str, Any],
        problems: Problems,
        status_code: int = 200,
    ) -> Response:
        catalogue, risk_classes = await reads.form_data(who.caller)
        mine = who.account.department or ""
        return pages.render(
            request,
            "console/plan_joint_new.html",
            context(
                who,
                "plans",
                values=values,
                problems=problems,
                catalogue=_of_department(catalogue, mine),
                risk_classes=risk_classes,
                entity_types=ENTITY_TYPES,
                labels=LABELS,
                mine=mine,
            ),
            status_code=status_code,
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
        values = _form_values(await request.form())
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
        values = _form_values(await request.form())
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


JOINT_DONE = {
    "started": "联合抽查已发起，等待受邀部门加入。",
    "joined": "本部门的检查事项已保存。",
}


def _form_values(form: Any) -> dict[str, Any]:
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
