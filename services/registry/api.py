"""HTTP API of the registry service (thin: parse, authorise, call one command or query,
translate errors)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from contracts.common import STATS_ROLES, Role
from contracts.registry import (
    EntityDetail,
    EntityFilter,
    EntityPage,
    FreezeReply,
    ImportChunkReply,
    ImportCommitReply,
    ImportStarted,
    InspectorRecord,
    InspectorsReply,
    RejectedRow,
    RiskClassesConfig,
    StatsReply,
    StatsRequest,
)
from services.kit.auth import Principal, public, require
from services.kit.edge import MAX_OFFSET, Limit, Offset, RegionCode
from services.kit.errors import Invalid
from services.registry.commands.imports import MAX_CHUNKS, Importer, Reject
from services.registry.domain.parsing import FileProblem
from services.registry.queries import Queries

# What a route needs of its caller: any signed-in role, or the registry's owner.
AnyRole = Annotated[Principal, require()]
Owner = Annotated[Principal, require(Role.REGISTRY_OWNER)]
StatsReader = Annotated[Principal, require(*STATS_ROLES)]


class ImportOpen(BaseModel):
    """Body of `POST /imports`."""

    kind: Literal["entities", "inspectors"]
    source: str = ""


def _rejects(items: list[Reject]) -> list[RejectedRow]:
    return [RejectedRow.model_validate(r) for r in items]


def router(*, importer: Importer, queries: Queries) -> APIRouter:
    """The registry service's routes."""
    r = APIRouter(tags=["registry"])

    @r.get("/entities/{uscc}")
    async def entity(uscc: str, _: AnyRole, as_of: datetime | None = None) -> EntityDetail:
        return await queries.entity_detail(uscc, as_of)

    @r.get("/entities")
    async def search(
        _: AnyRole,
        name_prefix: str | None = None,
        region: str | None = None,
        industry: str | None = None,
        risk_class: str | None = None,
        after: str = "",
        limit: Limit = 100,
    ) -> EntityPage:
        return await queries.search_entities(
            name_prefix=name_prefix,
            region=region,
            industry=industry,
            risk_class=risk_class,
            after=after,
            limit=limit,
        )

    @r.get("/stats/entities")
    async def entity_stats(_: StatsReader, region: RegionCode | None = None) -> StatsReply:
        """Entities in business (the active statuses) per risk class and region: what the
        leaders' coverage is a share of. The same counts as the `rpc.stats` verb."""
        return await queries.stats(
            StatsRequest(
                group_by=["risk_class", "region"],
                filter=EntityFilter(region_prefixes=[region] if region else []),
            )
        )

    @r.get("/inspectors/{inspector_id}")
    async def inspector(inspector_id: str, _: AnyRole) -> InspectorRecord:
        return await queries.inspector(inspector_id)

    @r.get("/inspectors")
    async def inspectors(
        _: AnyRole, department: str | None = None, offset: Offset = 0, limit: Limit = 100
    ) -> InspectorsReply:
        return await queries.inspectors_page(
            [department] if department else [], max(0, offset), max(1, min(limit, 1000))
        )

    @r.post("/imports", status_code=201)
    async def open_import(body: ImportOpen, who: Owner) -> ImportStarted:
        import_id = await importer.open(body.kind, source=body.source, actor=who.sub)
        return ImportStarted(import_id=import_id, kind=body.kind)

    @r.post("/imports/{import_id}/chunks/{chunk}")
    async def load_chunk(
        import_id: str,
        chunk: Annotated[int, FastPath(ge=0, le=MAX_CHUNKS)],
        request: Request,
        _: Owner,
        first_line: Annotated[int, Query(ge=1, le=MAX_OFFSET)] = 2,
        format: Literal["csv", "jsonl"] = "csv",
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
    async def commit(import_id: str, who: Owner) -> ImportCommitReply:
        summary, rejects = await importer.commit_and_announce(import_id, actor=who.sub)
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
        return queries.risk_classes()

    @r.get("/snapshots/{snapshot_id}")
    @public
    async def snapshot(snapshot_id: str) -> FreezeReply:
        return await queries.snapshot(snapshot_id)

    @r.get(
        "/snapshots/{snapshot_id}/strata/{stratum_id}.txt",
        response_class=StreamingResponse,
        responses={200: {"description": "one USCC a line", "content": {"text/plain": {}}}},
    )
    @public
    async def candidate_list(snapshot_id: str, stratum_id: str) -> StreamingResponse:
        blocks = await queries.candidate_list(snapshot_id, stratum_id)
        return StreamingResponse(
            blocks,
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    return r
