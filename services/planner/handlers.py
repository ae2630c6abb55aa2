"""NATS subscriptions of the planner service (thin: parse, call one command, ack after commit)."""

from __future__ import annotations

from contracts import subjects
from contracts.planner import (
    ItemsReply,
    ItemsRequest,
    PlanFiling,
    PlanFilingAck,
    PlanFilingRequest,
    RulesActivated,
)
from services.kit.bus import Incoming
from services.kit.service import ServiceContext
from services.planner.commands import PlannerCommands
from services.planner.filings import PlanFilings
from services.planner.queries import PlannerQueries


async def register(
    ctx: ServiceContext,
    *,
    commands: PlannerCommands,
    queries: PlannerQueries,
    filings: PlanFilings,
) -> None:
    """Subscribe the planner service's consumers and rpc verbs (ping is answered by the kit).

    `rules.activated` is followed by every copy (not a shared durable consumer, which would
    reach one copy only): each compiles the new active version at once. A copy that misses
    the event still uses the new version on its next request, which reads the active version
    from PostgreSQL first.
    """

    async def on_activated(msg: Incoming) -> None:
        await commands.warm(msg.parse(RulesActivated).version)

    await ctx.bus.follow(
        stream=subjects.stream_name("planner"),
        subject=subjects.event("planner", "rules.activated"),
        handler=on_activated,
    )

    async def items(req: ItemsRequest) -> ItemsReply:
        # The draw checks a triggered task's items against the active catalogue through this.
        return await queries.items_by_code(req.codes)

    await ctx.bus.serve_rpc(
        subjects.rpc("planner", "items"), items, request_model=ItemsRequest, queue="planner"
    )

    async def filing(req: PlanFilingRequest) -> PlanFiling:
        # The 监督平台's receipt of a plan, relayed by its adapter (the same as the HTTP route).
        ack = PlanFilingAck.model_validate(req.model_dump(include=set(PlanFilingAck.model_fields)))
        return await filings.acknowledge(req.plan_id, ack, actor=req.recorded_by)

    await ctx.bus.serve_rpc(
        subjects.rpc("planner", "filing"), filing, request_model=PlanFilingRequest, queue="planner"
    )
