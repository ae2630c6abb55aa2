"""Operators' commands on deliveries: a dead letter replayed under the same idempotency key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from contracts.publisher import Delivery, DeliveryState
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.errors import NotFound
from services.publisher import store
from services.publisher.domain import delivery as policy


class Deliveries:
    """Replays of dead letters (audited; the relay is woken at once)."""

    def __init__(self, *, db: Database, audit: AuditTrail, wake: asyncio.Event) -> None:
        self.db = db
        self.audit = audit
        self.wake = wake

    async def replay(self, delivery_id: int, *, actor: str) -> Delivery:
        """A dead letter goes back to pending (same key); audited."""
        async with self.db.transaction() as conn:
            row = await store.get_delivery(conn, delivery_id)
            if row is None:
                raise NotFound(f"no delivery {delivery_id}")
            outcome = policy.replay(DeliveryState(row.state), now=datetime.now(UTC))
            await store.set_pending(conn, delivery_id, outcome)
            await self.audit.append(
                conn,
                actor=actor,
                action="delivery.replayed",
                subject=str(delivery_id),
                data={
                    "idempotency_key": row.idempotency_key,
                    "last_error": row.last_error,
                    "attempts": row.attempts,
                },
            )
            row = await store.get_delivery(conn, delivery_id)
        self.wake.set()
        assert row is not None
        return row
