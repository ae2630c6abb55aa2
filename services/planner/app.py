"""Wiring of the planner service: the one place that builds its objects.

`rules_dir` and `rpc_timeout_s` are the kit's settings; the planner's own (`SPOTCHECK_PLANNER_*`,
settings.py) say where 互联网+监管's catalogue export is polled.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter

from services.kit.service import ServiceContext, ServiceSpec
from services.planner import api, handlers
from services.planner.active import ActiveRules
from services.planner.catalogue_imports import CatalogueImports
from services.planner.catalogue_poll import CataloguePoller, load_export_mapping
from services.planner.catalogue_store import CatalogueStore
from services.planner.commands import PlannerCommands
from services.planner.filings import PlanFilings
from services.planner.joint import JointPlans
from services.planner.queries import PlannerQueries
from services.planner.settings import PlannerSettings, load_planner_settings
from services.planner.store import PlannerStore


@dataclass
class PlannerApp:
    """The planner's own objects."""

    rules: ActiveRules
    commands: PlannerCommands
    queries: PlannerQueries
    joint: JointPlans
    imports: CatalogueImports
    filings: PlanFilings
    poller: CataloguePoller | None
    """Polls 互联网+监管's catalogue export when `SPOTCHECK_PLANNER_CATALOGUE_URL` is set."""


def build(ctx: ServiceContext, settings: PlannerSettings | None = None) -> PlannerApp:
    """Build the planner's objects, each handed its dependencies by keyword."""
    mine = settings or load_planner_settings()
    store = PlannerStore(db=ctx.db)
    catalogue = CatalogueStore(db=ctx.db)
    rules = ActiveRules(store=store)
    imports = CatalogueImports(
        db=ctx.db,
        audit=ctx.audit,
        store=store,
        catalogue=catalogue,
        rules=rules,
        mapping=load_export_mapping(mine),
    )
    commands = PlannerCommands(
        db=ctx.db,
        bus=ctx.bus,
        audit=ctx.audit,
        outbox=ctx.outbox,
        store=store,
        rules=rules,
        rules_dir=ctx.settings.rules_dir,
        rpc_timeout_s=ctx.settings.rpc_timeout_s,
    )
    return PlannerApp(
        rules=rules,
        commands=commands,
        queries=PlannerQueries(
            bus=ctx.bus, store=store, rules=rules, rpc_timeout_s=ctx.settings.rpc_timeout_s
        ),
        joint=JointPlans(
            db=ctx.db,
            audit=ctx.audit,
            outbox=ctx.outbox,
            store=store,
            rules=rules,
            commands=commands,
        ),
        imports=imports,
        filings=PlanFilings(db=ctx.db, audit=ctx.audit, catalogue=catalogue),
        poller=CataloguePoller(imports=imports, settings=mine) if mine.catalogue_url else None,
    )


async def _start(ctx: ServiceContext, app: PlannerApp) -> None:
    await app.commands.restore()
    await handlers.register(ctx, commands=app.commands, queries=app.queries, filings=app.filings)
    if app.poller is not None:
        ctx.background.append(asyncio.create_task(app.poller.run()))


async def _stop(ctx: ServiceContext, app: PlannerApp) -> None:
    await app.rules.close()


def _routers(ctx: ServiceContext, app: PlannerApp) -> list[APIRouter]:
    return [
        api.router(
            ctx,
            commands=app.commands,
            queries=app.queries,
            joint=app.joint,
            imports=app.imports,
            filings=app.filings,
        )
    ]


def spec(settings: PlannerSettings | None = None) -> ServiceSpec[PlannerApp]:
    """How the planner service is put together (`settings` override the environment)."""
    return ServiceSpec(
        name="planner",
        migrations=Path(__file__).parent / "migrations",
        build=lambda ctx: build(ctx, settings),
        routers=_routers,
        start=_start,
        stop=_stop,
    )
