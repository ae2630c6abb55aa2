"""Wiring of the planner service: the one place that builds its objects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter

from services.kit.service import ServiceContext, ServiceSpec
from services.planner import api, handlers
from services.planner.service import Planner
from services.planner.store import PlannerStore


@dataclass
class PlannerApp:
    """The planner's own objects."""

    planner: Planner


def build(ctx: ServiceContext) -> PlannerApp:
    """Build the planner's objects, each handed its dependencies by keyword."""
    return PlannerApp(planner=Planner(ctx=ctx, store=PlannerStore(db=ctx.db)))


async def _start(ctx: ServiceContext, app: PlannerApp) -> None:
    await app.planner.restore()
    await handlers.register(ctx, planner=app.planner)


async def _stop(ctx: ServiceContext, app: PlannerApp) -> None:
    await app.planner.close()


def _routers(ctx: ServiceContext, app: PlannerApp) -> list[APIRouter]:
    return [api.router(ctx, planner=app.planner)]


def spec() -> ServiceSpec[PlannerApp]:
    """How the planner service is put together."""
    return ServiceSpec(
        name="planner",
        migrations=Path(__file__).parent / "migrations",
        build=build,
        routers=_routers,
        start=_start,
        stop=_stop,
    )
