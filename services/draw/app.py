"""Wiring of the draw service: the one place that builds its objects."""

from __future__ import annotations

from pathlib import Path

from services.draw import api, handlers
from services.kit.service import ServiceContext, ServiceSpec


async def _start(ctx: ServiceContext) -> None:
    await handlers.register(ctx)


def spec() -> ServiceSpec:
    """How the draw service is put together."""
    return ServiceSpec(
        name="draw",
        migrations=Path(__file__).parent / "migrations",
        routers=lambda ctx: [api.router(ctx)],
        start=_start,
    )
