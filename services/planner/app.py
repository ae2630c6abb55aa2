"""Wiring of the planner service: the one place that builds its objects."""

from __future__ import annotations

from pathlib import Path

from services.kit.service import ServiceContext, ServiceSpec
from services.planner import api, handlers
from services.planner.service import Planner
from services.planner.store import PlannerStore


async def _start(ctx: ServiceContext) -> None:
    planner = Planner(ctx=ctx, store=PlannerStore(db=ctx.db))
    ctx.parts["planner"] = planner
    await planner.restore()
    await handlers.register(ctx)


async def _stop(ctx: ServiceContext) -> None:
    planner = ctx.parts.get("planner")
    if planner is not None:
        await planner.close()


def spec() -> ServiceSpec:
    """How the planner service is put together."""
    return ServiceSpec(
        name="planner",
        migrations=Path(__file__).parent / "migrations",
        routers=lambda ctx: [api.router(ctx)],
        start=_start,
        stop=_stop,
    )
