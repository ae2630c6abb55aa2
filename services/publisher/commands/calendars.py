"""The publisher's holiday calendar: taken from each rule-set activation, stored in PostgreSQL,
read under a lock by every deadline it computes, and applied to the deadlines it changes.

The calendar lives in one row (`holiday_calendar`), never only in a process's memory, so every
copy of the publisher counts with the same one. Accepting results reads it holding the
calendar's lock shared, inside the transaction that stores them; an activation takes the lock
exclusively, replaces the calendar and, in the same transaction, recomputes every stored
deadline that counts a changed day and queues `publisher.deadline.changed` in the outbox.
Whichever commits first, no result keeps a deadline counted with a calendar already replaced.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime

from contracts import subjects
from contracts.planner import RulesActivated
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.envelope import event_id
from services.kit.outbox import Outbox
from services.publisher import store
from services.publisher.domain.deadlines import change_events, publication_due, restate
from services.publisher.workdays import WorkdaysCache

log = logging.getLogger("spotcheck.publisher.calendar")

ACTOR = "planner"  # the change comes from the planner's activation (its actor is in the data)


class Calendars:
    """Taking an activated rule set's holiday calendar, and stamping due dates with the stored
    one."""

    def __init__(
        self, *, db: Database, audit: AuditTrail, outbox: Outbox, workdays: WorkdaysCache
    ) -> None:
        self.db = db
        self.audit = audit
        self.outbox = outbox
        self.workdays = workdays

    async def stamp(self, conn: store.Conn, rows: list[store.NewResult]) -> list[store.NewResult]:
        """`rows` with their due dates counted on the stored calendar, read holding its lock
        shared (call inside the transaction that inserts them)."""
        await store.lock_calendar(conn, exclusive=False)
        workdays = self.workdays.of(await store.read_calendar(conn))
        out = []
        for row in rows:
            due = publication_due(row.check_date, workdays=workdays)
            out.append(
                dataclasses.replace(row, due_date=due.day, due_date_provisional=due.provisional)
            )
        return out

    async def activate(self, event: RulesActivated, *, cause: str) -> int:
        """Take the holiday schedules of an activated rule set; returns how many stored
        deadlines changed (each announced in `publisher.deadline.changed`).

        `cause` (the activation event's id) names the change events, so a redelivered
        activation queues nothing twice; an activation older than the stored one is ignored
        (a consumer replaying the stream from its start ends with the newest).
        """
        async with self.db.transaction() as conn:
            await store.lock_calendar(conn, exclusive=True)
            stored = await store.read_calendar(conn)
            if stored.activated_at is not None and (
                event.activated_at < stored.activated_at
                or (
                    event.activated_at == stored.activated_at
                    and event.version == stored.rules_version
                )
            ):
                return 0
            old = self.workdays.of(stored)
            new = self.workdays.build(event.version, event.holidays)
            await store.save_calendar(
                conn,
                rules_version=event.version,
                activated_at=event.activated_at,
                schedules=[h.model_dump(mode="json") for h in event.holidays],
            )
            days = old.changed_days(new)
            changes = []
            if days:
                rows = await store.deadlines_touching(conn, days[0], days[-1])
                changes = restate(rows, new)
                await store.update_deadlines(
                    conn, [(c.result_id, c.version, c.due_date, c.provisional) for c in changes]
                )
            years = sorted({d.year for d in days})
            events = change_events(
                changes, rules_version=event.version, years=years, at=datetime.now(UTC)
            )
            for ev in events:
                await self.outbox.add(
                    conn,
                    subjects.event("publisher", "deadline.changed"),
                    ev,
                    event_id=event_id("deadline.changed", cause, ev.part),
                )
            await self.audit.append(
                conn,
                actor=ACTOR,
                action="calendar.activated",
                subject=event.version,
                data={
                    "activated_by": event.activated_by,
                    "holiday_files": [h.year for h in event.holidays],
                    "changed_years": years,
                    "deadlines_changed": len(changes),
                },
            )
        if events:
            try:
                await self.outbox.flush()
            except Exception as exc:  # committed: the outbox's relay publishes it later
                log.warning("deadline.changed stays in the outbox for the relay: %s", exc)
        return len(changes)
