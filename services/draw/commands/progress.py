"""Commands from other services' events: an approved plan arrives; a task's progress moves."""

from __future__ import annotations

from datetime import datetime

from contracts.planner import PlanApproved
from services.draw import store
from services.draw.domain import tasks
from services.draw.domain.tasks import Progress
from services.kit.errors import NotFound
from services.kit.service import ServiceContext


class Intake:
    """Keep approved plans and follow each task's progress as the publisher reports it."""

    def __init__(self, *, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def receive_plan(self, plan: PlanApproved) -> None:
        """Keep an approved plan (a draw officer starts its ceremony: `spotcheck draw start`)."""
        async with self.ctx.db.transaction() as conn:
            await store.save_plan(conn, plan)
            await self.ctx.audit.append(
                conn,
                actor="planner",
                action="plan.received",
                subject=plan.plan_id,
                data={"rules_version": plan.rules_version, "strata": len(plan.strata)},
            )

    async def report_progress(
        self, task_id: str, reported: Progress, *, at: datetime, subject: str, event_id: str
    ) -> None:
        """Move a task's progress forward; a late or repeated report changes nothing."""
        async with self.ctx.db.transaction() as conn:
            current = await store.task_progress(conn, task_id, lock=True)
            if current is None:
                # The publisher only knows tasks the draw assigned: this can never apply.
                raise NotFound(f"{subject} for task {task_id}, which the draw does not have")
            new = tasks.advance(current, reported)
            if new is current:
                return
            await store.set_progress(conn, task_id, new, at=at)
            await self.ctx.audit.append(
                conn,
                actor="publisher",
                action="task.progress",
                subject=task_id,
                data={"from": current.value, "to": new.value, "event_id": event_id},
            )
