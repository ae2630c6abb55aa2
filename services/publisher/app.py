"""Wiring of the publisher service: the one place that builds its objects."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter

from contracts import subjects
from services.kit.service import ServiceContext, ServiceSpec
from services.publisher import api, handlers
from services.publisher.calendars import Calendars
from services.publisher.domain.categories import load_categories
from services.publisher.intake import Intake
from services.publisher.operations import Operations, register_metrics
from services.publisher.relay import Relay
from services.publisher.settings import PublisherSettings, load_publisher_settings


@dataclass
class PublisherApp:
    """The publisher's own objects."""

    settings: PublisherSettings
    calendars: Calendars
    intake: Intake
    operations: Operations
    relay: Relay | None


def build(ctx: ServiceContext, settings: PublisherSettings | None = None) -> PublisherApp:
    """Build the publisher's objects, each handed its dependencies by keyword."""
    mine = settings or load_publisher_settings()
    wake = asyncio.Event()  # set when results are queued: the relay looks at once
    calendars = Calendars(db=ctx.db, audit=ctx.audit, outbox=ctx.outbox)
    intake = Intake(
        db=ctx.db,
        bus=ctx.bus,
        audit=ctx.audit,
        outbox=ctx.outbox,
        categories=load_categories(),
        calendars=calendars,
        max_attachment_bytes=mine.max_attachment_bytes,
        wake=wake,
    )
    ops = Operations(
        db=ctx.db,
        audit=ctx.audit,
        calendars=calendars,
        wake=wake,
        public_base_url=mine.public_base_url,
    )
    relay = (
        Relay(
            db=ctx.db,
            bus=ctx.bus,
            source="spotcheck-publisher",
            disclosure_url=ctx.settings.disclosure_url,
            http_timeout_s=mine.http_timeout_s,
            policy=mine.retry_policy(),
            batch=mine.relay_batch,
            lease_s=mine.relay_lease_s,
            http_window=mine.http_window,
            nats_window=mine.nats_window,
            workers=mine.relay_workers,
            wake=wake,
        )
        if mine.relay_enabled
        else None
    )
    return PublisherApp(
        settings=mine,
        calendars=calendars,
        intake=intake,
        operations=ops,
        relay=relay,
    )


async def _start(ctx: ServiceContext, app: PublisherApp) -> None:
    # Streams the consumers read may not exist yet if draw/planner never started. The same
    # duplicate window as their owners give them, or each start would reset the other's.
    for svc in ("draw", "planner"):
        await ctx.bus.ensure_stream(
            subjects.stream_name(svc),
            subjects.stream_subjects(svc),
            replicas=ctx.settings.stream_replicas,
            duplicate_window_s=ctx.settings.stream_duplicate_window_s,
        )
    await handlers.register(ctx, calendars=app.calendars)
    if app.relay is not None:
        ctx.background.append(asyncio.create_task(app.relay.run(), name="publisher-relay"))
    ctx.background.append(
        asyncio.create_task(app.operations.watch(every_s=app.settings.deadline_poll_s))
    )
    register_metrics(ctx.metrics, app.operations)


def _routers(ctx: ServiceContext, app: PublisherApp) -> list[APIRouter]:
    return [api.router(ctx, intake=app.intake, ops=app.operations)]


def spec(settings: PublisherSettings | None = None) -> ServiceSpec[PublisherApp]:
    """How the publisher service is put together (`settings` override the environment)."""
    return ServiceSpec(
        name="publisher",
        migrations=Path(__file__).parent / "migrations",
        build=lambda ctx: build(ctx, settings),
        routers=_routers,
        start=_start,
    )
