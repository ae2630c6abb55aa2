"""Reads of the registry: entity detail and history, search, inspectors, stats, snapshots and
their lists, the configured risk classes. Plain SQL through the store, no domain model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from contracts.registry import (
    EntitiesReply,
    EntitiesRequest,
    EntityDetail,
    EntityPage,
    FreezeReply,
    InspectorRecord,
    InspectorsReply,
    RiskClassesConfig,
    StatsReply,
    StatsRequest,
)
from services.kit.db import Database
from services.kit.errors import NotFound
from services.registry.domain import uscc as uscc_mod
from services.registry.domain.rows import Vocabulary
from services.registry.store import entities, inspectors, snapshots


class Queries:
    """The registry's reads."""

    def __init__(self, *, db: Database, vocab: Vocabulary) -> None:
        self.db = db
        self.vocab = vocab

    async def entity_detail(self, uscc: str, as_of: datetime | None) -> EntityDetail:
        """An entity as it was at `as_of` (now when None), with every version of it."""
        code = uscc_mod.normalise(uscc)
        async with self.db.pool.acquire() as conn:
            entity = await entities.entity_at(conn, code, as_of)
            versions = await entities.entity_versions(conn, code)
        if entity is None:
            when = f" at {as_of.isoformat()}" if as_of else ""
            raise NotFound(f"no entity {code}{when}")
        return EntityDetail(entity=entity, as_of=as_of, history=versions)

    async def search_entities(
        self,
        *,
        name_prefix: str | None,
        region: str | None,
        industry: str | None,
        risk_class: str | None,
        after: str,
        limit: int,
    ) -> EntityPage:
        """A page of entities in USCC order (at most 1000)."""
        limit = max(1, min(limit, 1000))
        async with self.db.pool.acquire() as conn:
            found = await entities.search_entities(
                conn,
                name_prefix=name_prefix,
                region_prefix=region,
                industry_prefix=industry,
                risk_class=risk_class.upper() if risk_class else None,
                after=after,
                limit=limit,
            )
        return EntityPage(
            entities=found, next_after=found[-1].uscc if len(found) == limit else None
        )

    async def entities_at(self, req: EntitiesRequest) -> EntitiesReply:
        """Entities by USCC as they were at `req.as_of`, and the USCCs not found."""
        found = []
        missing = []
        async with self.db.pool.acquire() as conn:
            for u in req.usccs:
                entity = await entities.entity_at(conn, u, req.as_of)
                if entity is None:
                    missing.append(u)
                else:
                    found.append(entity)
        return EntitiesReply(entities=found, missing=missing)

    async def inspector(self, inspector_id: str) -> InspectorRecord:
        """One inspector."""
        async with self.db.pool.acquire() as conn:
            found = await inspectors.inspector_by_id(conn, inspector_id)
        if found is None:
            raise NotFound(f"no inspector {inspector_id}")
        return found

    async def inspectors_page(
        self, departments: list[str], offset: int, limit: int
    ) -> InspectorsReply:
        """A page of inspectors in id order, optionally of some departments."""
        async with self.db.pool.acquire() as conn:
            rows = await inspectors.inspectors_page(conn, departments, offset, limit + 1)
        return InspectorsReply(
            inspectors=rows[:limit],
            next_offset=offset + limit if len(rows) > limit else None,
        )

    async def stats(self, req: StatsRequest) -> StatsReply:
        """Counts of entities matching a filter, grouped."""
        async with self.db.pool.acquire() as conn:
            return await entities.stats(conn, req)

    def risk_classes(self) -> RiskClassesConfig:
        """The risk classes this province configures."""
        return RiskClassesConfig(risk_classes=sorted(self.vocab.risk_classes))

    async def snapshot(self, snapshot_id: str) -> FreezeReply:
        """A frozen snapshot."""
        found = await snapshots.load(self.db, snapshot_id)
        if found is None:
            raise NotFound(f"no snapshot {snapshot_id}")
        return found

    async def candidate_list(self, snapshot_id: str, stratum_id: str) -> AsyncIterator[bytes]:
        """The blocks of one frozen list, in order."""
        if not await snapshots.has_stratum(self.db, snapshot_id, stratum_id):
            raise NotFound(f"no stratum {stratum_id} in snapshot {snapshot_id}")
        return snapshots.blocks(self.db, snapshot_id, stratum_id)
