"""NATS subscriptions of the draw service (thin: parse, call one command, ack after commit)."""

from __future__ import annotations

from contracts import subjects
from contracts.planner import PlanApproved
from contracts.publisher import ResultAccepted, TaskCancelled, TaskStarted
from services.draw.commands import Intake
from services.draw.domain.tasks import Progress
from services.kit.bus import Incoming
from services.kit.service import ServiceContext


async def register(ctx: ServiceContext, *, intake: Intake) -> None:
    """Keep approved plans (a draw officer starts their ceremony: `spotcheck draw start`), and
    follow each task's progress from the publisher's events."""

    async def on_plan(msg: Incoming) -> None:
        await intake.receive_plan(msg.parse(PlanApproved))

    ctx.bus.consume(
        stream=subjects.stream_name("planner"),
        durable="draw-plan-approved",
        subjects=[subjects.event("planner", "plan.approved")],
        handler=on_plan,
    )

    started = subjects.event("publisher", "task.started")
    accepted = subjects.event("publisher", "result.accepted")

    async def on_progress(msg: Incoming) -> None:
        if msg.subject == started:
            s = msg.parse(TaskStarted)
            task_id, reported, at = s.task_id, Progress.IN_PROGRESS, s.started_at
        else:
            a = msg.parse(ResultAccepted)
            task_id, reported, at = a.task_id, Progress.RESULT_RECORDED, a.accepted_at
        await intake.report_progress(
            task_id, reported, at=at, subject=msg.subject, event_id=msg.event_id
        )

    ctx.bus.consume(
        stream=subjects.stream_name("publisher"),
        durable="draw-task-progress",
        subjects=[started, accepted],
        handler=on_progress,
    )

    async def on_cancelled(msg: Incoming) -> None:
        c = msg.parse(TaskCancelled)
        await intake.report_progress(
            c.task_id,
            Progress.CANCELLED,
            at=c.cancelled_at,
            subject=msg.subject,
            event_id=msg.event_id,
        )

    # A consumer of its own: an existing durable keeps the subjects it was made with, so a
    # new subject on `draw-task-progress` would never reach an upgraded deployment.
    ctx.bus.consume(
        stream=subjects.stream_name("publisher"),
        durable="draw-task-cancelled",
        subjects=[subjects.event("publisher", "task.cancelled")],
        handler=on_cancelled,
    )
