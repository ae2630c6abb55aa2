"""NATS subscriptions of the draw service (thin: parse, call the domain, ack after commit)."""

from __future__ import annotations

from contracts import subjects
from contracts.planner import PlanApproved
from services.draw import store
from services.kit.bus import Incoming
from services.kit.service import ServiceContext


async def register(ctx: ServiceContext) -> None:
    """Keep approved plans: a draw officer starts their ceremony (`spotcheck draw start`)."""

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
