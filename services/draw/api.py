"""HTTP API of the draw service (thin: parse, authorise, call one command or query, answer).

Ceremony steps need a draw officer; the record, the candidate lists, the tasks, a company's
ticket and verification are public (DESIGN §6: anyone can check a draw). So are triggered tasks
(触发检查): a draw officer opens one, the second officer named in it approves it, and anyone
reads it (without its evidence reference) and re-derives its team.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from contracts.common import STATS_ROLES, Role
from contracts.draw import (
    DrawCommitted,
    DrawRecord,
    DrawStats,
    DrawStatus,
    DrawSummary,
    PartyRegistration,
    PartyReveal,
    RecusalsChecked,
    RedrawBody,
    RestaffBody,
    SeedBody,
    StartDraw,
    TaskRestaffed,
    TicketReply,
    VerifyReply,
)
from contracts.triggered import TriggeredOpen, TriggeredTask
from services.draw.commands import Ceremony, Restaffing, Triggered
from services.draw.queries import DrawQueries
from services.kit.auth import Principal, public, require
from services.kit.edge import DepartmentCode, Limit, Offset, Year

# Parties of a commit-reveal may be officers, auditors (discipline office) or planners.
PARTY_ROLES = (Role.DRAW_OFFICER, Role.AUDITOR, Role.PLANNER)


def router(
    *,
    ceremony: Ceremony,
    restaffing: Restaffing,
    triggered: Triggered,
    queries: DrawQueries,
) -> APIRouter:
    """The draw service's routes."""
    r = APIRouter(tags=["draw"])

    @r.get("/stats/draws")
    async def draw_stats(
        year: Year,
        department: DepartmentCode | None = None,
        _: Principal = require(*STATS_ROLES),
    ) -> DrawStats:
        """A year's draws: per risk class the candidates (n) and the entities selected (k),
        for the ratio drawn against the ratio planned."""
        return await queries.stats(year=year, department=department)

    @r.post("/draws", status_code=201)
    async def start(body: StartDraw, who: Principal = require(Role.DRAW_OFFICER)) -> DrawStatus:
        """Freeze the plan's candidate lists and publish the commitment."""
        return await ceremony.start(body.plan_id, by=who.sub)

    @r.post("/draws/{draw_id}/seed")
    async def seed(
        draw_id: str, body: SeedBody, who: Principal = require(Role.DRAW_OFFICER)
    ) -> DrawStatus:
        """Enter the dice or beacon seed; the draw then selects, staffs and publishes."""
        return await ceremony.seed(draw_id, body.seed, body.source, by=who.sub)

    @r.post("/draws/{draw_id}/resume")
    async def resume(draw_id: str, _: Principal = require(Role.DRAW_OFFICER)) -> DrawStatus:
        """Finish a seeded draw whose selection or staffing was interrupted."""
        return await ceremony.resume(draw_id)

    @r.post("/draws/{draw_id}/parties", status_code=201)
    async def register_party(
        draw_id: str, body: PartyRegistration, who: Principal = require(*PARTY_ROLES)
    ) -> DrawStatus:
        """A party of a commit-reveal registers the SHA-256 of its secret."""
        return await ceremony.register_party(
            draw_id, body.party_id, body.commitment_sha256, by=who.sub
        )

    @r.post("/draws/{draw_id}/parties/{party_id}/reveal")
    async def reveal_party(
        draw_id: str, party_id: str, body: PartyReveal, who: Principal = require(*PARTY_ROLES)
    ) -> DrawStatus:
        """A party reveals its secret; the last reveal derives the seed and runs the draw."""
        return await ceremony.reveal_party(draw_id, party_id, body.secret, by=who.sub)

    @r.post("/draws/{draw_id}/redraw", status_code=202)
    async def redraw(
        draw_id: str, body: RedrawBody, who: Principal = require(Role.DRAW_OFFICER)
    ) -> DrawStatus:
        """Ask for a redraw with a written reason; a second draw officer must confirm it."""
        return await ceremony.request_redraw(draw_id, reason=body.reason, by=who.sub)

    @r.post("/draws/{draw_id}/redraw/confirm", status_code=201)
    async def confirm_redraw(
        draw_id: str, who: Principal = require(Role.DRAW_OFFICER)
    ) -> DrawStatus:
        """A second draw officer confirms: the draw is superseded (kept, public) by a new one."""
        return await ceremony.confirm_redraw(draw_id, by=who.sub)

    @r.post("/draws/{draw_id}/redraw/cancel")
    async def cancel_redraw(
        draw_id: str, who: Principal = require(Role.DRAW_OFFICER)
    ) -> DrawStatus:
        """Withdraw a redraw that was asked for and not yet confirmed."""
        return await ceremony.cancel_redraw(draw_id, by=who.sub)

    @r.post("/tasks/{task_id}/restaff")
    async def restaff(
        task_id: str, body: RestaffBody, who: Principal = require(Role.DRAW_OFFICER)
    ) -> TaskRestaffed:
        """Replace one member of an open task, with a reason, by the draw's seeded rules; the
        record re-derives from the draw's seed (docs/draw-spec.md §7a)."""
        return await restaffing.restaff(task_id, body.inspector_id, body.reason, by=who.sub)

    @r.post("/draws/{draw_id}/restaff-recused")
    async def restaff_recused(
        draw_id: str, who: Principal = require(Role.DRAW_OFFICER)
    ) -> RecusalsChecked:
        """Re-check the draw's open tasks against the roster's recusals now; replace each
        member recused for the task's entity (reason 回避)."""
        return await restaffing.restaff_recused(draw_id, by=who.sub)

    @r.get("/draws/{draw_id}/restaffings")
    @public
    async def restaffings(draw_id: str) -> list[TaskRestaffed]:
        """Every restaffing of the draw's tasks, with the inputs that re-derive each pick."""
        return await queries.restaffings(draw_id)

    @r.get("/draws")
    @public
    async def list_draws() -> list[DrawSummary]:
        """Every draw with its state."""
        return await queries.list_draws()

    @r.get("/draws/{draw_id}")
    @public
    async def status(draw_id: str) -> DrawStatus:
        """The ceremony state of a draw."""
        return await queries.status(draw_id)

    @r.get("/draws/{draw_id}/commitment")
    @public
    async def commitment(draw_id: str) -> DrawCommitted:
        """What was committed before the seed."""
        return await queries.commitment(draw_id)

    @r.get("/draws/{draw_id}/record")
    @public
    async def record(draw_id: str) -> DrawRecord:
        """The public record, spec `spotcheck-draw/1`."""
        return await queries.record(draw_id)

    @r.get("/draws/{draw_id}/candidates")
    @public
    async def candidate_lists(draw_id: str) -> list[dict[str, Any]]:
        """The frozen lists of a draw: stratum, n, hash and where to fetch each."""
        return await queries.candidate_lists(draw_id)

    @r.get(
        "/draws/{draw_id}/candidates/{stratum_id}.txt",
        response_class=Response,
        responses={200: {"description": "one USCC a line", "content": {"text/plain": {}}}},
    )
    @public
    async def candidate_list(draw_id: str, stratum_id: str) -> Response:
        """One frozen list exactly as committed: one USCC per line."""
        body = await queries.candidate_list(draw_id, stratum_id)
        return Response(body, media_type="text/plain; charset=utf-8")

    @r.get("/draws/{draw_id}/tasks")
    @public
    async def tasks(draw_id: str, offset: Offset = 0, limit: Limit = 1000) -> list[dict[str, Any]]:
        """Tasks in task order with their teams (inspector id, name, department), state and
        progress (not_started | in_progress | result_recorded, as the publisher reported)."""
        return await queries.tasks(draw_id, offset=offset, limit=limit)

    @r.get("/draws/{draw_id}/tickets/{uscc}")
    @public
    async def ticket(draw_id: str, uscc: str) -> TicketReply:
        """A company's ticket in every stratum it was a candidate of, and the cut-offs."""
        return await queries.tickets(draw_id, uscc)

    @r.get("/draws/{draw_id}/verify")
    @public
    async def verify(draw_id: str) -> VerifyReply:
        """Re-derive hashes, selection and commitment from the stored lists."""
        return await queries.verify(draw_id)

    @r.post("/triggered", status_code=201)
    async def open_triggered(
        body: TriggeredOpen, who: Principal = require(Role.DRAW_OFFICER)
    ) -> TriggeredTask:
        """Open a triggered check of one entity: its trigger, evidence, catalogue items and the
        second draw officer who approves it. Its seed's SHA-256 is published at once."""
        return await triggered.open(body, by=who.sub)

    @r.post("/triggered/{task_id}/approve")
    async def approve_triggered(
        task_id: str, who: Principal = require(Role.DRAW_OFFICER)
    ) -> TriggeredTask:
        """The named approving officer approves: the team is drawn with the committed seed."""
        return await triggered.approve(task_id, by=who.sub)

    @r.get("/triggered")
    @public
    async def list_triggered(offset: Offset = 0, limit: Limit = 100) -> list[TriggeredTask]:
        """Triggered tasks, newest first, with trigger, seed, eligible inspectors and team."""
        return await queries.triggered_tasks(offset=offset, limit=limit)

    @r.get("/triggered/{task_id}")
    @public
    async def show_triggered(task_id: str) -> TriggeredTask:
        """One triggered task (the evidence reference is not public)."""
        return await queries.triggered_task(task_id)

    return r
