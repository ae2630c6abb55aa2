"""The ceremony's commands: start, seed, commit-reveal, resume and redraw (two officers).

The decisions live in `domain/`; this module reads and writes the store, asks the registry and
publishes events. Every state change is one transaction with its audit entry; events go out
after the commit with deterministic ids, so a retry never publishes a fact twice. Each command
answers the draw's status afterwards (read through `queries.py`), which is what its route returns.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg

from contracts import subjects
from contracts.draw import DrawSeeded, DrawStatus, DrawSuperseded
from services.draw import store
from services.draw.commands.freeze import Freezer
from services.draw.commands.selection import Selection
from services.draw.domain import machine, seeds
from services.draw.domain.machine import Draw, DrawState
from services.draw.domain.seeds import SeedSource
from services.draw.queries import DrawQueries
from services.kit.envelope import event_id
from services.kit.errors import Conflict
from services.kit.service import ServiceContext

log = logging.getLogger("spotcheck.draw")


def _now() -> datetime:
    return datetime.now(UTC)


class Ceremony:
    """Start, seed, redraw (two officers) and commit-reveal of draws."""

    def __init__(
        self,
        *,
        ctx: ServiceContext,
        freezer: Freezer,
        selection: Selection,
        queries: DrawQueries,
    ) -> None:
        self.ctx = ctx
        self.freezer = freezer
        self.selection = selection
        self.queries = queries

    # -- start: freeze and commit ------------------------------------------------------------

    async def start(self, plan_id: str, *, by: str) -> DrawStatus:
        """Start the ceremony of an approved plan: freeze every stratum, publish the commitment.

        A plan has one live draw; a draw left in `freezing` (registry unreachable) is resumed.
        Two officers starting the same plan at once (on any copies): one freezes, the other
        gets `409 draw_starting` at once.
        """
        async with self._starting(plan_id, step="start"):
            return await self._start(plan_id, by=by)

    @asynccontextmanager
    async def _starting(self, plan_id: str, *, step: str) -> AsyncIterator[None]:
        """Hold the plan's start lock while a draw of it is created, frozen and committed.

        The freeze is a registry call of up to minutes outside any row lock, so the draw's row
        cannot guard it: without this lock two copies would both freeze a `freezing` draw and
        the later commit would fail on the first one's strata.
        """
        async with self.ctx.db.pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            try:
                if not await store.try_lock_start(conn, plan_id):
                    raise Conflict(
                        f"{step} refused: a draw of plan {plan_id} is being started or "
                        "redrawn (frozen and committed) by another request right now; its "
                        "draw is in GET /draws",
                        code="draw_starting",
                    )
                yield
            finally:
                # The lock's transaction wrote nothing. A connection lost meanwhile (PostgreSQL
                # restarted) took the lock with it, and must not turn a start whose own
                # transactions committed into an error.
                with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                    await tx.rollback()

    async def _start(self, plan_id: str, *, by: str) -> DrawStatus:
        async with self.ctx.db.transaction() as conn:
            plan = await store.get_plan(conn, plan_id)
            existing = await store.active_draw_of_plan(conn, plan_id)
            if existing is not None:
                d = await store.get_draw(conn, existing)
                if d.state is not DrawState.FREEZING:
                    raise Conflict(
                        f"plan {plan_id} already has draw {existing} ({d.state}); "
                        "a new draw needs a redraw with a written reason",
                        code="already_drawn",
                    )
            else:
                d = machine.new_draw(f"D-{uuid.uuid4().hex[:12]}", plan_id)
                await store.insert_draw(conn, d, rules_version=plan.rules_version, created_by=by)
                await self.ctx.audit.append(
                    conn, actor=by, action="draw.start", subject=d.draw_id, data={"plan": plan_id}
                )
        await self.freezer.freeze_and_commit(d, plan, by=by)
        return await self.queries.status(d.draw_id)

    # -- seed ---------------------------------------------------------------------------------

    async def seed(self, draw_id: str, seed: str, source: str, *, by: str) -> DrawStatus:
        """Accept a dice or beacon seed, then select, staff and publish."""
        value = seeds.check_seed(seed, source, allow_demo=self.ctx.settings.allow_demo_seed)
        await self._accept(draw_id, value, SeedSource(source), by=by)
        await self.selection.run(draw_id)
        return await self.queries.status(draw_id)

    async def _accept(self, draw_id: str, value: str, source: SeedSource, *, by: str) -> Draw:
        async with self.ctx.db.transaction() as conn:
            d = await store.get_draw(conn, draw_id, lock=True)
            d = machine.accept_seed(d, value, source=source, entered_by=by, at=_now())
            await store.update_draw(conn, d)
            await self.ctx.audit.append(
                conn,
                actor=by,
                action="draw.seeded",
                subject=draw_id,
                data={"seed": value, "source": source.value},
            )
            assert d.seeded_at is not None
            await self.ctx.outbox.add(
                conn,
                subjects.event("draw", "seeded"),
                DrawSeeded(
                    draw_id=draw_id,
                    seed=value,
                    seed_source=source.value,
                    entered_by=by,
                    seeded_at=d.seeded_at,
                ),
                event_id=event_id("seeded", draw_id),
            )
        return d

    async def register_party(
        self, draw_id: str, party_id: str, commitment: str, *, by: str
    ) -> DrawStatus:
        """A party registers the SHA-256 of its secret (only after the draw's commitment)."""
        async with self.ctx.db.transaction() as conn:
            d = await store.get_draw(conn, draw_id, lock=True)
            self._parties_open(d)
            ceremony = await store.parties(conn, draw_id)
            ceremony = ceremony.register(party_id, commitment, by=by)
            await store.add_party(conn, draw_id, ceremony.parties[-1])
            await self.ctx.audit.append(
                conn,
                actor=by,
                action="draw.party.registered",
                subject=draw_id,
                data={"party_id": party_id, "commitment_sha256": commitment},
            )
        return await self.queries.status(draw_id)

    async def reveal_party(
        self, draw_id: str, party_id: str, secret: str, *, by: str
    ) -> DrawStatus:
        """A party reveals; when the last one has, the seed is derived and the draw runs."""
        async with self.ctx.db.transaction() as conn:
            d = await store.get_draw(conn, draw_id, lock=True)
            self._parties_open(d)
            ceremony = (await store.parties(conn, draw_id)).reveal(party_id, secret)
            await store.reveal_party(conn, draw_id, party_id, secret)
            await self.ctx.audit.append(
                conn,
                actor=by,
                action="draw.party.revealed",
                subject=draw_id,
                data={"party_id": party_id},
            )
        if ceremony.complete:
            await self._accept(draw_id, ceremony.seed(), SeedSource.PARTIES, by=by)
            await self.selection.run(draw_id)
        return await self.queries.status(draw_id)

    @staticmethod
    def _parties_open(d: Draw) -> None:
        if d.state is DrawState.FREEZING:
            raise Conflict(
                "the draw has no published commitment yet", code="seed_before_commitment"
            )
        if d.state is not DrawState.COMMITTED:
            raise Conflict(f"draw {d.draw_id} is {d.state}: no more parties", code="wrong_state")

    async def resume(self, draw_id: str) -> DrawStatus:
        """Finish a seeded draw whose selection or staffing was interrupted (registry down).

        Selection and teams depend only on stored facts and the seed, so running them again
        gives the same result.
        """
        async with self.ctx.db.pool.acquire() as conn:
            d = await store.get_draw(conn, draw_id)
        if d.state is not DrawState.SEEDED:
            raise Conflict(
                f"draw {draw_id} is {d.state}; only a seeded draw resumes", code="wrong_state"
            )
        await self.selection.run(draw_id)
        return await self.queries.status(draw_id)

    async def resume_all(self) -> None:
        """At start: resume every seeded draw (best effort; the endpoint retries)."""
        async with self.ctx.db.pool.acquire() as conn:
            draw_ids = await store.seeded_draws(conn)
        for draw_id in draw_ids:
            try:
                await self.resume(draw_id)
            except Exception as exc:
                log.warning("draw %s could not resume yet: %s", draw_id, exc)

    # -- redraw: two draw officers ------------------------------------------------------------

    async def request_redraw(self, draw_id: str, *, reason: str, by: str) -> DrawStatus:
        """A draw officer asks for a redraw with a written reason; it waits for a second one.

        Refused at once when a task of the draw is in progress or has its result.
        """
        async with self.ctx.db.transaction() as conn:
            d = await store.get_draw(conn, draw_id, lock=True)
            done = await store.work_done(conn, draw_id)
            d = machine.request_redraw(d, reason=reason, by=by, at=_now(), done=done)
            await store.update_draw(conn, d)
            assert d.redraw_pending is not None
            await self.ctx.audit.append(
                conn,
                actor=by,
                action="draw.redraw.requested",
                subject=draw_id,
                data={"reason": d.redraw_pending.reason},
            )
        return await self.queries.status(draw_id)

    async def cancel_redraw(self, draw_id: str, *, by: str) -> DrawStatus:
        """Withdraw a pending redraw request."""
        async with self.ctx.db.transaction() as conn:
            d = await store.get_draw(conn, draw_id, lock=True)
            pending = d.redraw_pending
            d = machine.cancel_redraw(d, by=by)
            await store.update_draw(conn, d)
            assert pending is not None
            await self.ctx.audit.append(
                conn,
                actor=by,
                action="draw.redraw.cancelled",
                subject=draw_id,
                data={"requested_by": pending.by, "reason": pending.reason},
            )
        return await self.queries.status(draw_id)

    async def confirm_redraw(self, draw_id: str, *, by: str) -> DrawStatus:
        """A second draw officer confirms: the draw is superseded (kept, public) by a new one
        that freezes and commits afresh. Both officers go into the records and the audit.

        Under the plan's start lock: a start of the plan on another copy cannot freeze the new
        draw at the same time."""
        async with self.ctx.db.pool.acquire() as conn:
            plan_id = (await store.get_draw(conn, draw_id)).plan_id
        async with self._starting(plan_id, step=f"confirming the redraw of {draw_id}"):
            return await self._confirm_redraw(draw_id, by=by)

    async def _confirm_redraw(self, draw_id: str, *, by: str) -> DrawStatus:
        async with self.ctx.db.transaction() as conn:
            d = await store.get_draw(conn, draw_id, lock=True)
            plan = await store.get_plan(conn, d.plan_id)
            done = await store.work_done(conn, draw_id)
            at = _now()
            old, new = machine.confirm_redraw(
                d, new_draw_id=f"D-{uuid.uuid4().hex[:12]}", by=by, at=at, done=done
            )
            assert old.redraw_by is not None and old.redraw_reason is not None
            await store.update_draw(conn, old)
            await store.supersede_tasks(conn, draw_id)
            await store.insert_draw(conn, new, rules_version=plan.rules_version, created_by=by)
            await self.ctx.audit.append(
                conn,
                actor=by,
                action="draw.redraw",
                subject=draw_id,
                data={
                    "superseded_by": new.draw_id,
                    "reason": old.redraw_reason,
                    "requested_by": old.redraw_by,
                    "confirmed_by": by,
                },
            )
            await self.ctx.outbox.add(
                conn,
                subjects.event("draw", "superseded"),
                DrawSuperseded(
                    draw_id=draw_id,
                    superseded_by=new.draw_id,
                    reason=old.redraw_reason,
                    by=old.redraw_by,
                    confirmed_by=by,
                    at=at,
                ),
                event_id=event_id("superseded", draw_id),
            )
        await self.freezer.freeze_and_commit(new, plan, by=by)
        return await self.queries.status(new.draw_id)
