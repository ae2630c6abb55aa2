"""Keeping the entity directory current between imports: registrations from business
registration, and risk classes from the credit system (one reclassification, or a full push
in chunks, applied atomically once complete)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from contracts.registry import EntityRecord, RiskClassFullPush
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.errors import PoisonMessage
from services.registry.domain import uscc as uscc_mod
from services.registry.domain.rows import ENTITY_FIELDS, Vocabulary, validate_entity
from services.registry.store import entities, risk

log = logging.getLogger("spotcheck.registry")
ACTOR_BR = "business-registration"
ACTOR_CREDIT = "credit-risk-system"


class Directory:
    """Changes to the entity directory that arrive one message at a time."""

    def __init__(self, *, db: Database, audit: AuditTrail, vocab: Vocabulary) -> None:
        self.db = db
        self.audit = audit
        self.vocab = vocab

    async def upsert_entity(self, body: EntityRecord, *, event: str) -> bool:
        """One entity from business registration; True when something changed. A record that
        fails validation is refused (PoisonMessage, with the reasons)."""
        values = [getattr(body, f) for f in ENTITY_FIELDS]
        values[6] = body.abnormal
        record, errors = validate_entity(values, self.vocab)
        if record is None:
            raise PoisonMessage(
                "entity refused: " + "; ".join(f"{e.field}: {e.en}" for e in errors),
                details=[e.as_dict() for e in errors],
            )
        async with self.db.transaction() as conn:
            changed = await entities.upsert_entity(conn, record, datetime.now(UTC))
            if changed:
                await self.audit.append(
                    conn,
                    actor=ACTOR_BR,
                    action="registry.entity.upsert",
                    subject=record[0],
                    data={"event_id": event},
                )
        return changed

    async def set_risk_class(
        self, uscc: str, given_class: str, effective: date, *, event: str
    ) -> str:
        """One entity reclassified; the outcome ("applied", "unchanged", "stale"). An unknown
        class or entity is refused (PoisonMessage)."""
        risk_class = given_class.strip().upper()
        if risk_class not in self.vocab.risk_classes:
            raise PoisonMessage(
                f"unknown risk class {given_class!r} "
                f"(configured: {sorted(self.vocab.risk_classes)})"
            )
        async with self.db.transaction() as conn:
            outcome = await risk.set_risk_class(
                conn, uscc, risk_class, effective, datetime.now(UTC)
            )
            if outcome == "unknown_entity":
                raise PoisonMessage(f"risk class for unknown entity {uscc}")
            await self.audit.append(
                conn,
                actor=ACTOR_CREDIT,
                action="registry.risk_class.updated",
                subject=uscc,
                data={
                    "risk_class": risk_class,
                    "effective_date": effective.isoformat(),
                    "outcome": outcome,
                    "event_id": event,
                },
            )
        return outcome

    async def receive_full_push(self, body: RiskClassFullPush) -> None:
        """A chunk of a full push; the push is applied atomically once all its chunks are in.

        A push naming an unknown class or a malformed USCC anywhere is refused as a whole.
        """
        if body.chunk >= body.total_chunks:
            raise PoisonMessage(f"chunk {body.chunk} of {body.total_chunks}")
        async with self.db.transaction() as conn:
            if await risk.push_state(conn, body.push_id) is not None:
                return  # already applied or refused: a redelivery changes nothing
            await risk.add_push_chunk(
                conn,
                push_id=body.push_id,
                chunk=body.chunk,
                total_chunks=body.total_chunks,
                effective=body.effective_date,
                items=[[i.uscc, i.risk_class] for i in body.items],
            )
            await risk.lock_push(conn, body.push_id)
            if await risk.push_chunks_kept(conn, body.push_id) < body.total_chunks:
                return
            items, problems = self._check_push(await risk.push_items(conn, body.push_id))
            at = datetime.now(UTC)
            counts: dict[str, Any]
            if problems:
                await risk.decide_push(
                    conn,
                    body.push_id,
                    state="refused",
                    items=len(items),
                    reason="; ".join(problems[:20]),
                )
                counts = {"refused": len(problems), "first": problems[:20]}
                action = "registry.risk_class.full_push.refused"
            else:
                counts = await risk.apply_full_push(
                    conn, sorted(items.items()), body.effective_date, at
                )
                await risk.decide_push(conn, body.push_id, state="applied", items=len(items))
                action = "registry.risk_class.full_push"
            await self.audit.append(
                conn,
                actor=ACTOR_CREDIT,
                action=action,
                subject=body.push_id,
                data={**counts, "effective_date": body.effective_date.isoformat()},
            )
        if problems:
            log.error("full push %s refused: %s", body.push_id, "; ".join(problems[:5]))

    def _check_push(self, chunks: list[list[Any]]) -> tuple[dict[str, str], list[str]]:
        """The classes of a whole push by USCC, and what is wrong with it."""
        items: dict[str, str] = {}
        problems: list[str] = []
        for chunk in chunks:
            for uscc, risk_class in chunk:
                cls = str(risk_class).strip().upper()
                if cls not in self.vocab.risk_classes:
                    problems.append(f"{uscc}: unknown risk class {risk_class!r}")
                if not uscc_mod.is_valid(uscc):
                    problems.append(f"{uscc}: not a valid USCC")
                if uscc in items and items[uscc] != cls:
                    problems.append(f"{uscc}: two different classes in one push")
                items[uscc] = cls
        return items, problems
