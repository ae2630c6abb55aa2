"""事项清单导入 (`/console/rules/catalogue`): policy staff upload the supervision-item catalogue
exported from 互联网+监管 (CSV in UTF-8 or GB18030, or JSON), see what it changes in the item
files — added, changed, withdrawn — and go on to the candidate's check, simulation and
activation on the rule pages. A bad row is shown with its file, line, field and reason, and
nothing is created. The planner does the work (POST /rules/catalogue-imports); the web keeps
nothing.
"""

# No `from __future__ import annotations`: the routes name dependency aliases built inside
# `router()`, which FastAPI must see as objects, not as strings to resolve in module scope.

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from contracts.common import Role
from services.kit.edge import RowId
from services.kit.errors import Conflict, Invalid, NotFound
from services.web.backends import BackendError
from services.web.commands.rules import RuleCommands
from services.web.pages.console.common import context, message_of
from services.web.queries import WebQueries
from services.web.queries.rules import RuleReads
from services.web.render import Pages
from services.web.sessions import CookieNames, Person, person_dependency

MAX_EXPORT_BYTES = 8 * 1024 * 1024
REFUSED = (BackendError, Invalid, Conflict, NotFound)
FIELD_NAMES = {"name": "事项名称", "legal_basis": "设定依据", "department": "实施部门"}


def router(
    *,
    pages: Pages,
    queries: WebQueries,
    cookies: CookieNames,
    reads: RuleReads,
    commands: RuleCommands,
) -> APIRouter:
    """The catalogue import's routes (policy staff)."""
    r = APIRouter(tags=["console"], include_in_schema=False)
    Policy = Annotated[
        Person, person_dependency(queries=queries, cookies=cookies, roles=(Role.POLICY,))
    ]

    async def upload_page(
        request: Request,
        who: Person,
        *,
        error: str = "",
        problems: list[dict[str, Any]] | None = None,
        status_code: int = 200,
    ) -> Response:
        imports = await reads.catalogue_imports(who.caller)
        return pages.render(
            request,
            "console/rules_catalogue.html",
            context(who, "rules", imports=imports, error=error, problems=problems or []),
            status_code=status_code,
        )

    @r.get("/console/rules/catalogue")
    async def overview(request: Request, who: Policy) -> Response:
        return await upload_page(request, who)

    @r.post("/console/rules/catalogue")
    async def upload(request: Request, who: Policy) -> Response:
        form = await request.form()
        upload = form.get("export")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await upload_page(
                request,
                who,
                error="请选择互联网+监管导出的事项清单文件（CSV 或 JSON）",
                status_code=422,
            )
        data = await upload.read(MAX_EXPORT_BYTES + 1)
        if len(data) > MAX_EXPORT_BYTES:
            return await upload_page(request, who, error="文件过大（最大 8 MB）", status_code=422)
        name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
        try:
            # No format: the planner finds it from the content (a JSON export may be named
            # `.txt` or nothing), as the CLI and the API do.
            found = await commands.import_catalogue(who.caller, data, name=name)
        except REFUSED as exc:
            rows = [d for d in exc.details if isinstance(d, dict) and "line" in d]
            message = (
                f"导出文件未导入：{len(rows)} 处问题，未创建任何候选规则集。请改正后重新上传。"
                if rows
                else message_of(exc)
            )
            return await upload_page(request, who, error=message, problems=rows, status_code=422)
        return RedirectResponse(f"/console/rules/catalogue/{found['import_id']}", status_code=303)

    @r.get("/console/rules/catalogue/{import_id}")
    async def shown(request: Request, import_id: RowId, who: Policy) -> Response:
        found = await reads.catalogue_import(who.caller, import_id)
        return pages.render(
            request,
            "console/rules_catalogue_import.html",
            context(who, "rules", found=found, diff=found["diff"], field_names=FIELD_NAMES),
        )

    return r
