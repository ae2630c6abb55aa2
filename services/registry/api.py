"""HTTP API of the registry service (thin: parse, authorise, call the domain, answer)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from contracts import subjects
from contracts.common import Role
from contracts.registry import (
    EntityDetail,
    EntityPage,
    EntityVersion,
    FreezeReply,
    ImportChunkReply,
    ImportCommitReply,
    ImportCompleted,
    ImportStarted,
    InspectorRecord,
    InspectorsReply,
    RejectedRow,
    RiskClassesConfig,
)
from services.kit.auth import public, require
from services.kit.envelope import event_id
from services.kit.errors import Invalid, NotFound
from services.kit.service import ServiceContext
from services.registry import snapshots, store
from services.registry.domain import uscc as uscc_mod
from services.registry.domain.parsing import FileProblem
from services.registry.domain.rows import Vocabulary
from services.registry.importer import MAX_CHUNKS, Importer, Reject

ANY_ROLE = require()
OWNER = require(Role.REGISTRY_OWNER)


class ImportOpen(BaseModel):
    """Body of `POST /imports`."""

    kind: Literal["entities", "inspectors"]
    source: str = ""


def _rejects(items: list[Reject]) -> list[RejectedRow]:
    return [RejectedRow.model_validate(r) for r in items]


def router(ctx: ServiceContext, *, importer: Importer, vocab: Vocabulary) -> APIRouter:
    """The registry service's routes."""
    r = APIRouter(tags=["registry"])

    @r.get("/entities/{uscc}")
    async def entity(uscc: str, as_of: datetime | None = None, _: Any = ANY_ROLE) -> EntityDetail:
        code = uscc_mod.normalise(uscc)
        async with ctx.db.pool.acquire() as conn:
            row = await store.entity_at(conn, code, as_of)
            versions = await store.entity_versions(conn, code)
        if row is None:
            when = f" at {as_of.isoformat()}" if as_of else ""
            raise NotFound(f"no entity {code}{when}")
        return EntityDetail(
            entity=store.entity_record(row),
            as_of=as_of,
            history=[
                EntityVersion(
                    entity=store.entity_record(v),
                    valid_from=v["valid_from"],
                    valid_to=v["valid_to"],
                )
                for v in versions
            ],
        )

    @r.get("/entities")
    async def search(
        name_prefix: str | None = None,
        region: str | None = None,
        industry: str | None = None,
        risk_class: str | None = None,
        after: str = "",
        limit: int = 100,
        _: Any = ANY_ROLE,
    ) -> EntityPage:
        limit = max(1, min(limit, 1000))
        async with ctx.db.pool.acquire() as conn:
            rows = await store.search_entities(
                conn,
                name_prefix=name_prefix,
                region_prefix=region,
                industry_prefix=industry,
                risk_class=risk_class.upper() if risk_class else None,
                after=after,
                limit=limit,
            )
        entities = [store.entity_record(x) for x in rows]
        return EntityPage(
            entities=entities, next_after=entities[-1].uscc if len(entities) == limit else None
        )

    @r.get("/inspectors/{inspector_id}")
    async def inspector(inspector_id: str, _: Any = ANY_ROLE) -> InspectorRecord:
        async with ctx.db.pool.acquire() as conn:
            row = await store.inspector_by_id(conn, inspector_id)
        if row is None:
            raise NotFound(f"no inspector {inspector_id}")
        return store.inspector_record(row)

    @r.get("/inspectors")
    async def inspectors(
        department: str | None = None, offset: int = 0, limit: int = 100, _: Any = ANY_ROLE
    ) -> InspectorsReply:
        limit = max(1, min(limit, 1000))
        async with ctx.db.pool.acquire() as conn:
            rows = await store.inspectors_page(
                conn, [department] if department else [], max(0, offset), limit + 1
            )
        return InspectorsReply(
            inspectors=[store.inspector_record(x) for x in rows[:limit]],
            next_offset=offset + limit if len(rows) > limit else None,
        )

    @r.post("/imports", status_code=201)
    async def open_import(body: ImportOpen, who: Any = OWNER) -> ImportStarted:
        import_id = await importer.open(body.kind, source=body.source, actor=who.sub)
        return ImportStarted(import_id=import_id, kind=body.kind)

    @r.post("/imports/{import_id}/chunks/{chunk}")
    async def load_chunk(
        import_id: str,
        chunk: Annotated[int, FastPath(ge=0, le=MAX_CHUNKS)],
        request: Request,
        first_line: Annotated[int, Query(ge=1)] = 2,
        format: Literal["csv", "jsonl"] = "csv",
        _: Any = OWNER,
    ) -> ImportChunkReply:
        # passed on as bytes: a plain CSV chunk goes to PostgreSQL as it came (the worker
        # checks that it is UTF-8)
        data = await request.body()
        try:
            result, rejects = await importer.load_chunk_text(
                import_id, chunk, data, first_line=first_line, fmt=format
            )
        except FileProblem as exc:
            raise Invalid(
                f"{exc.en} / {exc.zh}", details=[{"reason_en": exc.en, "reason_zh": exc.zh}]
            ) from exc
        return ImportChunkReply(
            accepted=result.accepted, rejected=result.rejected, rejects=_rejects(rejects)
        )

    @r.post("/imports/{import_id}/commit")
    async def commit(import_id: str, who: Any = OWNER) -> ImportCommitReply:
        rejects: list[Reject] = []
        summary = await importer.commit(import_id, actor=who.sub, on_reject=rejects.append)
        await ctx.bus.publish_event(
            subjects.event("registry", "import.completed"),
            ImportCompleted(
                import_id=import_id,
                kind=summary["kind"],
                source=summary.get("source", ""),
                accepted=summary["accepted"],
                rejected=summary["rejected"],
                finished_at=datetime.fromisoformat(summary["at"]),
            ),
            event_id=event_id("import.completed", import_id),
        )
        return ImportCommitReply(
            import_id=import_id,
            kind=summary["kind"],
            accepted=summary["accepted"],
            rejected=summary["rejected"],
            duplicates=summary["duplicates"],
            changed=summary["changed"],
            rejects=_rejects(rejects),
        )

    @r.get("/config/risk-classes")
    @public
    async def risk_classes() -> RiskClassesConfig:
        return RiskClassesConfig(risk_classes=sorted(vocab.risk_classes))

    @r.get("/snapshots/{snapshot_id}")
    @public
    async def snapshot(snapshot_id: str) -> FreezeReply:
        found = await snapshots.load(ctx.db, snapshot_id)
        if found is None:
            raise NotFound(f"no snapshot {snapshot_id}")
        return found

    @r.get("/snapshots/{snapshot_id}/strata/{stratum_id}.txt")
    @public
    async def candidate_list(snapshot_id: str, stratum_id: str) -> StreamingResponse:
        blocks = await snapshots.stream_list(ctx.db, snapshot_id, stratum_id)
        return StreamingResponse(
            blocks,
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    return r
