"""What the draw's API answers: status, record, commitment, lists, tasks, tickets, verification.

Plain reads through the store (no state changes). The record, the candidate lists, the tasks,
a company's ticket and verification are public (DESIGN §6: anyone can check a draw).
"""

from __future__ import annotations

from typing import Any

from contracts.draw import (
    CommittedStratum,
    DrawCommitted,
    DrawRecord,
    DrawStats,
    DrawStatus,
    DrawSummary,
    RecordStratum,
    RedrawFacts,
    RedrawRequest,
    StratumTicket,
    TaskRestaffed,
    TeamMember,
    TicketReply,
    VerifyReply,
)
from contracts.draw import TaskItem as DrawTaskItem
from contracts.triggered import (
    TRIGGER_LABELS,
    Trigger,
    TriggeredEligible,
    TriggeredState,
    TriggeredTask,
)
from services.draw import store
from services.draw.domain import spec
from services.draw.domain.verify import first_difference
from services.kit.db import Database
from services.kit.errors import Conflict, NotFound


def triggered_view(row: store.TriggeredRow, *, officer: bool) -> TriggeredTask:
    """A triggered task as answered: the seed only once approved (until then only its
    commitment is public), the evidence reference only to draw officers (`officer`): a
    complaint's number can lead to the person who complained."""
    approved = row.state is not TriggeredState.AWAITING_APPROVAL
    task = row.task or {}
    e = row.entity
    return TriggeredTask(
        task_id=row.task_id,
        state=row.state,
        uscc=row.uscc,
        entity_name=e["name"],
        region_code=e["region_code"],
        industry_code=e["industry_code"],
        risk_class=e.get("risk_class"),
        trigger=Trigger(row.trigger),
        trigger_label=TRIGGER_LABELS[row.trigger],
        evidence_ref=row.evidence_ref if officer else None,
        items=[
            DrawTaskItem(code=i["code"], name=i["name"], department=i["department"])
            for i in row.items
        ],
        departments=list(row.departments),
        lead_department=row.lead_department,
        methods=list(row.methods),
        period_start=row.period_start,
        period_end=row.period_end,
        rules_version=row.rules_version,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        approver=row.approver,
        approved_at=row.approved_at,
        nonce_sha256=row.nonce_sha256,
        seed=row.nonce if approved else None,
        eligible=[TriggeredEligible.model_validate(x) for x in row.eligible],
        team=[TeamMember.model_validate(m) for m in task.get("team", [])],
        unstaffed_reason=task.get("unstaffed_reason"),
    )


# The most tasks one page of `/draws/{id}/tasks` returns.
TASK_PAGE_MAX = 5000


async def status_in(conn: store.Conn, draw_id: str) -> DrawStatus:
    """The ceremony state of one draw, read on `conn`."""
    d = await store.get_draw(conn, draw_id)
    n, u = await store.task_counts(conn, draw_id)
    parties = await store.parties(conn, draw_id)
    return DrawStatus(
        draw_id=d.draw_id,
        plan_id=d.plan_id,
        state=d.state.value,
        commitment_sha256=d.commitment_sha256,
        seed_source=d.seed_source.value if d.seed_source else None,
        seed_entered_by=d.seed_entered_by,
        seeded_at=d.seeded_at,
        supersedes=d.supersedes,
        superseded_by=d.superseded_by,
        redraw_reason=d.redraw_reason,
        redraw_by=d.redraw_by,
        redraw_confirmed_by=d.redraw_confirmed_by,
        redraw_pending=None
        if d.redraw_pending is None
        else RedrawRequest(
            reason=d.redraw_pending.reason,
            requested_by=d.redraw_pending.by,
            requested_at=d.redraw_pending.at,
        ),
        tasks=n,
        unstaffed=u,
        parties=store.public_parties(parties),
    )


async def record_in(conn: store.Conn, draw_id: str) -> DrawRecord:
    """The public record read on `conn` (the completing transaction publishes it too)."""
    d = await store.get_draw(conn, draw_id)
    if d.seed is None or d.commitment_sha256 is None:
        raise Conflict(
            f"draw {draw_id} has no seed yet; its commitment is at /draws/{draw_id}/commitment",
            code="not_seeded",
        )
    extra = await store.draw_extra(conn, draw_id)
    rows = await store.strata(conn, draw_id)
    parties = await store.parties(conn, draw_id)
    return DrawRecord(
        draw_id=d.draw_id,
        plan_id=d.plan_id,
        rules_version=extra.rules_version,
        seed=d.seed,
        seed_source=d.seed_source.value if d.seed_source else "",
        commitment_sha256=d.commitment_sha256,
        strata=[
            RecordStratum(
                stratum_id=r.stratum_id,
                n=r.n,
                bp=r.bp,
                k=r.k,
                candidates_sha256=r.candidates_sha256,
                selected=list(r.selected or ()),
                count=r.count,
            )
            for r in rows
        ],
        supersedes=d.supersedes,
        superseded_by=d.superseded_by,
        seed_parties=store.public_parties(parties) if parties.parties else None,
        redraw=None
        if d.redraw_reason is None or d.redraw_by is None or d.redraw_at is None
        else RedrawFacts(
            reason=d.redraw_reason,
            requested_by=d.redraw_by,
            confirmed_by=d.redraw_confirmed_by,
            at=d.redraw_at,
        ),
    )


class DrawQueries:
    """The read side of the draw service."""

    def __init__(self, *, db: Database) -> None:
        self.db = db

    async def status(self, draw_id: str) -> DrawStatus:
        """The ceremony state of one draw."""
        async with self.db.pool.acquire() as conn:
            return await status_in(conn, draw_id)

    async def list_draws(self) -> list[DrawSummary]:
        """Every draw with its state, newest first."""
        async with self.db.pool.acquire() as conn:
            rows = await store.list_draws(conn)
        return [DrawSummary(draw_id=x.draw_id, plan_id=x.plan_id, state=x.state) for x in rows]

    async def stats(self, *, year: int, department: str | None = None) -> DrawStats:
        """A year's live draws and, per risk class, the candidates and the entities selected
        (the ratio drawn, against the planner's ratio planned)."""
        async with self.db.pool.acquire() as conn:
            return DrawStats(
                year=year,
                department=department,
                draws=await store.live_draws(conn, year=year, department=department),
                by_risk_class=await store.drawn_by_risk_class(
                    conn, year=year, department=department
                ),
            )

    async def commitment(self, draw_id: str) -> DrawCommitted:
        """What was committed before the seed; `Conflict` before the commitment."""
        async with self.db.pool.acquire() as conn:
            d = await store.get_draw(conn, draw_id)
            if d.commitment_sha256 is None or d.committed_at is None:
                raise Conflict(f"draw {draw_id} is not committed yet", code="not_committed")
            extra = await store.draw_extra(conn, draw_id)
            rows = await store.strata(conn, draw_id)
        return DrawCommitted(
            draw_id=d.draw_id,
            plan_id=d.plan_id,
            rules_version=extra.rules_version,
            snapshot_id=extra.snapshot_id or "",
            commitment_sha256=d.commitment_sha256,
            strata=[
                CommittedStratum(
                    stratum_id=x.stratum_id,
                    n=x.n,
                    bp=x.bp,
                    k=x.k,
                    candidates_sha256=x.candidates_sha256,
                )
                for x in rows
            ],
            committed_at=d.committed_at,
        )

    async def record(self, draw_id: str) -> DrawRecord:
        """The public record (spec `spotcheck-draw/1`); only once the seed is known."""
        async with self.db.pool.acquire() as conn:
            return await record_in(conn, draw_id)

    async def candidate_lists(self, draw_id: str) -> list[dict[str, Any]]:
        """The frozen lists of a draw: stratum, n, hash and where to fetch each."""
        async with self.db.pool.acquire() as conn:
            await store.get_draw(conn, draw_id)
            rows = await store.strata(conn, draw_id)
        return [
            {
                "stratum_id": x.stratum_id,
                "n": x.n,
                "candidates_sha256": x.candidates_sha256,
                "url": f"/draws/{draw_id}/candidates/{x.stratum_id}.txt",
            }
            for x in rows
        ]

    async def candidate_list(self, draw_id: str, stratum_id: str) -> bytes:
        """One frozen list exactly as committed: one USCC per line."""
        spec.validate_stratum_id(stratum_id)
        async with self.db.pool.acquire() as conn:
            return await store.candidate_list(conn, draw_id, stratum_id)

    async def tasks(self, draw_id: str, *, offset: int, limit: int) -> list[dict[str, Any]]:
        """A page of a draw's tasks in task order with state and progress (offset and limit
        clamped to a page of at most `TASK_PAGE_MAX`)."""
        async with self.db.pool.acquire() as conn:
            await store.get_draw(conn, draw_id)
            rows = await store.tasks(
                conn, draw_id, offset=max(0, offset), limit=min(max(1, limit), TASK_PAGE_MAX)
            )
        return [
            {"task": r.task, "state": r.state, "merged_into": r.merged_into, "progress": r.progress}
            for r in rows
        ]

    async def restaffings(self, draw_id: str) -> list[TaskRestaffed]:
        """Every restaffing of a draw's tasks (public: the inputs re-derive each pick)."""
        async with self.db.pool.acquire() as conn:
            await store.get_draw(conn, draw_id)
            return await store.restaffings(conn, draw_id)

    async def tickets(self, draw_id: str, uscc: str) -> TicketReply:
        """A company's ticket in each stratum it was a candidate of, with the cut-offs."""
        async with self.db.pool.acquire() as conn:
            d = await store.get_draw(conn, draw_id)
            ids = await store.strata_of_uscc(conn, draw_id, uscc)
            rows = {r.stratum_id: r for r in await store.strata(conn, draw_id)}
        out = []
        if d.seed is not None:
            for sid in ids:
                r = rows[sid]
                out.append(
                    StratumTicket(
                        stratum_id=sid,
                        ticket=spec.ticket(d.seed, sid, uscc),
                        cutoff_ticket=r.cutoff_ticket,
                        selected=uscc in (r.selected or ()),
                    )
                )
        return TicketReply(draw_id=draw_id, uscc=uscc, seed=d.seed, strata=out)

    async def verify(self, draw_id: str) -> VerifyReply:
        """Re-derive hashes, selection and commitment from the stored lists."""
        record = (await self.record(draw_id)).model_dump(mode="json", exclude_none=True)
        async with self.db.pool.acquire() as conn:
            lists = {
                r.stratum_id: await store.candidate_list(conn, draw_id, r.stratum_id)
                for r in await store.strata(conn, draw_id)
            }
        diff = first_difference(record, lambda sid: lists[sid])
        return VerifyReply(draw_id=draw_id, ok=diff is None, difference=diff)

    async def triggered_task(self, task_id: str, *, officer: bool = False) -> TriggeredTask:
        """One triggered task (public; the evidence reference only for `officer`)."""
        async with self.db.pool.acquire() as conn:
            row = await store.get_opening(conn, task_id)
        if row is None:
            raise NotFound(f"no triggered task {task_id}", code="task_not_found")
        return triggered_view(row, officer=officer)

    async def triggered_tasks(self, *, offset: int, limit: int) -> list[TriggeredTask]:
        """Triggered tasks, newest first (public: no evidence references)."""
        async with self.db.pool.acquire() as conn:
            rows = await store.list_openings(conn, offset=offset, limit=limit)
        return [triggered_view(r, officer=False) for r in rows]
