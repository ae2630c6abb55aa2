"""NATS subscriptions of the publisher service (thin: parse, call the domain, ack after commit)."""

from __future__ import annotations

from contracts import subjects
from contracts.draw import DrawCompleted, DrawSuperseded, TaskAssigned
from contracts.planner import PlanApproved, RulesActivated
from services.kit.bus import Incoming
from services.kit.service import ServiceContext
from services.publisher import store
from services.publisher.calendars import Calendars


async def register(ctx: ServiceContext, *, calendars: Calendars) -> None:
    """Keep our own copies of tasks, draws, approved plans and the holiday calendar of the
    active rule set (ping is answered by the kit)."""
    completed = subjects.event("draw", "completed")

    async def on_task(msg: Incoming) -> None:
        task = msg.parse(TaskAssigned)
        async with ctx.db.transaction() as conn:
            await store.upsert_task(conn, task)

    async def on_plan(msg: Incoming) -> None:
        plan = msg.parse(PlanApproved)
        async with ctx.db.transaction() as conn:
            await store.upsert_plan(conn, plan)

    ctx.bus.consume(
        stream=subjects.stream_name("draw"),
        durable="publisher-task-assigned",
        subjects=[subjects.event("draw", "task.assigned")],
        handler=on_task,
        batch=200,
    )

    async def on_draw(msg: Incoming) -> None:
        async with ctx.db.transaction() as conn:
            if msg.subject == completed:
                await store.upsert_draw_completed(conn, msg.parse(DrawCompleted))
            else:
                await store.mark_draw_superseded(conn, msg.parse(DrawSuperseded))

    ctx.bus.consume(
        stream=subjects.stream_name("draw"),
        durable="publisher-draws",
        subjects=[completed, subjects.event("draw", "superseded")],
        handler=on_draw,
    )
    ctx.bus.consume(
        stream=subjects.stream_name("planner"),
        durable="publisher-plan-approved",
        subjects=[subjects.event("planner", "plan.approved")],
        handler=on_plan,
    )

    async def on_rules(msg: Incoming) -> None:
        # The calendar, the deadlines it changes and their event commit together (acked after).
        await calendars.activate(msg.parse(RulesActivated), cause=msg.event_id)

    ctx.bus.consume(
        stream=subjects.stream_name("planner"),
        durable="publisher-rules-activated",
        subjects=[subjects.event("planner", "rules.activated")],
        handler=on_rules,
    )
