"""NATS subscriptions of the registry service (thin: parse, call the domain, ack after commit)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

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
from services.kit.bus import Incoming, PoisonMessage
from services.kit.envelope import event_id
from services.kit.errors import Invalid
from services.kit.service import ServiceContext
from services.registry import snapshots, store
from services.registry.domain import uscc as uscc_mod
from services.registry.domain.rows import ENTITY_FIELDS, Vocabulary, validate_entity

log = logging.getLogger("spotcheck.registry")
ACTOR_BR = "business-registration"
ACTOR_CREDIT = "credit-risk-system"


async def on_entity_upsert(ctx: ServiceContext, msg: Incoming, *, vocab: Vocabulary) -> None:
    """`spotcheck.v1.registry.entity.upsert`: one entity from business registration."""
    body = msg.parse(EntityRecord)
    values = [getattr(body, f) for f in ENTITY_FIELDS]
    values[6] = body.abnormal
    record, errors = validate_entity(values, vocab)
    if record is None:
        raise PoisonMessage(
            "entity refused: " + "; ".join(f"{e.field}: {e.en}" for e in errors),
            details=[e.as_dict() for e in errors],
        )
    async with ctx.db.transaction() as conn:
        changed = await store.upsert_entity(conn, record, datetime.now(UTC))
        if changed:
            await ctx.audit.append(
                conn,
                actor=ACTOR_BR,
                action="registry.entity.upsert",
                subject=record[0],
                data={"event_id": msg.event_id},
            )


async def on_risk_class(ctx: ServiceContext, msg: Incoming, *, vocab: Vocabulary) -> None:
    """`credit.v1.risk_class.updated`: one entity reclassified."""
    body = msg.parse(RiskClassUpdated)
    risk_class = body.risk_class.strip().upper()
    if risk_class not in vocab.risk_classes:
        raise PoisonMessage(
            f"unknown risk class {body.risk_class!r} (configured: {sorted(vocab.risk_classes)})"
        )
    async with ctx.db.transaction() as conn:
        outcome = await store.set_risk_class(
            conn, body.uscc, risk_class, body.effective_date, datetime.now(UTC)
        )
        if outcome == "unknown_entity":
            raise PoisonMessage(f"risk class for unknown entity {body.uscc}")
        await ctx.audit.append(
            conn,
            actor=ACTOR_CREDIT,
            action="registry.risk_class.updated",
            subject=body.uscc,
            data={
                "risk_class": risk_class,
                "effective_date": body.effective_date.isoformat(),
                "outcome": outcome,
                "event_id": msg.event_id,
            },
        )


async def on_full_push(ctx: ServiceContext, msg: Incoming, *, vocab: Vocabulary) -> None:
    """`credit.v1.risk_class.full`: a chunk of a full push; applied atomically once complete.

    A push naming an unknown class or a malformed USCC anywhere is refused as a whole.
    """
    body = msg.parse(RiskClassFullPush)
    if body.chunk >= body.total_chunks:
        raise PoisonMessage(f"chunk {body.chunk} of {body.total_chunks}")
    async with ctx.db.transaction() as conn:
        decided = await conn.fetchval(
            "SELECT state FROM risk_push WHERE push_id = $1", body.push_id
        )
        if decided is not None:
            return  # already applied or refused: a redelivery changes nothing
        await conn.execute(
            "INSERT INTO risk_push_chunk (push_id, chunk, total_chunks, effective_date, items)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (push_id, chunk) DO NOTHING",
            body.push_id,
            body.chunk,
            body.total_chunks,
            body.effective_date,
            [[i.uscc, i.risk_class] for i in body.items],
        )
        # One applier per push: the lock serialises chunks of the same push.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"push:{body.push_id}")
        have = await conn.fetchval(
            "SELECT count(*) FROM risk_push_chunk WHERE push_id = $1", body.push_id
        )
        if have < body.total_chunks:
            return
        chunks = await conn.fetch(
            "SELECT items FROM risk_push_chunk WHERE push_id = $1 ORDER BY chunk", body.push_id
        )
        items: dict[str, str] = {}
        problems: list[str] = []
        for row in chunks:
            for uscc, risk_class in row["items"]:
                cls = str(risk_class).strip().upper()
                if cls not in vocab.risk_classes:
                    problems.append(f"{uscc}: unknown risk class {risk_class!r}")
                if not uscc_mod.is_valid(uscc):
                    problems.append(f"{uscc}: not a valid USCC")
                if uscc in items and items[uscc] != cls:
                    problems.append(f"{uscc}: two different classes in one push")
                items[uscc] = cls
        at = datetime.now(UTC)
        if problems:
            await conn.execute(
                "INSERT INTO risk_push (push_id, state, items, reason)"
                " VALUES ($1, 'refused', $2, $3)",
                body.push_id,
                len(items),
                "; ".join(problems[:20]),
            )
            counts: dict[str, Any] = {"refused": len(problems), "first": problems[:20]}
            action = "registry.risk_class.full_push.refused"
        else:
            counts = await store.apply_full_push(
                conn, sorted(items.items()), body.effective_date, at
            )
            await conn.execute(
                "INSERT INTO risk_push (push_id, state, items) VALUES ($1, 'applied', $2)",
                body.push_id,
                len(items),
            )
            action = "registry.risk_class.full_push"
        await conn.execute("DELETE FROM risk_push_chunk WHERE push_id = $1", body.push_id)
        await ctx.audit.append(
            conn,
            actor=ACTOR_CREDIT,
            action=action,
            subject=body.push_id,
            data={**counts, "effective_date": body.effective_date.isoformat()},
        )
    if problems:
        log.error("full push %s refused: %s", body.push_id, "; ".join(problems[:5]))


async def register(ctx: ServiceContext, *, vocab: Vocabulary) -> None:
    """Subscribe the registry service's consumers and rpc verbs (ping is answered by the kit)."""
    bus = ctx.bus

    async def upsert(msg: Incoming) -> None:
        await on_entity_upsert(ctx, msg, vocab=vocab)

    async def risk(msg: Incoming) -> None:
        await on_risk_class(ctx, msg, vocab=vocab)

    async def full(msg: Incoming) -> None:
        await on_full_push(ctx, msg, vocab=vocab)

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
        async with ctx.db.pool.acquire() as conn:
            return await store.stats(conn, req)

    async def freeze(req: FreezeRequest) -> FreezeReply:
        return await freeze_and_publish(ctx, req)

    async def entities(req: EntitiesRequest) -> EntitiesReply:
        found = []
        missing = []
        async with ctx.db.pool.acquire() as conn:
            for u in req.usccs:
                row = await store.entity_at(conn, u, req.as_of)
                if row is None:
                    missing.append(u)
                else:
                    found.append(store.entity_record(row))
        return EntitiesReply(entities=found, missing=missing)

    async def inspectors(req: InspectorsRequest) -> InspectorsReply:
        async with ctx.db.pool.acquire() as conn:
            rows = await store.inspectors_page(conn, req.departments, req.offset, req.limit + 1)
        more = len(rows) > req.limit
        return InspectorsReply(
            inspectors=[store.inspector_record(r) for r in rows[: req.limit]],
            next_offset=req.offset + req.limit if more else None,
        )

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


async def freeze_and_publish(ctx: ServiceContext, req: FreezeRequest) -> FreezeReply:
    """Freeze, store the lists in the object store bucket, announce `snapshot.frozen`."""
    if not req.strata:
        raise Invalid("a freeze needs at least one stratum")
    obs = await ctx.bus.object_store(
        subjects.SNAPSHOTS_BUCKET, replicas=ctx.settings.stream_replicas
    )

    upload, fetch = snapshots.object_store_io(obs)
    reply = await snapshots.freeze(ctx.db, req, upload=upload, fetch=fetch, audit=ctx.audit)
    await ctx.bus.publish_event(
        subjects.event("registry", "snapshot.frozen"),
        reply,
        event_id=event_id("snapshot.frozen", reply.snapshot_id),
    )
    return reply
