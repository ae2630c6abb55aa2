"""Triggered inspections (触发检查): open one on a trigger, approve it, draw its team.

Opening asks the planner which items the active catalogue has (`rpc.planner.items`) and the
registry for the entity; the decisions are `domain/triggered.py`'s. The seed (a nonce from the
operating system's random source) is drawn once when the task opens and only its SHA-256 is
published then; the approval, by the second officer the opener named, draws the team with it and
publishes `task.assigned` (kind `triggered`). Each step is one transaction with its audit entry
and its event in the outbox.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from contracts import subjects
from contracts.planner import ItemsReply, ItemsRequest, PlanItem
from contracts.registry import EntityRecord
from contracts.triggered import TriggeredOpen, TriggeredOpened, TriggeredState, TriggeredTask
from services.draw import store
from services.draw.commands.selection import entities_of, roster_of
from services.draw.domain import triggered
from services.draw.queries import triggered_view
from services.draw.store.tasks import dumps
from services.draw.store.triggered import TriggeredRow
from services.kit.envelope import event_id
from services.kit.errors import NotFound
from services.kit.service import ServiceContext


def _now() -> datetime:
    return datetime.now(UTC)


class Triggered:
    """Open, approve and staff triggered tasks."""

    def __init__(self, *, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def open(self, req: TriggeredOpen, *, by: str) -> TriggeredTask:
        """Check and store an opening; publish it with the seed's commitment."""
        catalogue = await self.ctx.bus.request(
            subjects.rpc("planner", "items"), ItemsRequest(codes=req.items), ItemsReply
        )
        entity = (await entities_of(self.ctx.bus, [req.uscc])).get(req.uscc)
        checked = triggered.check_opening(req, opened_by=by, entity=entity, catalogue=catalogue)
        assert entity is not None  # check_opening refuses a missing entity
        nonce = secrets.token_hex(32)
        row = TriggeredRow(
            task_id=f"TT-{uuid.uuid4().hex[:12]}",
            uscc=req.uscc,
            entity=entity.model_dump(mode="json"),
            trigger=req.trigger.value,
            evidence_ref=checked.evidence_ref,
            items=[i.model_dump(mode="json") for i in checked.items],
            departments=checked.departments,
            lead_department=checked.lead_department,
            methods=checked.methods,
            period_start=req.period_start,
            period_end=req.period_end,
            rules_version=catalogue.rules_version,
            opened_by=by,
            approver=req.approver.strip(),
            opened_at=_now(),
            nonce=nonce,
            nonce_sha256=triggered.nonce_commitment(nonce),
            state=TriggeredState.AWAITING_APPROVAL,
            approved_at=None,
            eligible=[],
            task=None,
        )
        async with self.ctx.db.transaction() as conn:
            await store.insert_opening(conn, row)
            await self.ctx.audit.append(
                conn,
                actor=by,
                action="draw.triggered.opened",
                subject=row.task_id,
                data={
                    "uscc": row.uscc,
                    "trigger": row.trigger,
                    "evidence_ref": row.evidence_ref,
                    "items": [i.code for i in checked.items],
                    "department": row.lead_department,
                    "approver": row.approver,
                    "nonce_sha256": row.nonce_sha256,
                },
            )
            await self.ctx.outbox.add(
                conn,
                subjects.event("draw", "triggered.opened"),
                TriggeredOpened(
                    task_id=row.task_id,
                    uscc=row.uscc,
                    entity_name=entity.name,
                    region_code=entity.region_code,
                    industry_code=entity.industry_code,
                    risk_class=entity.risk_class,
                    trigger=req.trigger,
                    evidence_ref=row.evidence_ref,
                    item_codes=[i.code for i in checked.items],
                    department=row.lead_department,
                    period_start=row.period_start,
                    period_end=row.period_end,
                    rules_version=row.rules_version,
                    opened_by=by,
                    approver=row.approver,
                    nonce_sha256=row.nonce_sha256,
                    opened_at=row.opened_at,
                ),
                event_id=event_id("triggered.opened", row.task_id),
            )
        return triggered_view(row, officer=True)

    async def approve(self, task_id: str, *, by: str) -> TriggeredTask:
        """The named approver approves: the team is drawn with the committed seed, stored and
        published as `task.assigned`."""
        async with self.ctx.db.pool.acquire() as conn:
            row = await store.get_opening(conn, task_id)
        if row is None:
            raise NotFound(f"no triggered task {task_id}", code="task_not_found")
        triggered.check_approval(row.state, approver=row.approver, by=by)
        entity = EntityRecord.model_validate(row.entity)
        roster = await roster_of(self.ctx.bus, list(row.departments))
        async with self.ctx.db.pool.acquire() as conn:
            loads = await store.loads(conn, since=row.period_start)
            last = (await store.last_inspectors(conn, [row.uscc])).get(row.uscc, frozenset())
        items = [PlanItem.model_validate(i) for i in row.items]
        drawn = triggered.draw_team(
            seed=row.nonce,
            task_id=task_id,
            uscc=row.uscc,
            region_code=entity.region_code,
            items=items,
            departments=row.departments,
            check_date=row.period_end,
            roster=roster,
            loads=loads,
            last=last,
        )
        body = triggered.task_body(
            task_id=task_id,
            entity=entity,
            trigger=row.trigger,
            items=items,
            departments=row.departments,
            lead_department=row.lead_department,
            methods=row.methods,
            period_start=row.period_start,
            period_end=row.period_end,
            team=drawn.team,
            roster={p.inspector_id: p for p in roster},
            unstaffed_reason=drawn.unstaffed_reason,
        )
        text = dumps(body)
        state = TriggeredState.ASSIGNED if drawn.team else TriggeredState.UNSTAFFED
        eligible = triggered.public_eligible(drawn.eligible)
        async with self.ctx.db.transaction() as conn:
            locked = await store.get_opening(conn, task_id, lock=True)
            assert locked is not None
            # A second approval racing this one finds the state changed.
            triggered.check_approval(locked.state, approver=locked.approver, by=by)
            at = _now()
            await store.approve_opening(conn, task_id, state=state, at=at, eligible=eligible)
            await store.insert_triggered_task(
                conn,
                task_id=task_id,
                uscc=row.uscc,
                trigger=row.trigger,
                period_start=row.period_start,
                period_end=row.period_end,
                body=body,
                expertise={i.code: sorted(i.expertise) for i in items},
                team=drawn.team,
                unstaffed_reason=drawn.unstaffed_reason,
            )
            await self.ctx.audit.append(
                conn,
                actor=by,
                action="draw.triggered.approved",
                subject=task_id,
                data={
                    "seed": row.nonce,
                    "team": list(drawn.team),
                    "eligible": len(eligible),
                    "unstaffed_reason": drawn.unstaffed_reason,
                },
            )
            await self.ctx.outbox.add_many(
                conn,
                [
                    (
                        subjects.event("draw", "task.assigned"),
                        text,
                        event_id("task.assigned", task_id),
                    )
                ],
            )
            done = await store.get_opening(conn, task_id)
        assert done is not None
        return triggered_view(done, officer=True)
