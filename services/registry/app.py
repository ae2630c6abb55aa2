"""Wiring of the registry service: the one place that builds its objects."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from contracts import subjects
from services.kit.service import ServiceContext, ServiceSpec
from services.registry import api, handlers
from services.registry.config import RegistrySettings
from services.registry.importer import Importer


def wire(ctx: ServiceContext, settings: RegistrySettings | None = None) -> None:
    """Build the registry's own objects into `ctx.parts` (also used by tests and the bench)."""
    registry_settings = settings or RegistrySettings()
    vocab = registry_settings.vocabulary()
    ctx.parts["registry_settings"] = registry_settings
    ctx.parts["vocab"] = vocab
    ctx.parts["importer"] = Importer(
        db=ctx.db, audit=ctx.audit, vocab=vocab, workers=registry_settings.import_workers
    )


async def _start(ctx: ServiceContext) -> None:
    await handlers.register(ctx)
    # in the background: the service answers meanwhile, and a first chunk waits if it must
    ctx.parts["importer_warm_up"] = asyncio.create_task(ctx.parts["importer"].start_workers())


def spec() -> ServiceSpec:
    """How the registry service is put together."""

    def routers(ctx: ServiceContext) -> list:  # type: ignore[type-arg]
        return [api.router(ctx)]

    async def start(ctx: ServiceContext) -> None:
        wire(ctx)
        await _start(ctx)

    async def stop(ctx: ServiceContext) -> None:
        warm_up = ctx.parts.get("importer_warm_up")
        if warm_up is not None:
            warm_up.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await warm_up
        importer = ctx.parts.get("importer")
        if importer is not None:
            importer.close()

    return ServiceSpec(
        name="registry",
        migrations=Path(__file__).parent / "migrations",
        routers=routers,
        start=start,
        stop=stop,
        # The credit-risk system's subjects, captured so that no push is lost while we are down.
        extra_streams=[
            (
                subjects.CREDIT_STREAM,
                [subjects.CREDIT_RISK_CLASS_UPDATED, subjects.CREDIT_RISK_CLASS_FULL],
            )
        ],
    )
