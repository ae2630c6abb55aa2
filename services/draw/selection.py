"""After the seed: select per stratum, make tasks, staff them, store, publish; and read back.

Selection reads the draw's own immutable copy of the frozen lists. Inspectors and entity names
come from the registry (`rpc.inspectors`, `rpc.entities`); loads, recusals declared on tasks and
the last team of each entity come from the draw's own tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from contracts import subjects
from contracts.draw import (
    DrawCompleted,
    DrawRecord,
    RecordStratum,
    RedrawFacts,
    StratumTicket,
    TicketReply,
    VerifyReply,
)
from contracts.registry import (
    EntitiesReply,
    EntitiesRequest,
    EntityRecord,
    InspectorRecord,
    InspectorsReply,
    InspectorsRequest,
)
from services.draw import staffing, store
from services.draw.domain import machine, spec, tasks
from services.draw.domain.machine import DrawState
from services.draw.domain.verify import first_difference
from services.kit.envelope import event_id
from services.kit.errors import Conflict
from services.kit.service import ServiceContext

log = logging.getLogger("spotcheck.draw")


class Selector:
    """Selection, teams and the public read side of a draw."""

    def __init__(self, *, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # -- registry ------------------------------------------------------------------------------

    async def _entities(self, usccs: Sequence[str]) -> dict[str, EntityRecord]:
        subject = subjects.rpc("registry", "entities")
        chunks = [list(usccs[i : i + 1000]) for i in range(0, len(usccs), 1000)]
        out: dict[str, EntityRecord] = {}
        for i in range(0, len(chunks), 8):
            replies = await asyncio.gather(
                *(
                    self.ctx.bus.request(subject, EntitiesRequest(usccs=c), EntitiesReply)
                    for c in chunks[i : i + 8]
                )
            )
            for r in replies:
                out.update({e.uscc: e for e in r.entities})
        return out

    async def _inspectors(self, departments: list[str]) -> list[InspectorRecord]:
        subject = subjects.rpc("registry", "inspectors")
        out: list[InspectorRecord] = []
        offset: int | None = 0
        while offset is not None:
            req = InspectorsRequest(departments=departments, offset=offset, limit=1000)
            reply = await self.ctx.bus.request(subject, req, InspectorsReply)
            out.extend(reply.inspectors)
            offset = reply.next_offset
        return out

    # -- run -----------------------------------------------------------------------------------

    async def run(self, draw_id: str) -> None:
        """Select, build and staff tasks, store them, mark the draw completed, publish."""
        async with self.ctx.db.pool.acquire() as conn:
            d = await store.get_draw(conn, draw_id)
            if d.state is not DrawState.SEEDED or d.seed is None:
                raise Conflict(f"draw {draw_id} is {d.state}, not seeded", code="wrong_state")
            plan = await store.get_plan(conn, d.plan_id)
            rows = await store.strata(conn, draw_id)
            seed = d.seed
            by_id = {s.stratum_id: s for s in plan.strata}
            selections: list[tasks.StratumSelection] = []
            chosen: dict[str, tuple[list[str], str | None]] = {}
            for r in rows:
                blob = await store.candidate_list(conn, draw_id, r["stratum_id"])
                lines = blob.split(b"\n")[:-1] if blob else []
                picked = spec.select_lines(seed, r["stratum_id"], lines, r["k"])
                chosen[r["stratum_id"]] = (
                    [u for _, u in picked],
                    picked[-1][0] if picked else None,
                )
                rs = by_id[r["stratum_id"]]
                selections.append(
                    tasks.StratumSelection(
                        stratum_id=rs.stratum_id,
                        selected=tuple(picked),
                        item_codes=tuple(rs.item_codes),
                        departments=tuple(rs.departments),
                        methods=tuple(rs.methods),
                        batches=rs.batches if rs.batches > 1 else plan.batches,
                    )
                )
            drafts = tasks.build_tasks(
                draw_id=draw_id,
                plan_id=plan.plan_id,
                selections=selections,
                period_start=plan.period_start,
                period_end=plan.period_end,
            )
            usccs_all = [t.uscc for t in drafts]
            opened = await store.open_tasks(
                conn, usccs_all, plan_id=plan.plan_id, start=plan.period_start, end=plan.period_end
            )
            drafts, merged = tasks.merge_visits(drafts, opened)
            foreign = await store.task_bodies(conn, list(merged))
            loads = await store.loads(conn, since=plan.period_start)
            last = await store.last_inspectors(conn, usccs_all)
        entities = await self._entities(usccs_all)
        departments = sorted({dep for t in drafts for dep in t.departments})
        roster = await self._inspectors(departments)
        staffed = staffing.staff(
            seed=seed,
            draw_id=draw_id,
            plan=plan,
            drafts=drafts,
            entities=entities,
            roster=roster,
            loads=loads,
            last=last,
            foreign=foreign,
        )
        task_rows, members, events = staffed.rows, staffed.members, staffed.events
        async with self.ctx.db.transaction() as conn:
            d = await store.get_draw(conn, draw_id, lock=True)
            d = machine.mark_completed(machine.mark_selected(d))
            for sid, (sel, cutoff) in chosen.items():
                await store.set_selection(conn, draw_id, sid, sel, cutoff)
            await store.insert_tasks(conn, task_rows, members)
            await store.mark_merged(conn, merged)
            completed_at = datetime.now(UTC)
            await store.update_draw(conn, d, completed_at=completed_at)
            await self.ctx.audit.append(
                conn,
                actor="draw",
                action="draw.completed",
                subject=draw_id,
                data={
                    "tasks": len(task_rows),
                    "unstaffed": staffed.unstaffed,
                    "merged": merged,
                },
            )
            # The record first, then one task.assigned per task, all in this transaction.
            completed = DrawCompleted(
                record=await self._record(conn, draw_id),
                tasks=len(task_rows),
                unstaffed=staffed.unstaffed,
                completed_at=completed_at,
            )
            await self.ctx.outbox.add(
                conn,
                subjects.event("draw", "completed"),
                completed,
                event_id=event_id("completed", draw_id),
            )
            await store.queue_task_events(conn, events)

    # -- read side ---------------------------------------------------------------------------------

    async def record(self, draw_id: str) -> DrawRecord:
        """The public record (spec `spotcheck-draw/1`); only once the seed is known."""
        async with self.ctx.db.pool.acquire() as conn:
            return await self._record(conn, draw_id)

    async def _record(self, conn: Any, draw_id: str) -> DrawRecord:
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
            rules_version=extra["rules_version"],
            seed=d.seed,
            seed_source=d.seed_source.value if d.seed_source else "",
            commitment_sha256=d.commitment_sha256,
            strata=[
                RecordStratum(
                    stratum_id=r["stratum_id"],
                    n=r["n"],
                    bp=r["bp"],
                    k=r["k"],
                    candidates_sha256=r["candidates_sha256"],
                    selected=list(r["selected"] or []),
                    count=r["count"],
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

    async def verify(self, draw_id: str) -> VerifyReply:
        """Re-derive the record from the stored lists."""
        record = (await self.record(draw_id)).model_dump(mode="json", exclude_none=True)
        async with self.ctx.db.pool.acquire() as conn:
            lists = {
                r["stratum_id"]: await store.candidate_list(conn, draw_id, r["stratum_id"])
                for r in await store.strata(conn, draw_id)
            }
        diff = first_difference(record, lambda sid: lists[sid])
        return VerifyReply(draw_id=draw_id, ok=diff is None, difference=diff)

    async def tickets(self, draw_id: str, uscc: str) -> TicketReply:
        """A company's ticket in each stratum it was a candidate of, with the cut-offs."""
        async with self.ctx.db.pool.acquire() as conn:
            d = await store.get_draw(conn, draw_id)
            ids = await store.strata_of_uscc(conn, draw_id, uscc)
            rows = {r["stratum_id"]: r for r in await store.strata(conn, draw_id)}
        out = []
        if d.seed is not None:
            for sid in ids:
                r = rows[sid]
                out.append(
                    StratumTicket(
                        stratum_id=sid,
                        ticket=spec.ticket(d.seed, sid, uscc),
                        cutoff_ticket=r["cutoff_ticket"],
                        selected=uscc in (r["selected"] or []),
                    )
                )
        return TicketReply(draw_id=draw_id, uscc=uscc, seed=d.seed, strata=out)
