"""NATS subscriptions of the registry service (thin: parse, call one command or query; the kit
acks after the commit)."""

from __future__ import annotations

from contracts import subjects
from contracts.registry import (
    EntitiesReply,
    EntitiesRequest,
    EntityRecord,
    FreezeReply,
    FreezeRequest,
    InspectorsReply,
    InspectorsRequest,
    RiskClassFullPush,
    RiskClassUpdated,
    StatsReply,
    StatsRequest,
)
from services.kit.bus import Incoming
from services.kit.service import ServiceContext
from services.registry.commands.directory import Directory
from services.registry.commands.freeze import Freezer
from services.registry.queries import Queries


async def on_entity_upsert(msg: Incoming, *, directory: Directory) -> None:
    """`spotcheck.v1.registry.entity.upsert`: one entity from business registration."""
    await directory.upsert_entity(msg.parse(EntityRecord), event=msg.event_id)


async def on_risk_class(msg: Incoming, *, directory: Directory) -> None:
    """`credit.v1.risk_class.updated`: one entity reclassified."""
    body = msg.parse(RiskClassUpdated)
    await directory.set_risk_class(
        body.uscc, body.risk_class, body.effective_date, event=msg.event_id
    )


async def on_full_push(msg: Incoming, *, directory: Directory) -> None:
    """`credit.v1.risk_class.full`: a chunk of a full push; applied atomically once complete."""
    await directory.receive_full_push(msg.parse(RiskClassFullPush))


async def register(
    ctx: ServiceContext, *, directory: Directory, freezer: Freezer, queries: Queries
) -> None:
    """Subscribe the registry service's consumers and rpc verbs (ping is answered by the kit)."""
    bus = ctx.bus

    async def upsert(msg: Incoming) -> None:
        await on_entity_upsert(msg, directory=directory)

    async def risk(msg: Incoming) -> None:
        await on_risk_class(msg, directory=directory)

    async def full(msg: Incoming) -> None:
        await on_full_push(msg, directory=directory)

    ctx.background.append(
        bus.consume(
            stream=subjects.stream_name("registry"),
            durable="registry-entity-upsert",
            subjects=[subjects.event("registry", "entity.upsert")],
            handler=upsert,
        )
    )
    ctx.background.append(
        bus.consume(
            stream=subjects.CREDIT_STREAM,
            durable="registry-risk-class",
            subjects=[subjects.CREDIT_RISK_CLASS_UPDATED],
            handler=risk,
        )
    )
    ctx.background.append(
        bus.consume(
            stream=subjects.CREDIT_STREAM,
            durable="registry-risk-class-full",
            subjects=[subjects.CREDIT_RISK_CLASS_FULL],
            handler=full,
            batch=1,
            ack_wait_s=300,
        )
    )

    async def stats(req: StatsRequest) -> StatsReply:
        return await queries.stats(req)

    async def freeze(req: FreezeRequest) -> FreezeReply:
        return await freezer.freeze_and_publish(req)

    async def entities(req: EntitiesRequest) -> EntitiesReply:
        return await queries.entities_at(req)

    async def inspectors(req: InspectorsRequest) -> InspectorsReply:
        return await queries.inspectors_page(req.departments, req.offset, req.limit)

    await bus.serve_rpc(
        subjects.rpc("registry", "stats"), stats, request_model=StatsRequest, queue="registry"
    )
    await bus.serve_rpc(
        subjects.rpc("registry", "freeze"),
        freeze,
        request_model=FreezeRequest,
        queue="registry",
        concurrency=2,
    )
    await bus.serve_rpc(
        subjects.rpc("registry", "entities"),
        entities,
        request_model=EntitiesRequest,
        queue="registry",
    )
    await bus.serve_rpc(
        subjects.rpc("registry", "inspectors"),
        inspectors,
        request_model=InspectorsRequest,
        queue="registry",
    )
