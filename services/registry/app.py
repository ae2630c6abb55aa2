"""Wiring of the registry service: the one place that builds its objects."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from contracts import subjects
from services.kit.service import ServiceContext, ServiceSpec
from services.registry import api, handlers
from services.registry.commands.directory import Directory
from services.registry.commands.freeze import Freezer
from services.registry.commands.imports import Importer
from services.registry.commands.summaries import DirectorySummaries
from services.registry.domain.rows import Vocabulary
from services.registry.queries import Queries
from services.registry.settings import RegistrySettings


@dataclass
class RegistryApp:
    """The registry's own objects: its settings, its use cases and its reads."""

    settings: RegistrySettings
    vocab: Vocabulary
    importer: Importer
    summaries: DirectorySummaries
    directory: Directory
    freezer: Freezer
    queries: Queries
    warm_up: asyncio.Task[Any] | None = field(default=None)


def build(ctx: ServiceContext, settings: RegistrySettings | None = None) -> RegistryApp:
    """Build the registry's objects, each handed its dependencies by keyword (also used by
    tests and the bench)."""
    mine = settings or RegistrySettings()
    vocab = mine.vocabulary()
    summaries = DirectorySummaries(
        db=ctx.db, audit=ctx.audit, outbox=ctx.outbox, check_s=mine.summary_check_s
    )
    return RegistryApp(
        settings=mine,
        vocab=vocab,
        importer=Importer(
            db=ctx.db,
            audit=ctx.audit,
            vocab=vocab,
            workers=mine.import_workers,
            bus=ctx.bus,
            summaries=summaries,
        ),
        summaries=summaries,
        directory=Directory(db=ctx.db, audit=ctx.audit, vocab=vocab),
        freezer=Freezer(
            db=ctx.db, bus=ctx.bus, audit=ctx.audit, replicas=ctx.settings.stream_replicas
        ),
        queries=Queries(db=ctx.db, vocab=vocab),
    )


async def _start(ctx: ServiceContext, app: RegistryApp) -> None:
    await handlers.register(ctx, directory=app.directory, freezer=app.freezer, queries=app.queries)
    # in the background: the service answers meanwhile, and a first chunk waits if it must
    app.warm_up = asyncio.create_task(app.importer.start_workers())
    ctx.background.append(asyncio.create_task(app.summaries.run(), name="registry-summaries"))


async def _stop(ctx: ServiceContext, app: RegistryApp) -> None:
    if app.warm_up is not None:
        app.warm_up.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await app.warm_up
    app.importer.close()


def _routers(ctx: ServiceContext, app: RegistryApp) -> list[APIRouter]:
    return [api.router(importer=app.importer, queries=app.queries)]


def spec() -> ServiceSpec[RegistryApp]:
    """How the registry service is put together."""
    return ServiceSpec(
        name="registry",
        migrations=Path(__file__).parent / "migrations",
        build=build,
        routers=_routers,
        start=_start,
        stop=_stop,
        # The credit-risk system's subjects, captured so that no push is lost while we are down.
        extra_streams=[
            (
                subjects.CREDIT_STREAM,
                [subjects.CREDIT_RISK_CLASS_UPDATED, subjects.CREDIT_RISK_CLASS_FULL],
            )
        ],
    )
