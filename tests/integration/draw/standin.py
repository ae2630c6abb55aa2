"""A stand-in for the registry's rpc verbs (freeze, entities, inspectors) on the REAL NATS.

The registry service is another team's; the draw's integration tests need its answers with
known data. This answers the same subjects with the same contracts and puts the frozen lists
into the same JetStream object store bucket, so the draw side runs exactly as in production.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from contracts import subjects
from contracts.registry import (
    EntitiesReply,
    EntitiesRequest,
    EntityRecord,
    FreezeReply,
    FreezeRequest,
    FrozenStratum,
    InspectorRecord,
    InspectorsReply,
    InspectorsRequest,
)
from services.kit.bus import Bus


class RegistryStandIn:
    """Known entities and inspectors; freezes by region prefix and risk class."""

    def __init__(self, entities: list[EntityRecord], inspectors: list[InspectorRecord]) -> None:
        self.entities = {e.uscc: e for e in entities}
        self.inspectors = sorted(inspectors, key=lambda i: i.inspector_id)
        self.bus: Bus | None = None
        self.freezes = 0
        self.requests: list[FreezeRequest] = []
        # False: behave like a registry that does not know `exclude_object` yet.
        self.honour_exclude_object = True

    async def start(self, nats_url: str) -> None:
        self.bus = await Bus.connect(nats_url, name="registry-standin")
        await self.bus.serve_rpc(
            subjects.rpc("registry", "freeze"),
            self.freeze,
            request_model=FreezeRequest,
            queue="registry",
        )
        await self.bus.serve_rpc(
            subjects.rpc("registry", "entities"),
            self.lookup,
            request_model=EntitiesRequest,
            queue="registry",
        )
        await self.bus.serve_rpc(
            subjects.rpc("registry", "inspectors"),
            self.roster,
            request_model=InspectorsRequest,
            queue="registry",
        )

    async def stop(self) -> None:
        if self.bus is not None:
            await self.bus.close()

    async def freeze(self, req: FreezeRequest) -> FreezeReply:
        assert self.bus is not None
        self.freezes += 1
        self.requests.append(req)
        bucket = await self.bus.object_store(subjects.SNAPSHOTS_BUCKET)
        snapshot = f"S-{uuid.uuid4().hex[:10]}"
        out = []
        for s in req.strata:
            f = s.filter
            excluded = set(s.exclude_usccs)
            if s.exclude_object is not None and self.honour_exclude_object:
                got = await bucket.get(s.exclude_object)
                excluded.update((got.data or b"").decode("utf-8").split())
            usccs = sorted(
                (
                    e.uscc
                    for e in self.entities.values()
                    if (not f.region_prefixes or e.region_code.startswith(tuple(f.region_prefixes)))
                    and (not f.risk_classes or e.risk_class in f.risk_classes)
                    and e.status in f.statuses
                    and e.uscc not in excluded
                ),
                key=lambda u: u.encode(),
            )
            body = "".join(u + "\n" for u in usccs).encode()
            name = f"{snapshot}/{s.stratum_id}.txt"
            await bucket.put(name, body)
            out.append(
                FrozenStratum(
                    stratum_id=s.stratum_id,
                    n=len(usccs),
                    candidates_sha256=hashlib.sha256(body).hexdigest(),
                    object_name=name,
                )
            )
        return FreezeReply(snapshot_id=snapshot, as_of=datetime.now(UTC), strata=out)

    async def lookup(self, req: EntitiesRequest) -> EntitiesReply:
        found = [self.entities[u] for u in req.usccs if u in self.entities]
        return EntitiesReply(
            entities=found, missing=[u for u in req.usccs if u not in self.entities]
        )

    async def roster(self, req: InspectorsRequest) -> InspectorsReply:
        people = [
            i for i in self.inspectors if not req.departments or i.department in req.departments
        ]
        page = people[req.offset : req.offset + req.limit]
        nxt = req.offset + req.limit if req.offset + req.limit < len(people) else None
        return InspectorsReply(inspectors=page, next_offset=nxt)
