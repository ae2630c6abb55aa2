"""HTTP API of the draw service (thin: parse, authorise, call the ceremony, answer).

Ceremony steps need a draw officer; the record, the candidate lists, the tasks, a company's
ticket and verification are public (DESIGN §6: anyone can check a draw).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from contracts.common import Role
from contracts.draw import (
    CommittedStratum,
    DrawCommitted,
    DrawRecord,
    DrawStatus,
    DrawSummary,
    PartyRegistration,
    PartyReveal,
    RedrawBody,
    SeedBody,
    StartDraw,
    TicketReply,
    VerifyReply,
)
from services.draw import store
from services.draw.ceremony import Ceremony
from services.draw.domain.spec import validate_stratum_id
from services.draw.selection import Selector
from services.kit.auth import Principal, public, require
from services.kit.errors import Conflict
from services.kit.service import ServiceContext

# Parties of a commit-reveal may be officers, auditors (discipline office) or planners.
PARTY_ROLES = (Role.DRAW_OFFICER, Role.AUDITOR, Role.PLANNER)


def router(ctx: ServiceContext, *, ceremony: Ceremony, selector: Selector) -> APIRouter:
    """The draw service's routes."""
    r = APIRouter(tags=["draw"])

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

    @r.get("/draws")
    @public
    async def list_draws() -> list[DrawSummary]:
        """Every draw with its state."""
        async with ctx.db.pool.acquire() as conn:
            rows = await store.list_draws(conn)
        return [
            DrawSummary(draw_id=x["draw_id"], plan_id=x["plan_id"], state=x["state"]) for x in rows
        ]

    @r.get("/draws/{draw_id}")
    @public
    async def status(draw_id: str) -> DrawStatus:
        """The ceremony state of a draw."""
        return await ceremony.status(draw_id)

    @r.get("/draws/{draw_id}/commitment")
    @public
    async def commitment(draw_id: str) -> DrawCommitted:
        """What was committed before the seed."""
        async with ctx.db.pool.acquire() as conn:
            d = await store.get_draw(conn, draw_id)
            if d.commitment_sha256 is None or d.committed_at is None:
                raise Conflict(f"draw {draw_id} is not committed yet", code="not_committed")
            extra = await store.draw_extra(conn, draw_id)
            rows = await store.strata(conn, draw_id)
        return DrawCommitted(
            draw_id=d.draw_id,
            plan_id=d.plan_id,
            rules_version=extra["rules_version"],
            snapshot_id=extra["snapshot_id"] or "",
            commitment_sha256=d.commitment_sha256,
            strata=[
                CommittedStratum(
                    stratum_id=x["stratum_id"],
                    n=x["n"],
                    bp=x["bp"],
                    k=x["k"],
                    candidates_sha256=x["candidates_sha256"],
                )
                for x in rows
            ],
            committed_at=d.committed_at,
        )

    @r.get("/draws/{draw_id}/record")
    @public
    async def record(draw_id: str) -> DrawRecord:
        """The public record, spec `spotcheck-draw/1`."""
        return await selector.record(draw_id)

    @r.get("/draws/{draw_id}/candidates")
    @public
    async def candidate_lists(draw_id: str) -> list[dict[str, Any]]:
        """The frozen lists of a draw: stratum, n, hash and where to fetch each."""
        async with ctx.db.pool.acquire() as conn:
            await store.get_draw(conn, draw_id)
            rows = await store.strata(conn, draw_id)
        return [
            {
                "stratum_id": x["stratum_id"],
                "n": x["n"],
                "candidates_sha256": x["candidates_sha256"],
                "url": f"/draws/{draw_id}/candidates/{x['stratum_id']}.txt",
            }
            for x in rows
        ]

    @r.get("/draws/{draw_id}/candidates/{stratum_id}.txt")
    @public
    async def candidate_list(draw_id: str, stratum_id: str) -> Response:
        """One frozen list exactly as committed: one USCC per line."""
        validate_stratum_id(stratum_id)
        async with ctx.db.pool.acquire() as conn:
            body = await store.candidate_list(conn, draw_id, stratum_id)
        return Response(body, media_type="text/plain; charset=utf-8")

    @r.get("/draws/{draw_id}/tasks")
    @public
    async def tasks(draw_id: str, offset: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Tasks in task order with their teams (inspector id, name, department), state and
        progress (not_started | in_progress | result_recorded, as the publisher reported)."""
        async with ctx.db.pool.acquire() as conn:
            await store.get_draw(conn, draw_id)
            return await store.tasks(
                conn, draw_id, offset=max(0, offset), limit=min(max(1, limit), 5000)
            )

    @r.get("/draws/{draw_id}/tickets/{uscc}")
    @public
    async def ticket(draw_id: str, uscc: str) -> TicketReply:
        """A company's ticket in every stratum it was a candidate of, and the cut-offs."""
        return await selector.tickets(draw_id, uscc)

    @r.get("/draws/{draw_id}/verify")
    @public
    async def verify(draw_id: str) -> VerifyReply:
        """Re-derive hashes, selection and commitment from the stored lists."""
        return await selector.verify(draw_id)

    return r
