"""公开抽取 (`/console/draws`): the draw officers' ceremony, step by step, its presentation
mode for the public screen in the room, the redraw of two officers, and the exports.

The steps: freeze the candidate lists and publish the commitment (the hash large, a copy
button, a QR code); the seed (dice digits typed as the witnesses read them, a public beacon's
value, or the parties' commit-reveal); the selection, stratum by stratum; the teams and the
tasks no team could be made for, with the constraint that failed. Auditors read every page;
only draw officers take steps (auditors may also be parties of a commit-reveal).
"""

# No `from __future__ import annotations`: the routes name dependency aliases built inside
# `router()`, which FastAPI must see as objects, not as strings to resolve in module scope.

from typing import Annotated, Any
from urllib.parse import quote

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from contracts.common import Role
from services.kit.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from services.web.backends import BackendError
from services.web.commands.ceremony import CeremonyCommands
from services.web.domain import console as words
from services.web.exports import CSV_TYPE, XLSX_TYPE, csv_bytes, xlsx_bytes
from services.web.pages.console import restaff
from services.web.pages.console.common import context, message_of
from services.web.queries import WebQueries
from services.web.queries.draws import CeremonyView, DrawReads
from services.web.render import Pages
from services.web.sessions import CookieNames, Person, person_dependency

DONE = {
    "started": "已冻结候选名单并公布承诺值。请在见证下取得种子。",
    "seeded": "种子已记录，抽取和选派已完成。",
    "party": "参与方已登记。",
    "revealed": "秘密值已揭示。等待其余参与方揭示。",
    "derived": "各参与方均已揭示，已由各方秘密值得出种子，抽取和选派已完成。",
    "redraw": "重新抽取的请求已提交，等待另一名抽取人员确认。",
    "cancelled": "重新抽取的请求已撤回。",
    "redrawn": "已确认重新抽取：原抽取保留并标为已被取代，新抽取已冻结名单并公布承诺值。",
    "restaffed": "已换人：替补人员已按本次抽取的规则抽出，检查组已更新并公开。",
}
SEED_SOURCES = ("dice", "beacon")
REFUSED = (BackendError, Invalid, Conflict, Forbidden, NotFound)


def router(
    *,
    pages: Pages,
    queries: WebQueries,
    cookies: CookieNames,
    reads: DrawReads,
    ceremony: CeremonyCommands,
) -> APIRouter:
    """The draw officers' routes."""
    r = APIRouter(tags=["console"], include_in_schema=False)
    Reader = Annotated[
        Person,
        person_dependency(queries=queries, cookies=cookies, roles=words.roles_of("draws")),
    ]
    Officer = Annotated[
        Person, person_dependency(queries=queries, cookies=cookies, roles=(Role.DRAW_OFFICER,))
    ]
    Party = Annotated[
        Person,
        person_dependency(
            queries=queries, cookies=cookies, roles=(Role.DRAW_OFFICER, Role.AUDITOR)
        ),
    ]

    async def overview_page(
        request: Request, who: Person, *, error: str, status_code: int = 200
    ) -> Response:
        found = await reads.overview(who.caller)
        return pages.render(
            request,
            "console/draws.html",
            context(
                who,
                "draws",
                draws=found.draws,
                startable=found.startable,
                titles=found.titles,
                states=words.DRAW_STATES,
                can_act=who.account.role is Role.DRAW_OFFICER,
                error=error,
            ),
            status_code=status_code,
        )

    @r.get("/console/draws")
    async def overview(request: Request, who: Reader, done: str = "") -> Response:
        return await overview_page(request, who, error=done)

    @r.post("/console/draws")
    async def start(
        request: Request, who: Officer, plan_id: Annotated[str, Form(max_length=100)]
    ) -> Response:
        try:
            status = await ceremony.start(who.caller, plan_id)
        except REFUSED as exc:
            return await overview_page(
                request, who, error=message_of(exc), status_code=_status(exc)
            )
        return RedirectResponse(f"/console/draws/{status['draw_id']}?done=started", 303)

    async def page(
        request: Request,
        who: Person,
        draw_id: str,
        *,
        done: str = "",
        problems: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response:
        view = await reads.ceremony(who.caller, draw_id)
        return pages.render(
            request,
            "console/draw.html",
            context(
                who,
                "draws",
                **_ceremony_context(view, who),
                done=DONE.get(done, ""),
                problems=problems or {},
                values=values or {},
            ),
            status_code=status_code,
        )

    @r.get("/console/draws/{draw_id}")
    async def show(request: Request, draw_id: str, who: Reader, done: str = "") -> Response:
        return await page(request, who, draw_id, done=done)

    async def step(
        request: Request,
        who: Person,
        draw_id: str,
        action: Any,
        *,
        done: str,
        field: str,
        values: dict[str, str],
        target: str | None = None,
    ) -> Response:
        """Take one step; on a refusal show the page again with the reason at its field."""
        try:
            status = await action
        except REFUSED as exc:
            return await page(
                request,
                who,
                draw_id,
                problems={field: message_of(exc)},
                values=values,
                status_code=_status(exc),
            )
        goto = target or status.get("draw_id") or draw_id
        if done == "revealed" and status.get("seed_source") == "parties":
            done = "derived"  # the last reveal: the seed is derived and the draw has run
        return RedirectResponse(f"/console/draws/{quote(goto)}?done={done}", status_code=303)

    @r.post("/console/draws/{draw_id}/seed")
    async def seed(
        request: Request,
        draw_id: str,
        who: Officer,
        source: Annotated[str, Form(max_length=20)],
        seed: Annotated[str, Form(max_length=500)] = "",
    ) -> Response:
        values = {"source": source, "seed": seed}
        field = f"seed-{source}" if source in SEED_SOURCES else "seed-dice"
        if source not in SEED_SOURCES:
            return await page(
                request,
                who,
                draw_id,
                problems={field: "请选择种子来源。"},
                values=values,
                status_code=422,
            )
        typed = "".join(seed.split()) if source == "dice" else seed.strip()
        if not typed:
            return await page(
                request,
                who,
                draw_id,
                problems={field: "请填写种子。"},
                values=values,
                status_code=422,
            )
        return await step(
            request,
            who,
            draw_id,
            ceremony.seed(who.caller, draw_id, seed=typed, source=source),
            done="seeded",
            field=field,
            values=values,
        )

    @r.post("/console/draws/{draw_id}/parties")
    async def register_party(
        request: Request,
        draw_id: str,
        who: Party,
        party_id: Annotated[str, Form(max_length=64)],
        commitment_sha256: Annotated[str, Form(max_length=100)],
    ) -> Response:
        values = {"party_id": party_id, "commitment_sha256": commitment_sha256}
        digest = commitment_sha256.strip().lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            return await page(
                request,
                who,
                draw_id,
                problems={"party": "承诺值须为64位十六进制的SHA-256值。"},
                values=values,
                status_code=422,
            )
        return await step(
            request,
            who,
            draw_id,
            ceremony.register_party(
                who.caller, draw_id, party_id=party_id.strip(), commitment_sha256=digest
            ),
            done="party",
            field="party",
            values=values,
        )

    @r.post("/console/draws/{draw_id}/parties/reveal")
    async def reveal_party(
        request: Request,
        draw_id: str,
        who: Party,
        party_id: Annotated[str, Form(max_length=64)],
        secret: Annotated[str, Form(max_length=500)],
    ) -> Response:
        return await step(
            request,
            who,
            draw_id,
            ceremony.reveal_party(who.caller, draw_id, party_id=party_id, secret=secret),
            done="revealed",
            field=f"reveal-{party_id}",
            values={"party_id": party_id},
        )

    @r.post("/console/draws/{draw_id}/redraw")
    async def request_redraw(
        request: Request,
        draw_id: str,
        who: Officer,
        reason: Annotated[str, Form(max_length=1000)] = "",
    ) -> Response:
        if len(reason.strip()) < 4:
            return await page(
                request,
                who,
                draw_id,
                problems={"reason": "请写明重新抽取的理由（至少4个字）。"},
                values={"reason": reason},
                status_code=422,
            )
        return await step(
            request,
            who,
            draw_id,
            ceremony.request_redraw(who.caller, draw_id, reason=reason.strip()),
            done="redraw",
            field="reason",
            values={"reason": reason},
        )

    @r.post("/console/draws/{draw_id}/redraw/confirm")
    async def confirm_redraw(request: Request, draw_id: str, who: Officer) -> Response:
        return await step(
            request,
            who,
            draw_id,
            ceremony.confirm_redraw(who.caller, draw_id),
            done="redrawn",
            field="confirm",
            values={},
        )

    @r.post("/console/draws/{draw_id}/redraw/cancel")
    async def cancel_redraw(request: Request, draw_id: str, who: Officer) -> Response:
        return await step(
            request,
            who,
            draw_id,
            ceremony.cancel_redraw(who.caller, draw_id),
            done="cancelled",
            field="confirm",
            values={},
            target=draw_id,
        )

    # -- presentation mode: the public screen in the room --------------------------------------

    @r.get("/console/draws/{draw_id}/present")
    async def present(request: Request, draw_id: str, who: Reader) -> Response:
        view = await reads.ceremony(who.caller, draw_id)
        return pages.render(
            request, "console/present.html", context(who, "draws", **_live_context(view))
        )

    @r.get("/console/draws/{draw_id}/present/live")
    async def present_live(request: Request, draw_id: str, who: Reader) -> Response:
        view = await reads.ceremony(who.caller, draw_id)
        return pages.render(
            request, "console/present_live.html", context(who, "draws", **_live_context(view))
        )

    # -- exports ---------------------------------------------------------------------------

    @r.get("/console/draws/{draw_id}/{what}.{ext}")
    async def export(request: Request, draw_id: str, what: str, ext: str, who: Reader) -> Response:
        if what not in ("selection", "tasks") or ext not in ("csv", "xlsx"):
            raise NotFound("没有这种导出文件。")
        view = await reads.ceremony(who.caller, draw_id)
        if view.record is None:
            raise Conflict("该抽取尚未取得种子，还没有抽取结果可导出。", code="not_seeded")
        headers: tuple[str, ...]
        if what == "selection":
            headers, rows, title = (
                words.SELECTION_HEADERS,
                words.selection_rows(view.record, view.tasks),
                "抽取结果",
            )
        else:
            headers, rows, title = words.TASK_HEADERS, words.task_rows(view.tasks), "检查任务"
        name = f"{draw_id}-{what}.{ext}"
        body = csv_bytes(headers, rows) if ext == "csv" else xlsx_bytes(title, headers, rows)
        return Response(
            body,
            media_type=CSV_TYPE if ext == "csv" else XLSX_TYPE,
            headers={
                "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''"
                + quote(f"{title}-{name}"),
                "Cache-Control": "no-store",
            },
        )

    return r


def _status(exc: DomainError) -> int:
    return exc.status if exc.status in (403, 404, 409, 422) else 422


def _commitment_qr(digest: str) -> str:
    return segno.make(digest, error="m").svg_inline(scale=4, border=2, title="承诺值二维码")


def _ceremony_context(view: CeremonyView, who: Person) -> dict[str, Any]:
    status = view.status
    me = who.caller.sub
    pending = status.get("redraw_pending")
    return {
        **_live_context(view),
        "tasks": view.tasks,
        "unstaffed": view.unstaffed,
        "task_rows": words.task_rows(view.tasks),
        "is_officer": who.account.role is Role.DRAW_OFFICER,
        "may_be_party": who.account.role in (Role.DRAW_OFFICER, Role.AUDITOR),
        "pending": pending,
        "pending_mine": bool(pending and pending.get("requested_by") == me),
        "unstaffed_text": words.unstaffed_text,
        "restaffable": restaff.is_open,
    }


def _live_context(view: CeremonyView) -> dict[str, Any]:
    status = view.status
    state = status["state"]
    digest = status.get("commitment_sha256") or ""
    submission = view.plan.get("submission") or {}
    order = ["freezing", "committed", "seeded", "selected", "completed"]
    reached = order.index(state) if state in order else len(order)
    record = view.record or {}
    return {
        "draw": status,
        "plan": view.plan,
        "title": submission.get("title") or status["plan_id"],
        "state": state,
        "state_name": words.DRAW_STATES.get(state, state),
        "reached": reached,
        "final": state in ("completed", "superseded"),
        "commitment": view.commitment,
        "digest": digest,
        "digest_groups": words.groups_of(digest),
        "qr": _commitment_qr(digest) if digest else "",
        "record": view.record,
        "seed_groups": words.groups_of(str(record.get("seed", "")), 4),
        "seed_source": words.SEED_SOURCES.get(
            str(status.get("seed_source") or ""), status.get("seed_source") or ""
        ),
        "selected_total": sum(len(s["selected"]) for s in record.get("strata", [])),
        "selection": words.selection_rows(view.record, view.tasks) if view.record else [],
        "ratio": words.ratio,
    }
