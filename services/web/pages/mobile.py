"""掌上查 (`/m/`): the inspector's tasks, the task card, the result form, confirmations and
the 检查码; and `/check/{task}`, the public page the 检查码 opens.

Every page works without JavaScript; `static/m/queue.js` adds the offline queue (a result
entered without signal is kept on the phone and sent once when it is back).
"""

# No `from __future__ import annotations`: the routes name dependency aliases built inside
# `router()`, which FastAPI must see as objects, not as strings to resolve in module scope.

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from contracts.common import Role
from services.kit.auth import public
from services.kit.errors import Conflict, Invalid
from services.web.backends import BackendError
from services.web.commands import InspectionCommands
from services.web.domain.result_form import (
    FormProblems,
    problems_from_refusal,
    submission_from_form,
)
from services.web.queries import TaskCardView, TaskReads, WebQueries
from services.web.queries.tasks import group_tasks
from services.web.render import Pages
from services.web.sessions import CookieNames, Person, person_dependency

STATUSES = (
    ("", "全部"),
    ("assigned", "待检查"),
    ("in_progress", "检查中"),
    ("awaiting_confirmation", "待确认"),
    ("result_recorded", "已录入"),
    ("published", "已公示"),
    ("cancelled", "已取消"),
)
MAX_PHOTOS = 9


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _today() -> date:
    return datetime.now(UTC).astimezone().date()


def router(
    *,
    pages: Pages,
    reads: TaskReads,
    inspections: InspectionCommands,
    queries: WebQueries,
    cookies: CookieNames,
    public_base_url: str,
) -> APIRouter:
    """The phone app's routes."""
    r = APIRouter(tags=["掌上查"], include_in_schema=False)
    Staff = Annotated[
        Person,
        person_dependency(
            queries=queries, cookies=cookies, roles=(Role.INSPECTOR, Role.PLANNER, Role.AUDITOR)
        ),
    ]
    Inspector = Annotated[
        Person, person_dependency(queries=queries, cookies=cookies, roles=(Role.INSPECTOR,))
    ]

    def base(who: Person, **extra: Any) -> dict[str, Any]:
        return {"person": who, "csrf_token": who.csrf_token, "today": _today(), **extra}

    @r.get("/m/")
    async def my_tasks(request: Request, who: Staff, status: str = "", q: str = "") -> Response:
        status = status if status in dict(STATUSES) else ""
        tasks = await reads.my_tasks(who.caller, status=status, q=q.strip()[:50])
        context = base(
            who,
            groups=group_tasks(tasks, today=_today()),
            count=len(tasks),
            status=status,
            q=q,
            statuses=STATUSES,
        )
        template = "m/task_list.html" if request.headers.get("hx-request") else "m/tasks.html"
        return pages.render(request, template, context)

    @r.get("/m/tasks/{task_id}")
    async def task_card(request: Request, task_id: str, who: Staff) -> Response:
        card = await reads.card(who.caller, task_id)
        return pages.render(request, "m/task.html", base(who, **_card_context(card, who)))

    @r.post("/m/tasks/{task_id}/start")
    async def start(request: Request, task_id: str, who: Inspector) -> Response:
        await inspections.start(who.caller, task_id)
        return RedirectResponse(f"/m/tasks/{task_id}", status_code=303)

    @r.get("/m/tasks/{task_id}/result")
    async def result_form(request: Request, task_id: str, who: Inspector) -> Response:
        card = await reads.card(who.caller, task_id)
        return pages.render(
            request,
            "m/result.html",
            base(who, **_card_context(card, who), values={}, problems=FormProblems()),
        )

    @r.post("/m/tasks/{task_id}/result")
    async def submit_result(request: Request, task_id: str, who: Inspector) -> Response:
        form = await request.form()
        card = await reads.card(who.caller, task_id)
        photos = _files(form, "photos")
        reports = _files(form, "report")
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        problems = FormProblems()
        if len(photos) > MAX_PHOTOS:
            problems.add("photos", f"每次最多上传{MAX_PHOTOS}张照片")
        if len(reports) > MAX_PHOTOS:
            problems.add("report", f"每次最多上传{MAX_PHOTOS}份报告")
        # On an online check the pictures taken are its captures (截图); a commissioned check's
        # report comes through its own field.
        photo_kind = "capture" if values.get("method") == "online" else "evidence"
        attachments: list[dict[str, Any]] = []
        for name in form.getlist("attachment"):
            # Photos already stored (the offline queue uploads them first): "sha256:size:type:name".
            if isinstance(name, str) and name.count(":") >= 3:
                sha, size, ctype, fname = name.split(":", 3)
                if size.isdigit():
                    attachments.append(
                        {
                            "name": fname,
                            "sha256": sha,
                            "size": int(size),
                            "content_type": ctype,
                            "kind": photo_kind,
                        }
                    )
        if not problems:
            for upload, kind in [(p, photo_kind) for p in photos] + [
                (r, "report") for r in reports
            ]:
                content = await upload.read()
                attachments.append(
                    await inspections.attach(
                        who.caller,
                        name=upload.filename or "photo.jpg",
                        content=content,
                        content_type=upload.content_type or "image/jpeg",
                        kind=kind,
                    )
                )
        body, local = submission_from_form(
            values,
            task_id=task_id,
            item_codes=[i["code"] for i in card.task["items"]],
            checklists={
                item["code"]: [q["id"] for q in item.get("checklist", [])] for item in card.items
            },
            attachments=attachments,
            confirmed_at=datetime.now(UTC).isoformat(),
        )
        for name, messages in local.by_field.items():
            for m in messages:
                problems.add(name, m)
        if not problems:
            try:
                outcome = await inspections.submit(who.caller, body)
            except (BackendError, Invalid, Conflict) as exc:
                if exc.status not in (409, 422):
                    raise
                problems = problems_from_refusal(exc.details)
                if not problems:
                    problems.add(None, exc.message)
            else:
                message = (
                    "结果已录入，将按期公示。"
                    if outcome.state == "accepted"
                    else "已提交，等待同组检查人员在其手机上确认。"
                )
                if _wants_json(request):
                    return JSONResponse(
                        {"state": outcome.state, "message": message, "next": f"/m/tasks/{task_id}"},
                        status_code=201 if outcome.state == "accepted" else 202,
                    )
                return RedirectResponse(f"/m/tasks/{task_id}?done={outcome.state}", status_code=303)
        if _wants_json(request):
            return JSONResponse(
                {"state": "refused", "errors": problems.by_field, "general": problems.general},
                status_code=422,
            )
        context = base(who, **_card_context(card, who), values=values, problems=problems)
        return pages.render(request, "m/result.html", context, status_code=422)

    @r.post("/m/tasks/{task_id}/confirm")
    async def confirm(
        request: Request,
        task_id: str,
        who: Inspector,
        draft_id: Annotated[str, Form(max_length=100)],
        content_sha256: Annotated[str, Form(max_length=64)],
    ) -> Response:
        outcome = await inspections.confirm(
            who.caller, task_id, draft_id=draft_id, content_sha256=content_sha256
        )
        return RedirectResponse(f"/m/tasks/{task_id}?done={outcome.state}", status_code=303)

    @r.post("/m/tasks/{task_id}/return")
    async def give_back(
        request: Request,
        task_id: str,
        who: Inspector,
        draft_id: Annotated[str, Form(max_length=100)],
        reason: Annotated[str, Form(min_length=1, max_length=500)],
    ) -> Response:
        await inspections.give_back(who.caller, task_id, draft_id=draft_id, reason=reason)
        return RedirectResponse(f"/m/tasks/{task_id}?done=returned", status_code=303)

    @r.get("/m/tasks/{task_id}/code")
    async def check_code(request: Request, task_id: str, who: Staff) -> Response:
        task = await reads.task(who.caller, task_id)
        origin = public_base_url.rstrip("/") or str(request.base_url).rstrip("/")
        url = f"{origin}/check/{task_id}"
        svg = segno.make(url, error="m").svg_inline(scale=6, border=2, title="检查码")
        return pages.render(request, "m/code.html", base(who, task=task, url=url, svg=svg))

    @r.get("/check/{task_id}")
    @public
    async def public_check(request: Request, task_id: str) -> Response:
        facts = await reads.public_task(task_id)
        return pages.render(request, "check.html", {"facts": facts, "today": _today()})

    return r


def _files(form: Any, name: str) -> list[UploadFile]:
    """The files chosen in one file field (an empty field sends one nameless part)."""
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


def _card_context(card: TaskCardView, who: Person) -> dict[str, Any]:
    task = card.task
    draft = task.get("pending_draft")
    me = who.account.inspector_id
    awaiting_me = bool(draft and me in (draft.get("awaiting") or []))
    return {
        "task": task,
        "entity": card.entity,
        "items": card.items,
        "team": card.team,
        "categories": card.categories,
        "draft": draft,
        "awaiting_me": awaiting_me,
        "names": {m.get("inspector_id", ""): m.get("name", "") for m in card.team},
        "category_names": {c["code"]: c["name"] for c in card.categories},
        "draft_json": json.dumps(draft.get("submission", {}), ensure_ascii=False, indent=1)
        if draft
        else "",
    }
