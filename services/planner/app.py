"""Wiring of the planner service: the one place that builds its objects.

The planner has no settings of its own: `rules_dir` and `rpc_timeout_s` are the kit's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter

from services.kit.service import ServiceContext, ServiceSpec
from services.planner import api, handlers
from services.planner.active import ActiveRules
from services.planner.commands import PlannerCommands
from services.planner.joint import JointPlans
from services.planner.queries import PlannerQueries
from services.planner.store import PlannerStore


@dataclass
class PlannerApp:
    """The planner's own objects."""

    rules: ActiveRules
    commands: PlannerCommands
    queries: PlannerQueries
    joint: JointPlans


def build(ctx: ServiceContext) -> PlannerApp:
    """Build the planner's objects, each handed its dependencies by keyword."""
    store = PlannerStore(db=ctx.db)
    rules = ActiveRules(store=store)
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
    )


async def _start(ctx: ServiceContext, app: PlannerApp) -> None:
    await app.commands.restore()
    await handlers.register(ctx, commands=app.commands, queries=app.queries)


async def _stop(ctx: ServiceContext, app: PlannerApp) -> None:
    await app.rules.close()


def _routers(ctx: ServiceContext, app: PlannerApp) -> list[APIRouter]:
    return [api.router(ctx, commands=app.commands, queries=app.queries, joint=app.joint)]


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
