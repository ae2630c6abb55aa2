"""规则管理 (`/console/rules`): policy staff see the active rule set and its history, upload a
candidate set (a zipped folder, or single files laid over the active set) or edit a file in the
browser, read its `check` errors with file and line and its `test` results, simulate a plan as
a side-by-side table of every stratum's n and k under the active and the candidate rules (the
differences marked), and activate it after a confirmation.

Candidates are kept by the planner (by the SHA-256 of their files), so every step works on
the same files across requests; the web keeps none of them.
"""

# No `from __future__ import annotations`: the routes name dependency aliases built inside
# `router()`, which FastAPI must see as objects, not as strings to resolve in module scope.

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from contracts.common import Role
from services.kit.errors import Conflict, Invalid, NotFound
from services.web.backends import BackendError
from services.web.commands.rules import RuleCommands
from services.web.domain import console as words
from services.web.domain.rule_files import (
    MAX_BYTES,
    UploadRefused,
    changes,
    differs,
    files_of_zip,
    overlay,
    resubmittable,
)
from services.web.pages.console.common import context, message_of
from services.web.queries import WebQueries
from services.web.queries.plans import PlanReads
from services.web.queries.rules import RuleReads
from services.web.render import Pages
from services.web.sessions import CookieNames, Person, person_dependency

REFUSED = (BackendError, Invalid, Conflict, NotFound)


def router(
    *,
    pages: Pages,
    queries: WebQueries,
    cookies: CookieNames,
    reads: RuleReads,
    commands: RuleCommands,
    plans: PlanReads,
) -> APIRouter:
    """The policy staff's routes."""
    r = APIRouter(tags=["console"], include_in_schema=False)
    Policy = Annotated[
        Person, person_dependency(queries=queries, cookies=cookies, roles=(Role.POLICY,))
    ]

    async def overview_page(
        request: Request, who: Person, *, done: str = "", error: str = "", status_code: int = 200
    ) -> Response:
        found = await reads.overview(who.caller)
        return pages.render(
            request,
            "console/rules.html",
            context(who, "rules", **found, done=done, error=error),
            status_code=status_code,
        )

    @r.get("/console/rules")
    async def overview(request: Request, who: Policy, done: str = "") -> Response:
        message = {"activated": "规则集已启用，新的计划和模拟即按此规则集执行。"}.get(done, "")
        return await overview_page(request, who, done=message)

    @r.post("/console/rules/candidates")
    async def upload(request: Request, who: Policy) -> Response:
        form = await request.form()
        note = str(form.get("note") or "")[:200]
        uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        try:
            if not uploads:
                raise UploadRefused("请选择规则文件（YAML）或规则目录的压缩文件（zip）")
            version, base = await reads.active_files(who.caller)
            contents = {f.filename or "": await f.read(MAX_BYTES + 1) for f in uploads}
            if any(len(c) > MAX_BYTES for c in contents.values()):
                raise UploadRefused("文件过大（最大2 MB）")
            zips = [n for n in contents if n.lower().endswith(".zip")]
            if zips and len(contents) > 1:
                raise UploadRefused("压缩文件须单独上传")
            files = files_of_zip(contents[zips[0]]) if zips else overlay(base, contents)
            candidate_id = await commands.keep_candidate(
                who.caller, files, based_on=version, note=note
            )
        except UploadRefused as exc:
            return await overview_page(request, who, error=str(exc), status_code=422)
        except REFUSED as exc:
            return await overview_page(request, who, error=message_of(exc), status_code=422)
        return RedirectResponse(f"/console/rules/candidates/{candidate_id}", status_code=303)

    async def base_files(who: Person, base: str) -> dict[str, str]:
        """The files of a candidate, else of a stored version."""
        try:
            return dict((await reads.candidate(who.caller, base))["files"])
        except BackendError as exc:
            if exc.status != 404:
                raise
        return dict((await reads.version(who.caller, base))["files"])

    @r.get("/console/rules/edit")
    async def edit(request: Request, who: Policy, file: str = "", base: str = "") -> Response:
        if not base:
            base, files = await reads.active_files(who.caller)
        else:
            files = await base_files(who, base)
        if file not in files:
            file = "" if not file else file  # a new file
        return pages.render(
            request,
            "console/rules_edit.html",
            context(
                who,
                "rules",
                base=base,
                file=file,
                content=files.get(file, ""),
                paths=sorted(files),
            ),
        )

    @r.post("/console/rules/edit")
    async def save_edit(
        request: Request,
        who: Policy,
        base: Annotated[str, Form(max_length=64)],
        file: Annotated[str, Form(min_length=1, max_length=200)],
        content: Annotated[str, Form(max_length=MAX_BYTES)],
        note: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        files = await base_files(who, base)
        path = file.strip().replace("\\", "/").lstrip("/")
        files[path] = content.replace("\r\n", "\n")
        try:
            candidate_id = await commands.keep_candidate(
                who.caller, files, based_on=base, note=note or f"在浏览器中修改 {path}"
            )
        except REFUSED as exc:
            return pages.render(
                request,
                "console/rules_edit.html",
                context(
                    who,
                    "rules",
                    base=base,
                    file=path,
                    content=content,
                    paths=sorted(files),
                    error=message_of(exc),
                ),
                status_code=422,
            )
        return RedirectResponse(f"/console/rules/candidates/{candidate_id}", status_code=303)

    async def candidate_page(
        request: Request,
        who: Person,
        candidate_id: str,
        *,
        plan_id: str = "",
        error: str = "",
        status_code: int = 200,
    ) -> Response:
        candidate = await reads.candidate(who.caller, candidate_id)
        version, active = await reads.active_files(who.caller)
        all_plans = await plans.plans(who.caller, status="approved")
        simulation: dict[str, Any] | None = None
        sim_error = ""
        if plan_id and candidate["check"]["ok"]:
            try:
                plan = await plans.plan(who.caller, plan_id)
                simulation = await reads.simulate(
                    who.caller, resubmittable(plan["submission"]), candidate["files"]
                )
            except REFUSED as exc:
                sim_error = message_of(exc)
        rows = simulation["strata"] if simulation else []
        return pages.render(
            request,
            "console/rules_candidate.html",
            context(
                who,
                "rules",
                candidate=candidate,
                active_version=version,
                changes=changes(active, candidate["files"]),
                plans=all_plans,
                plan_id=plan_id,
                simulation=simulation,
                rows=rows,
                differing=sum(1 for row in rows if differs(row)),
                differs=differs,
                sim_error=sim_error,
                error=error,
                ratio=words.ratio,
            ),
            status_code=status_code,
        )

    @r.get("/console/rules/candidates/{candidate_id}")
    async def candidate(
        request: Request, candidate_id: str, who: Policy, plan_id: str = ""
    ) -> Response:
        return await candidate_page(request, who, candidate_id, plan_id=plan_id)

    @r.get("/console/rules/candidates/{candidate_id}/files/{path:path}")
    async def candidate_file(
        request: Request, candidate_id: str, path: str, who: Policy
    ) -> Response:
        found = await reads.candidate(who.caller, candidate_id)
        if path not in found["files"]:
            raise NotFound("候选规则集中没有这个文件。")
        return pages.render(
            request,
            "console/rules_file.html",
            context(who, "rules", candidate=found, path=path, content=found["files"][path]),
        )

    @r.post("/console/rules/candidates/{candidate_id}/activate")
    async def activate(
        request: Request,
        candidate_id: str,
        who: Policy,
        confirmed: Annotated[str, Form(max_length=10)] = "",
    ) -> Response:
        if confirmed != "yes":
            return await candidate_page(
                request,
                who,
                candidate_id,
                error="请先勾选确认：已核对检查、测试和模拟结果。",
                status_code=422,
            )
        found = await reads.candidate(who.caller, candidate_id)
        try:
            await commands.activate(who.caller, found["files"])
        except REFUSED as exc:
            return await candidate_page(
                request, who, candidate_id, error=message_of(exc), status_code=422
            )
        return RedirectResponse("/console/rules?done=activated", status_code=303)

    return r
