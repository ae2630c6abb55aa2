"""NATS subscriptions of the planner service (thin: parse, call the domain, ack after commit)."""

from __future__ import annotations

from services.kit.service import ServiceContext


async def register(ctx: ServiceContext) -> None:
    """Subscribe the planner service's consumers and rpc verbs (ping is answered by the kit)."""
