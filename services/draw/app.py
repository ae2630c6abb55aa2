"""Wiring of the draw service: the one place that builds its objects."""

from __future__ import annotations

import asyncio
from pathlib import Path

from contracts import subjects
from services.draw import api, handlers
from services.draw.ceremony import Ceremony
from services.draw.selection import Selector
from services.kit.service import ServiceContext, ServiceSpec


async def _start(ctx: ServiceContext) -> None:
    # Streams the consumers read may not exist yet if planner or publisher never started. The
    # same duplicate window as their owners give them, or each start would reset the other's.
    for svc in ("planner", "publisher"):
        await ctx.bus.ensure_stream(
            subjects.stream_name(svc),
            subjects.stream_subjects(svc),
            replicas=ctx.settings.stream_replicas,
            duplicate_window_s=ctx.settings.stream_duplicate_window_s,
        )
    selector = Selector(ctx=ctx)
    ceremony = Ceremony(ctx=ctx, selector=selector)
    ctx.parts["selector"] = selector
    ctx.parts["ceremony"] = ceremony
    await handlers.register(ctx)
    ctx.background.append(asyncio.create_task(ceremony.resume_all(), name="draw-resume"))


def spec() -> ServiceSpec:
    """How the draw service is put together."""
    return ServiceSpec(
        name="draw",
        migrations=Path(__file__).parent / "migrations",
        routers=lambda ctx: [api.router(ctx)],
        start=_start,
    )
