"""After the seed: select per stratum, make tasks, staff them, store, publish.

Selection reads the draw's own immutable copy of the frozen lists. Inspectors and entity names
come from the registry (`rpc.inspectors`, `rpc.entities`); loads, recusals declared on tasks and
the last team of each entity come from the draw's own tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from contracts import subjects
from contracts.draw import DrawCompleted
from contracts.registry import (
    EntitiesReply,
    EntitiesRequest,
    EntityRecord,
    InspectorRecord,
    InspectorsReply,
    InspectorsRequest,
)
from services.draw import store
from services.draw.domain import machine, spec, staffing, tasks
from services.draw.domain.machine import DrawState
from services.draw.gcpause import paused_gc
from services.draw.queries import record_in
from services.kit.bus import Bus
from services.kit.envelope import event_id
from services.kit.errors import Conflict
from services.kit.service import ServiceContext

log = logging.getLogger("spotcheck.draw")


async def entities_of(bus: Bus, usccs: Sequence[str]) -> dict[str, EntityRecord]:
    """The registry's records of these entities (`rpc.registry.entities`), by USCC."""
    subject = subjects.rpc("registry", "entities")
    chunks = [list(usccs[i : i + 1000]) for i in range(0, len(usccs), 1000)]
    out: dict[str, EntityRecord] = {}
    for i in range(0, len(chunks), 8):
        replies = await asyncio.gather(
            *(
                bus.request(subject, EntitiesRequest(usccs=c), EntitiesReply)
                for c in chunks[i : i + 8]
            )
        )
        for r in replies:
            out.update({e.uscc: e for e in r.entities})
    return out


async def roster_of(bus: Bus, departments: list[str]) -> list[InspectorRecord]:
    """The registry's inspectors of these departments (`rpc.registry.inspectors`), all pages."""
    subject = subjects.rpc("registry", "inspectors")
    out: list[InspectorRecord] = []
    offset: int | None = 0
    while offset is not None:
        req = InspectorsRequest(departments=departments, offset=offset, limit=1000)
        reply = await bus.request(subject, req, InspectorsReply)
        out.extend(reply.inspectors)
        offset = reply.next_offset
    return out


class Selection:
    """Selection and teams of a seeded draw."""

    def __init__(self, *, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def roster(self, departments: list[str]) -> list[InspectorRecord]:
        """The registry's current roster of these departments (re-staffing asks it too)."""
        return await roster_of(self.ctx.bus, departments)

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
                blob = await store.candidate_list(conn, draw_id, r.stratum_id)
                lines = blob.split(b"\n")[:-1] if blob else []
                picked = spec.select_lines(seed, r.stratum_id, lines, r.k)
                chosen[r.stratum_id] = (
                    [u for _, u in picked],
                    picked[-1][0] if picked else None,
                )
                rs = by_id[r.stratum_id]
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
            with paused_gc():
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
        entities = await entities_of(self.ctx.bus, usccs_all)
        departments = sorted({dep for t in drafts for dep in t.departments})
        roster = await roster_of(self.ctx.bus, departments)
        with paused_gc():
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
            if d.state is DrawState.COMPLETED:
                # Another copy (a resume, or a copy restarting) finished this draw while we
                # computed: same seed and stored lists, same result; nothing more to store.
                return
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
                record=await record_in(conn, draw_id),
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
            # Each body is the JSON of its `TaskAssigned`, byte for byte (domain/staffing.py):
            # written once, as the task's row and as its event.
            await self.ctx.outbox.add_many(
                conn, [(subject, body, eid) for eid, subject, body in events]
            )
