"""The ceremony with its I/O: freeze via the registry, commit, seed, redraw, commit-reveal.

The decisions live in `domain/`; this module reads and writes the store, asks the registry and
publishes events. Every state change is one transaction with its audit entry; events go out
after the commit with deterministic ids, so a retry never publishes a fact twice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from contracts import subjects
from contracts.draw import (
    CommittedStratum,
    DrawCommitted,
    DrawSeeded,
    DrawStatus,
    DrawSuperseded,
    RedrawRequest,
)
from contracts.planner import PlanApproved
from contracts.registry import FreezeReply, FreezeRequest, StratumSpec
from services.draw import store
from services.draw.domain import exclusions, machine, seeds, spec
from services.draw.domain.machine import Draw, DrawState
from services.draw.domain.seeds import SeedSource
from services.draw.selection import Selector
from services.kit.envelope import event_id
from services.kit.errors import Conflict, TemporaryError
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
        selector: Selector,
        exclude_inline_max: int = exclusions.INLINE_MAX,
        exclude_request_max: int = exclusions.REQUEST_MAX,
    ) -> None:
        self.ctx = ctx
        self.selector = selector
        # Beyond these sizes exclusion lists go to the object store (domain/exclusions.py).
        self.exclude_inline_max = exclude_inline_max
        self.exclude_request_max = exclude_request_max

    # -- status ---------------------------------------------------------------------------

    async def status(self, draw_id: str) -> DrawStatus:
        """The ceremony state of one draw."""
        async with self.ctx.db.pool.acquire() as conn:
            d = await store.get_draw(conn, draw_id)
            n, u = await store.task_counts(conn, draw_id)
            parties = await store.parties(conn, draw_id)
        return DrawStatus(
            draw_id=d.draw_id,
            plan_id=d.plan_id,
            state=d.state.value,
            commitment_sha256=d.commitment_sha256,
            seed_source=d.seed_source.value if d.seed_source else None,
            seed_entered_by=d.seed_entered_by,
            seeded_at=d.seeded_at,
            supersedes=d.supersedes,
            superseded_by=d.superseded_by,
            redraw_reason=d.redraw_reason,
            redraw_by=d.redraw_by,
            redraw_confirmed_by=d.redraw_confirmed_by,
            redraw_pending=None
            if d.redraw_pending is None
            else RedrawRequest(
                reason=d.redraw_pending.reason,
                requested_by=d.redraw_pending.by,
                requested_at=d.redraw_pending.at,
            ),
            tasks=n,
            unstaffed=u,
            parties=store.public_parties(parties),
        )

    # -- start: freeze and commit ------------------------------------------------------------

    async def start(self, plan_id: str, *, by: str) -> DrawStatus:
        """Start the ceremony of an approved plan: freeze every stratum, publish the commitment.

        A plan has one live draw; a draw left in `freezing` (registry unreachable) is resumed.
        """
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
        await self._freeze_and_commit(d, plan, by=by)
        return await self.status(d.draw_id)

    async def _exclusions(self, plan: PlanApproved) -> dict[str, tuple[str, ...]]:
        """USCCs each stratum leaves out under its own frequency window (byte order).

        Each window is looked up once; strata under the same windows share one tuple: a
        province's 800 strata may all exclude the same 250k entities, which are then sorted,
        hashed and checked once (domain/exclusions.py).
        """
        windows = plan.frequency_exclusions
        which = exclusions.windows_of(
            [(s.stratum_id, s.item_codes) for s in plan.strata],
            [(fe.item_codes, fe.stratum_ids) for fe in windows],
        )
        used = {i for ws in which.values() for i in ws}
        found: list[list[str]] = []
        async with self.ctx.db.pool.acquire() as conn:
            for i, fe in enumerate(windows):
                found.append(
                    await store.excluded_usccs(
                        conn,
                        item_codes=fe.item_codes,
                        departments=fe.departments,
                        since=fe.since,
                        times=fe.times,
                    )
                    if i in used
                    else []
                )
        return exclusions.per_stratum(which, found)

    async def _freeze_and_commit(self, draw: Draw, plan: PlanApproved, *, by: str) -> None:
        excluded = await self._exclusions(plan)
        sending = exclusions.plan_exclusions(
            draw.draw_id,
            excluded,
            inline_max=self.exclude_inline_max,
            request_max=self.exclude_request_max,
        )
        bucket = await self.ctx.bus.object_store(subjects.SNAPSHOTS_BUCKET)
        for name, data in sending.objects.items():
            # Named by its hash: writing it again (a resumed freeze) writes the same bytes.
            await bucket.put(name, data)
        request = FreezeRequest(
            request_id=draw.draw_id,
            strata=[
                StratumSpec(
                    stratum_id=s.stratum_id,
                    filter=s.filter,
                    exclude_usccs=list(sending.inline.get(s.stratum_id, ())),
                    exclude_object=sending.by_object.get(s.stratum_id),
                )
                for s in plan.strata
            ],
        )
        reply = await self.ctx.bus.request(
            subjects.rpc("registry", "freeze"),
            request,
            FreezeReply,
            timeout=max(self.ctx.settings.rpc_timeout_s, 600.0),
        )
        by_id = {s.stratum_id: s for s in plan.strata}
        if {s.stratum_id for s in reply.strata} != set(by_id):
            raise TemporaryError("the registry froze other strata than the plan's")
        committed: list[CommittedStratum] = []
        lines: list[spec.CommittedStratum] = []
        out_sets: dict[int, frozenset[str]] = {}  # one set per distinct exclusion list
        async with self.ctx.db.transaction() as conn:
            current = await store.get_draw(conn, draw.draw_id, lock=True)
            for frozen in sorted(reply.strata, key=lambda f: f.stratum_id):
                got = await bucket.get(frozen.object_name)
                body = bytes(got.data or b"")
                usccs = body.decode("utf-8")[:-1].split("\n") if body else []
                hasher = spec.CandidateHasher()
                hasher.update(usccs)
                if hasher.hexdigest() != frozen.candidates_sha256 or hasher.n != frozen.n:
                    raise TemporaryError(
                        f"stratum {frozen.stratum_id}: the snapshot list does not match the "
                        "registry's hash; not committing"
                    )
                left_out = excluded.get(frozen.stratum_id, ())
                out_set = out_sets.get(id(left_out))
                if out_set is None:
                    out_set = out_sets[id(left_out)] = frozenset(left_out)
                wrong = exclusions.leaked(usccs, out_set)
                if wrong is not None:
                    # Never commit a list the registry did not filter as asked (e.g. a
                    # registry that does not read `exclude_object`).
                    raise Conflict(
                        f"stratum {frozen.stratum_id}: the registry kept {wrong}, which the "
                        "plan's frequency rules exclude; not committing",
                        code="exclusions_ignored",
                    )
                rs = by_id[frozen.stratum_id]
                bp, count = (rs.bp, None) if rs.bp is not None else (None, rs.count or 0)
                if count is not None and rs.count_cap_bp is not None:
                    # A planned count is still bound by the rules' cap on the frozen n; the
                    # record keeps the effective count so that k re-derives from it.
                    count = min(count, spec.sample_size(hasher.n, bp=rs.count_cap_bp))
                k = spec.sample_size(hasher.n, bp=bp, count=count)
                await store.insert_stratum(
                    conn,
                    draw.draw_id,
                    stratum_id=frozen.stratum_id,
                    n=hasher.n,
                    bp=bp,
                    count=count,
                    k=k,
                    candidates_sha256=frozen.candidates_sha256,
                    object_name=frozen.object_name,
                    body=body,
                )
                committed.append(
                    CommittedStratum(
                        stratum_id=frozen.stratum_id,
                        n=hasher.n,
                        bp=bp,
                        k=k,
                        candidates_sha256=frozen.candidates_sha256,
                    )
                )
                lines.append(
                    spec.CommittedStratum(frozen.stratum_id, hasher.n, k, frozen.candidates_sha256)
                )
            at = _now()
            done = machine.commit(current, spec.commitment_sha256(lines), at=at)
            await store.update_draw(conn, done, snapshot_id=reply.snapshot_id)
            await self.ctx.audit.append(
                conn,
                actor=by,
                action="draw.committed",
                subject=draw.draw_id,
                data={"commitment_sha256": done.commitment_sha256, "strata": len(lines)},
            )
            event = DrawCommitted(
                draw_id=draw.draw_id,
                plan_id=draw.plan_id,
                rules_version=plan.rules_version,
                snapshot_id=reply.snapshot_id,
                commitment_sha256=done.commitment_sha256 or "",
                strata=committed,
                committed_at=at,
            )
            await self.ctx.outbox.add(
                conn,
                subjects.event("draw", "committed"),
                event,
                event_id=event_id("committed", draw.draw_id),
            )
        # The commitment is public before anyone can give a seed.
        await self.ctx.outbox.flush()

    # -- seed ---------------------------------------------------------------------------------

    async def seed(self, draw_id: str, seed: str, source: str, *, by: str) -> DrawStatus:
        """Accept a dice or beacon seed, then select, staff and publish."""
        value = seeds.check_seed(seed, source, allow_demo=self.ctx.settings.allow_demo_seed)
        await self._accept(draw_id, value, SeedSource(source), by=by)
        await self.selector.run(draw_id)
        return await self.status(draw_id)

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
        return await self.status(draw_id)

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
            await self.selector.run(draw_id)
        return await self.status(draw_id)

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
        await self.selector.run(draw_id)
        return await self.status(draw_id)

    async def resume_all(self) -> None:
        """At start: resume every seeded draw (best effort; the endpoint retries)."""
        async with self.ctx.db.pool.acquire() as conn:
            rows = await conn.fetch("SELECT draw_id FROM draws WHERE state = 'seeded'")
        for r in rows:
            try:
                await self.resume(r["draw_id"])
            except Exception as exc:
                log.warning("draw %s could not resume yet: %s", r["draw_id"], exc)

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
        return await self.status(draw_id)

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
        return await self.status(draw_id)

    async def confirm_redraw(self, draw_id: str, *, by: str) -> DrawStatus:
        """A second draw officer confirms: the draw is superseded (kept, public) by a new one
        that freezes and commits afresh. Both officers go into the records and the audit."""
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
        await self._freeze_and_commit(new, plan, by=by)
        return await self.status(new.draw_id)
