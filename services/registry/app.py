"""Wiring of the registry service: the one place that builds its objects."""

from __future__ import annotations

from pathlib import Path

from services.kit.service import ServiceContext, ServiceSpec
from services.registry import api, handlers


async def _start(ctx: ServiceContext) -> None:
    await handlers.register(ctx)


def spec() -> ServiceSpec:
    """How the registry service is put together."""
    return ServiceSpec(
        name="registry",
        migrations=Path(__file__).parent / "migrations",
        routers=lambda ctx: [api.router(ctx)],
        start=_start,
    )
