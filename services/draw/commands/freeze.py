"""Freezing and committing a draw: exclusions, the registry's snapshot, the commitment.

The registry freezes each stratum's candidates into the object store; the draw checks every
list against the registry's hash and the plan's frequency exclusions, keeps its own immutable
copy, and publishes the commitment before anyone can give a seed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from contracts import subjects
from contracts.draw import CommittedStratum, DrawCommitted
from contracts.planner import PlanApproved
from contracts.registry import FreezeReply, FreezeRequest, StratumSpec
from services.draw import store
from services.draw.domain import exclusions, machine, spec
from services.draw.domain.machine import Draw, DrawState
from services.kit.envelope import event_id
from services.kit.errors import Conflict, TemporaryError
from services.kit.service import ServiceContext


class Freezer:
    """Freeze a draw's strata via the registry and commit to them."""

    def __init__(
        self,
        *,
        ctx: ServiceContext,
        exclude_inline_max: int = exclusions.INLINE_MAX,
        exclude_request_max: int = exclusions.REQUEST_MAX,
    ) -> None:
        self.ctx = ctx
        # Beyond these sizes exclusion lists go to the object store (domain/exclusions.py).
        self.exclude_inline_max = exclude_inline_max
        self.exclude_request_max = exclude_request_max

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

    async def freeze_and_commit(self, draw: Draw, plan: PlanApproved, *, by: str) -> None:
        """Freeze every stratum of the plan, store the lists, commit and publish the commitment."""
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
            if current.state is not DrawState.FREEZING:
                # Committed meanwhile by another request: its strata are stored, not ours.
                raise Conflict(
                    f"draw {draw.draw_id} is {current.state}: its candidate lists are already "
                    "frozen and committed",
                    code="already_committed",
                )
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
            at = datetime.now(UTC)
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
