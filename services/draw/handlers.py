"""NATS subscriptions of the draw service (thin: parse, call the domain, ack after commit)."""

from __future__ import annotations

from datetime import datetime

from contracts import subjects
from contracts.planner import PlanApproved
from contracts.publisher import ResultAccepted, TaskStarted
from services.draw import store
from services.draw.domain import tasks
from services.draw.domain.tasks import Progress
from services.kit.bus import Incoming
from services.kit.errors import NotFound
from services.kit.service import ServiceContext


async def register(ctx: ServiceContext) -> None:
    """Keep approved plans (a draw officer starts their ceremony: `spotcheck draw start`), and
    follow each task's progress from the publisher's events."""

    async def on_plan(msg: Incoming) -> None:
        plan = msg.parse(PlanApproved)
        async with ctx.db.transaction() as conn:
            await store.save_plan(conn, plan)
            await ctx.audit.append(
                conn,
                actor="planner",
                action="plan.received",
                subject=plan.plan_id,
                data={"rules_version": plan.rules_version, "strata": len(plan.strata)},
            )

    ctx.bus.consume(
        stream=subjects.stream_name("planner"),
        durable="draw-plan-approved",
        subjects=[subjects.event("planner", "plan.approved")],
        handler=on_plan,
    )

    started = subjects.event("publisher", "task.started")
    accepted = subjects.event("publisher", "result.accepted")

    async def on_progress(msg: Incoming) -> None:
        task_id: str
        at: datetime
        if msg.subject == started:
            s = msg.parse(TaskStarted)
            task_id, reported, at = s.task_id, Progress.IN_PROGRESS, s.started_at
        else:
            a = msg.parse(ResultAccepted)
            task_id, reported, at = a.task_id, Progress.RESULT_RECORDED, a.accepted_at
        async with ctx.db.transaction() as conn:
            current = await store.task_progress(conn, task_id, lock=True)
            if current is None:
                # The publisher only knows tasks the draw assigned: this can never apply.
                raise NotFound(f"{msg.subject} for task {task_id}, which the draw does not have")
            new = tasks.advance(current, reported)
            if new is current:
                return  # a late or repeated report: nothing changes
            await store.set_progress(conn, task_id, new, at=at)
            await ctx.audit.append(
                conn,
                actor="publisher",
                action="task.progress",
                subject=task_id,
                data={"from": current.value, "to": new.value, "event_id": msg.event_id},
            )

    ctx.bus.consume(
        stream=subjects.stream_name("publisher"),
        durable="draw-task-progress",
        subjects=[started, accepted],
        handler=on_progress,
    )
