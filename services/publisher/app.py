"""Wiring of the publisher service: the one place that builds its objects."""

from __future__ import annotations

import asyncio
from pathlib import Path

from contracts import subjects
from services.kit.service import ServiceContext, ServiceSpec
from services.publisher import api, handlers
from services.publisher.calendars import Calendars
from services.publisher.domain.categories import load_categories
from services.publisher.intake import Intake
from services.publisher.operations import Operations, register_metrics
from services.publisher.relay import Relay
from services.publisher.settings import PublisherSettings, load_publisher_settings


async def _start(ctx: ServiceContext) -> None:
    mine: PublisherSettings = ctx.parts.get("settings") or load_publisher_settings()
    wake = asyncio.Event()
    # Streams the consumers read may not exist yet if draw/planner never started. The same
    # duplicate window as their owners give them, or each start would reset the other's.
    for svc in ("draw", "planner"):
        await ctx.bus.ensure_stream(
            subjects.stream_name(svc),
            subjects.stream_subjects(svc),
            replicas=ctx.settings.stream_replicas,
            duplicate_window_s=ctx.settings.stream_duplicate_window_s,
        )
    calendars = Calendars(db=ctx.db, audit=ctx.audit, outbox=ctx.outbox)
    ctx.parts["calendars"] = calendars
    ctx.parts["intake"] = Intake(
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
    ctx.parts["operations"] = ops
    await handlers.register(ctx)
    if mine.relay_enabled:
        relay = Relay(
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
        ctx.parts["relay"] = relay
        ctx.background.append(asyncio.create_task(relay.run(), name="publisher-relay"))
    ctx.background.append(asyncio.create_task(ops.watch(every_s=mine.deadline_poll_s)))
    register_metrics(ctx.metrics, ops)


def spec(settings: PublisherSettings | None = None) -> ServiceSpec:
    """How the publisher service is put together (`settings` override the environment)."""

    async def start(ctx: ServiceContext) -> None:
        if settings is not None:
            ctx.parts["settings"] = settings
        await _start(ctx)

    return ServiceSpec(
        name="publisher",
        migrations=Path(__file__).parent / "migrations",
        routers=lambda ctx: [api.router(ctx)],
        start=start,
    )
