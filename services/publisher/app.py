"""Wiring of the publisher service: the one place that builds its objects."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter

from contracts import subjects
from services.kit.service import ServiceContext, ServiceSpec
from services.publisher import api, follow_up_api, handlers, lifecycle_api, stats_api
from services.publisher.commands.calendars import Calendars
from services.publisher.commands.commissions import Commissions
from services.publisher.commands.copies import Copies
from services.publisher.commands.deliveries import Deliveries
from services.publisher.commands.drafts import Drafts
from services.publisher.commands.follow_up import FollowUps
from services.publisher.commands.intake import Intake
from services.publisher.commands.submissions import Submissions
from services.publisher.commands.tasks import Cancellations, TaskStarts
from services.publisher.domain.categories import load_categories
from services.publisher.metrics import register_metrics, watch
from services.publisher.platforms import Platforms, configured_platforms
from services.publisher.queries import PublisherQueries
from services.publisher.receipts import ReceiptInbox, receipt_sources
from services.publisher.relay import Relay
from services.publisher.settings import PublisherSettings, load_publisher_settings
from services.publisher.workdays import WorkdaysCache


@dataclass
class PublisherApp:
    """The publisher's own objects."""

    settings: PublisherSettings
    copies: Copies
    calendars: Calendars
    intake: Intake
    drafts: Drafts
    submissions: Submissions
    starts: TaskStarts
    commissions: Commissions
    cancellations: Cancellations
    deliveries: Deliveries
    follow_ups: FollowUps
    queries: PublisherQueries
    relay: Relay | None
    platforms: Platforms
    receipts: ReceiptInbox | None


def build(ctx: ServiceContext, settings: PublisherSettings | None = None) -> PublisherApp:
    """Build the publisher's objects, each handed its dependencies by keyword."""
    mine = settings or load_publisher_settings()
    wake = asyncio.Event()  # set when results are queued: the relay looks at once
    workdays = WorkdaysCache()  # built calendars, shared by commands and queries
    # The outside platforms' mappings, checked: a bad file refuses the start (file, line).
    platforms = configured_platforms(mine, load_categories())
    calendars = Calendars(db=ctx.db, audit=ctx.audit, outbox=ctx.outbox, workdays=workdays)
    intake = Intake(
        db=ctx.db,
        bus=ctx.bus,
        audit=ctx.audit,
        outbox=ctx.outbox,
        categories=load_categories(),
        calendars=calendars,
        max_attachment_bytes=mine.max_attachment_bytes,
        wake=wake,
        platforms=platforms.taking("result"),
        disclosing=platforms.disclosing(),
    )
    drafts = Drafts(db=ctx.db, audit=ctx.audit, intake=intake)
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
            platforms=platforms,
        )
        if mine.relay_enabled
        else None
    )
    # The 监督平台's receipts of our plans, relayed to the planner (its inbound mapping).
    sources = (
        receipt_sources(platforms.inbound, platforms.root) if platforms.root is not None else []
    )
    receipts = (
        ReceiptInbox(
            db=ctx.db,
            bus=ctx.bus,
            audit=ctx.audit,
            sources=sources,
            poll_s=mine.receipts_poll_s,
            settle_s=mine.receipts_settle_s,
            rpc_timeout_s=ctx.settings.rpc_timeout_s,
            http_timeout_s=mine.http_timeout_s,
        )
        if sources
        else None
    )
    return PublisherApp(
        settings=mine,
        receipts=receipts,
        copies=Copies(db=ctx.db, platforms=platforms.routes(), wake=wake),
        calendars=calendars,
        intake=intake,
        drafts=drafts,
        submissions=Submissions(intake=intake, drafts=drafts),
        starts=TaskStarts(db=ctx.db, audit=ctx.audit, outbox=ctx.outbox),
        cancellations=Cancellations(db=ctx.db, audit=ctx.audit, outbox=ctx.outbox),
        commissions=Commissions(
            db=ctx.db,
            audit=ctx.audit,
            outbox=ctx.outbox,
            intake=intake,
            categories=load_categories(),
        ),
        deliveries=Deliveries(db=ctx.db, audit=ctx.audit, wake=wake),
        follow_ups=FollowUps(db=ctx.db, audit=ctx.audit, outbox=ctx.outbox),
        queries=PublisherQueries(db=ctx.db, workdays=workdays, categories=load_categories()),
        relay=relay,
        platforms=platforms,
    )


async def _start(ctx: ServiceContext, app: PublisherApp) -> None:
    if app.platforms.loaded:
        # Which mapping was in force from when: each start records the files' digests.
        async with ctx.db.transaction() as conn:
            await ctx.audit.append(
                conn,
                actor="publisher",
                action="platforms.mappings_in_force",
                subject="platforms",
                data=app.platforms.in_force(),
            )
    await handlers.register(
        ctx, copies=app.copies, calendars=app.calendars, follow_ups=app.follow_ups
    )
    if app.relay is not None:
        ctx.background.append(asyncio.create_task(app.relay.run(), name="publisher-relay"))
    if app.receipts is not None:
        ctx.background.append(asyncio.create_task(app.receipts.run(), name="publisher-receipts"))
    ctx.background.append(
        asyncio.create_task(watch(app.queries, every_s=app.settings.deadline_poll_s))
    )
    register_metrics(ctx.metrics, app.queries)


def _routers(ctx: ServiceContext, app: PublisherApp) -> list[APIRouter]:
    return [
        api.router(
            ctx,
            intake=app.intake,
            submissions=app.submissions,
            drafts=app.drafts,
            starts=app.starts,
            deliveries=app.deliveries,
            queries=app.queries,
            public_base_url=app.settings.public_base_url,
        ),
        stats_api.router(queries=app.queries),
        lifecycle_api.router(commissions=app.commissions, cancellations=app.cancellations),
        follow_up_api.router(follow_ups=app.follow_ups, queries=app.queries),
    ]


def spec(settings: PublisherSettings | None = None) -> ServiceSpec[PublisherApp]:
    """How the publisher service is put together (`settings` override the environment)."""
    return ServiceSpec(
        name="publisher",
        migrations=Path(__file__).parent / "migrations",
        build=lambda ctx: build(ctx, settings),
        routers=_routers,
        start=_start,
        reads_streams_of=("draw", "planner", "registry"),
        # What the receiving bodies of referrals publish, kept while we are down.
        extra_streams=[
            (
                subjects.CASES_STREAM,
                [subjects.CASES_REFERRAL_ACKNOWLEDGED, subjects.CASES_REFERRAL_CONCLUDED],
            )
        ],
    )
