"""Wiring of the planner service: the one place that builds its objects."""

from __future__ import annotations

from pathlib import Path

from services.kit.service import ServiceContext, ServiceSpec
from services.planner import api, handlers


async def _start(ctx: ServiceContext) -> None:
    await handlers.register(ctx)


def spec() -> ServiceSpec:
    """How the planner service is put together."""
    return ServiceSpec(
        name="planner",
        migrations=Path(__file__).parent / "migrations",
        routers=lambda ctx: [api.router(ctx)],
        start=_start,
    )
