"""Wiring of the draw service: the one place that builds its objects."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter

from services.draw import api, handlers
from services.draw.commands import (
    Ceremony,
    DrawCommands,
    Freezer,
    Intake,
    Restaffing,
    Selection,
    Triggered,
)
from services.draw.queries import DrawQueries
from services.kit.service import ServiceContext, ServiceSpec


@dataclass
class DrawApp:
    """The draw's own objects: its commands (state changes) and queries (reads)."""

    commands: DrawCommands
    queries: DrawQueries


def build(ctx: ServiceContext) -> DrawApp:
    """Build the draw's objects, each handed its dependencies by keyword."""
    queries = DrawQueries(db=ctx.db)
    freezer = Freezer(ctx=ctx)
    selection = Selection(ctx=ctx)
    ceremony = Ceremony(ctx=ctx, freezer=freezer, selection=selection, queries=queries)
    commands = DrawCommands(
        ceremony=ceremony,
        freezer=freezer,
        selection=selection,
        intake=Intake(ctx=ctx),
        restaffing=Restaffing(ctx=ctx, selection=selection),
        triggered=Triggered(ctx=ctx),
    )
    return DrawApp(commands=commands, queries=queries)


async def _start(ctx: ServiceContext, app: DrawApp) -> None:
    await handlers.register(ctx, intake=app.commands.intake)
    ctx.background.append(
        asyncio.create_task(app.commands.ceremony.resume_all(), name="draw-resume")
    )


def _routers(ctx: ServiceContext, app: DrawApp) -> list[APIRouter]:
    return [
        api.router(
            ceremony=app.commands.ceremony,
            restaffing=app.commands.restaffing,
            triggered=app.commands.triggered,
            queries=app.queries,
        )
    ]


def spec() -> ServiceSpec[DrawApp]:
    """How the draw service is put together."""
    return ServiceSpec(
        name="draw",
        migrations=Path(__file__).parent / "migrations",
        build=build,
        routers=_routers,
        start=_start,
        reads_streams_of=("planner", "publisher"),
    )
