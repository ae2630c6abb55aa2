"""The planner's use cases: activate rules (hot), check, simulate, submit and show plans.

Which rule set is active is recorded in PostgreSQL, never only in one process's memory (DESIGN
§11): every copy of the planner reads the active version (one index row) before it resolves or
simulates a plan or says which rules are active, and compiles that version's stored files when
it has not yet. Compiled versions are cached per version, each with its own durable-rules
`Host`. The `rules.activated` event makes every copy compile a new version at once (a warm-up;
correctness never waits for it). Activations are serialised in the database, so two copies
activating at once leave one active version and a history whose `previous_version`s chain.

durable-rules calls block and hold the GIL, so every engine call runs on one worker thread
(`_run`), never on the event loop. A plan takes its (RuleSet, RuleEngine) pair once and
resolves wholly under it, so it uses the old or the new version, never a mix. A set that fails
its check is never recorded, so it never replaces the active one in any copy.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from contracts import subjects
from contracts.planner import PlanRejected, PlanSubmission, RulesActivated
from contracts.registry import StatsReply
from services.kit.envelope import event_id
from services.kit.errors import Conflict, NotFound, TemporaryError
from services.kit.service import ServiceContext
from services.planner.domain.counts import count_queries, stratum_counts
from services.planner.domain.engine import Outcome, RuleEngine
from services.planner.domain.plan import PlanInvalid, check_plan, filing_flags
from services.planner.domain.resolve import (
    Planned,
    approved_event,
    plan_strata,
    resolve,
    sized,
)
from services.planner.domain.ruleset import RuleSet, RulesInvalid, load_ruleset
from services.planner.store import PlannerStore

log = logging.getLogger("spotcheck.planner")
T = TypeVar("T")
Compiled = tuple[RuleSet, RuleEngine]

CACHED_VERSIONS = 4
"""Compiled versions one copy keeps: the active one and a few before it, so that a rollback
or a plan still resolving under the previous version costs no recompile."""


class Planner:
    """The planner service's use cases over its store and bus, with compiled rule sets cached
    per version (which version is active is PostgreSQL's to say)."""

    def __init__(self, *, ctx: ServiceContext, store: PlannerStore) -> None:
        self.ctx = ctx
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rules")
        self._compiled: OrderedDict[str, Compiled] = OrderedDict()
        # Stored versions this copy's check refuses (its code is stricter than the copy that
        # activated them): kept so that every request does not compile them again.
        self._unusable: dict[str, str] = {}
        self._loading = asyncio.Lock()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    @property
    def compiled_versions(self) -> list[str]:
        """The versions this copy holds compiled, least recently used first."""
        return list(self._compiled)

    async def close(self) -> None:
        """Stop the worker thread and the engines' timers."""
        for _, engine in self._compiled.values():
            engine.close()
        self._compiled.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _compile(self, files: dict[str, bytes]) -> Compiled:
        def build() -> Compiled:
            ruleset = load_ruleset(files)  # raises RulesInvalid with every error
            return ruleset, RuleEngine(ruleset)

        return await self._run(build)

    def _cached(self, version: str) -> Compiled | None:
        pair = self._compiled.get(version)
        if pair is not None:
            self._compiled.move_to_end(version)
        return pair

    def _keep(self, pair: Compiled) -> Compiled:
        """Cache a compiled version (the one already cached wins); retire the oldest."""
        version = pair[0].version
        kept = self._cached(version)
        if kept is not None:
            if kept[1] is not pair[1]:
                pair[1].close()
            return kept
        self._compiled[version] = pair
        while len(self._compiled) > CACHED_VERSIONS:
            _, (_, retired) = self._compiled.popitem(last=False)
            retired.close()  # timers only: a plan still holding it keeps working
        return pair

    async def current(self) -> Compiled:
        """The active rule set as PostgreSQL records it now, compiled.

        Asked before every plan, simulation and "which rules are active", by every copy: an
        activation committed by any copy is used by the next request of all of them, whether
        or not its `rules.activated` event has arrived. `Conflict` when none is active.
        """
        active = await self._current_or_none()
        if active is None:
            raise Conflict("no rule set is active: run `spotcheck rules activate`")
        return active

    async def _current_or_none(self) -> Compiled | None:
        version = await self.store.active_version()
        return None if version is None else await self._version(version)

    async def _version(self, version: str) -> Compiled:
        """A stored version compiled: from the cache, else from its files in PostgreSQL."""
        pair = self._cached(version)
        if pair is not None:
            return pair
        async with self._loading:  # one compile per version, however many requests wait
            pair = self._cached(version)
            if pair is not None:
                return pair
            if version in self._unusable:
                raise _unusable(version, self._unusable[version])
            stored = await self.store.version_files(version)
            if stored is None:
                raise Conflict(f"rule set {version} is active but its files are not stored")
            try:
                pair = await self._compile({p: t.encode("utf-8") for p, t in stored.items()})
            except RulesInvalid as exc:
                self._unusable[version] = exc.message
                log.error("active rule set %s does not pass this copy's check: %s", version, exc)
                raise _unusable(version, exc.message) from None
            if pair[0].version != version:  # the stored files were edited after activation
                pair[1].close()
                self._unusable[version] = f"its stored files hash to {pair[0].version}"
                raise _unusable(version, self._unusable[version])
            return self._keep(pair)

    async def warm(self, announced: str) -> None:
        """Compile the active version now, so the next plan does not wait for it.

        Called on `rules.activated` (from any copy). The event only says that something
        changed: which version is active is read from PostgreSQL, so a late or replayed event
        never brings an older version back.
        """
        try:
            active = await self._current_or_none()
        except Conflict as exc:
            log.error("rule set %s announced; the active one is unusable here: %s", announced, exc)
            return
        if active is not None and active[0].version != announced:
            log.info("rule set %s announced, %s is active since", announced, active[0].version)

    async def check(self, files: dict[str, bytes]) -> RuleSet:
        """Check a candidate rule set (and compile it) without activating it."""
        ruleset, engine = await self._compile(files)
        engine.close()
        return ruleset

    async def restore(self) -> None:
        """At start: compile the active version recorded in PostgreSQL.

        On the first start of a deployment (nothing ever activated) `settings.rules_dir` is
        activated, under the activation lock: copies starting together activate it once.
        """
        if await self.store.active_version() is None:
            from services.planner.rulefiles import read_rule_dir

            try:
                files = read_rule_dir(self.ctx.settings.rules_dir)
            except (OSError, ValueError) as exc:
                log.warning("no rule set active: %s", exc)
                return
            await self._activate(files, actor="planner-startup", unless_active=True)
        try:
            await self._current_or_none()
        except Conflict as exc:
            # Start anyway: plans are refused with this reason until a usable set is activated.
            log.error("%s", exc)

    async def activate(self, files: dict[str, bytes], *, actor: str) -> RulesActivated:
        """Check, compile and make active for every copy; record it; publish `rules.activated`."""
        event = await self._activate(files, actor=actor, unless_active=False)
        assert event is not None  # only a startup activation is ever skipped
        return event

    async def _activate(
        self, files: dict[str, bytes], *, actor: str, unless_active: bool
    ) -> RulesActivated | None:
        # A bad set raises here, before anything is recorded: no copy ever sees it.
        ruleset, engine = await self._compile(files)
        text = {p: b.decode("utf-8") for p, b in files.items()}
        summary = {
            "items": len(ruleset.items),
            "rules": len(ruleset.rules),
            "risk_classes": ruleset.risk_classes,
            "files": list(ruleset.files),
        }
        try:
            async with self.ctx.db.transaction() as conn:
                # Under the lock the previous version is the one really active, whichever copy
                # activated it; a concurrent activation waits and then chains after this one.
                prev_version = await self.store.lock_activations(conn)
                if unless_active and prev_version is not None:
                    engine.close()
                    return None  # another copy's startup activated first
                event = RulesActivated(
                    version=ruleset.version,
                    previous_version=prev_version,
                    files=list(ruleset.files),
                    activated_at=datetime.now(UTC),
                    activated_by=actor,
                    holidays=list(ruleset.holidays),  # the publisher's working days come with it
                )
                await self.store.save_version(conn, ruleset.version, text, summary)
                seq = await self.store.add_activation(conn, ruleset.version, prev_version, actor)
                await self.ctx.audit.append(
                    conn,
                    actor=actor,
                    action="rules.activate",
                    subject=ruleset.version,
                    data={"previous": prev_version},
                )
                # One event per row of the activation history: the id is that row's.
                await self.ctx.outbox.add(
                    conn,
                    subjects.event("planner", "rules.activated"),
                    event,
                    event_id=event_id("rules.activated", seq, ruleset.version[:16]),
                )
        except BaseException:
            engine.close()
            raise
        self._keep((ruleset, engine))  # this copy's next plan needs no compile
        await self._flush()
        return event

    async def _flush(self) -> None:
        """Publish the events just committed before answering.

        The change is committed and its event is in the outbox: if NATS is unreachable now,
        the relay publishes it later, so the answer still reports success.
        """
        try:
            await self.ctx.outbox.flush()
        except Exception as exc:
            log.warning("events stay in the outbox for the relay: %s", exc)

    async def submit(self, plan: PlanSubmission, *, actor: str) -> dict[str, Any]:
        """Validate and resolve a plan; store it; publish plan.approved or plan.rejected.

        A sound plan is resolved with the registry's n per stratum (size conditions fire on
        them; every stratum carries n and k estimates). No registry, no resolution: the
        submission is refused with a `TemporaryError` and nothing is stored.
        """
        ruleset, engine = await self.current()  # taken once: the whole plan uses this version
        plan_id = plan.plan_id or f"P{plan.year}-{uuid.uuid4().hex[:10]}"
        if await self.store.plan_exists(plan_id):
            raise Conflict(f"plan {plan_id} already exists")
        now = datetime.now(UTC)
        flags = filing_flags(plan, submitted_on=now.date())
        submission = plan.model_dump(mode="json")
        try:
            check_plan(plan, ruleset)
        except PlanInvalid as exc:
            reasons = [r.as_dict() for r in exc.reasons]
            async with self.ctx.db.transaction() as conn:
                await self.store.save_plan(
                    conn,
                    plan_id=plan_id,
                    status="rejected",
                    year=plan.year,
                    departments=list(plan.departments),
                    submission=submission,
                    rules_version=ruleset.version,
                    approved=None,
                    reasons=reasons,
                    flags=flags,
                    actor=actor,
                )
                await self.ctx.audit.append(
                    conn,
                    actor=actor,
                    action="plan.reject",
                    subject=plan_id,
                    data={"reasons": len(reasons)},
                )
                await self.ctx.outbox.add(
                    conn,
                    subjects.event("planner", "plan.rejected"),
                    PlanRejected(plan_id=plan_id, reasons=reasons, rejected_at=now),
                    event_id=event_id("plan.rejected", plan_id),
                )
            await self._flush()
            raise PlanInvalid(exc.reasons) from None
        # n per stratum before anything is stored: without them the plan is not resolved.
        planned = await self._run(plan_strata, plan, ruleset, None)
        counts = await self._counts(planned)
        res = await self._run(
            lambda: resolve(plan, ruleset, engine.evaluate, counts=counts, planned=planned)
        )
        event = approved_event(plan, ruleset, res, plan_id=plan_id, approved_at=now, flags=flags)
        rows = [(s.stratum_id, False, s.bp, s.k_estimate, s.explanation) for s in res.strata]
        rows += [(e.stratum_id, True, None, 0, [*e.explanation, e.reason]) for e in res.excluded]
        async with self.ctx.db.transaction() as conn:
            await self.store.save_plan(
                conn,
                plan_id=plan_id,
                status="approved",
                year=plan.year,
                departments=list(plan.departments),
                submission=submission,
                rules_version=ruleset.version,
                approved=event.model_dump(mode="json"),
                reasons=None,
                flags=flags,
                actor=actor,
            )
            await self.store.save_strata(conn, plan_id, rows)
            await self.ctx.audit.append(
                conn,
                actor=actor,
                action="plan.approve",
                subject=plan_id,
                data={"rules_version": ruleset.version, "strata": len(res.strata)},
            )
            await self.ctx.outbox.add(
                conn,
                subjects.event("planner", "plan.approved"),
                event,
                event_id=event_id("plan.approved", plan_id),
            )
        # The draw may be started right after this answer: the event is out first.
        await self._flush()
        return {
            "plan_id": plan_id,
            "status": "approved",
            "rules_version": ruleset.version,
            "strata": len(res.strata),
            "excluded": len(res.excluded),
            "flags": flags,
        }

    async def show(self, plan_id: str) -> dict[str, Any]:
        """A stored plan: status, flags, reasons, and the approved event."""
        row = await self.store.get_plan(plan_id)
        if row is None:
            raise NotFound(f"no plan {plan_id}")
        return row

    async def simulate(self, plan: PlanSubmission, files: dict[str, bytes]) -> dict[str, Any]:
        """n per stratum from the registry, k under the active and the candidate rules.

        Nothing is stored, activated or published. Strata are matched by id, so a candidate
        that adds or drops a risk class shows those strata on one side only.
        """
        candidate, cand_engine = await self._compile(files)
        try:
            active = await self._current_or_none()
            check_plan(plan, candidate)
            versions = [(candidate, cand_engine)]
            if active is not None:
                try:
                    check_plan(plan, active[0])
                    versions.append(active)
                except PlanInvalid:
                    pass  # the plan only fits the candidate rules: no "active" column
            # Each version sizes its own strata (an item's scope may differ between them).
            planned = [await self._run(plan_strata, plan, rs, None) for rs, _ in versions]
            sized_by = await asyncio.gather(*(self._counts(p) for p in planned))
            outcomes = [
                await self._run(
                    lambda engine=engine, strata=strata, counts=counts: [
                        engine.evaluate(p.fact) for p in sized(strata, counts)
                    ]
                )
                for (_, engine), strata, counts in zip(versions, planned, sized_by, strict=True)
            ]
        finally:
            cand_engine.close()
        cand = outcomes[0]
        act: list[Outcome] = outcomes[1] if len(outcomes) > 1 else []
        by_id = {a.stratum_id: a for a in act}
        rows = [_sim_row(c, by_id.pop(c.stratum_id, None)) for c in cand]
        rows += [_sim_row(None, a) for a in act if a.stratum_id in by_id]
        return {
            "active_version": active[0].version if active else None,
            "candidate_version": candidate.version,
            "strata": rows,
            "active_total_k": sum(a.k for a in act) if act else None,
            "candidate_total_k": sum(c.k for c in cand),
        }

    async def _counts(self, planned: list[Planned]) -> dict[str, int]:
        """n per stratum from the registry's `rpc.stats`: one request per distinct item scope.

        A plan is resolved with these n or not at all: when the registry does not answer, the
        caller gets a `TemporaryError` (503) and may retry once it runs.
        """
        queries = count_queries(planned)
        answers = await asyncio.gather(
            *(
                self.ctx.bus.request(
                    subjects.rpc("registry", "stats"),
                    q.request,
                    StatsReply,
                    timeout=self.ctx.settings.rpc_timeout_s,
                )
                for q in queries
            ),
            return_exceptions=True,
        )
        for answer in answers:
            if isinstance(answer, TemporaryError):
                raise TemporaryError(
                    "the plan needs the registry's entity counts per stratum and the registry"
                    f" did not answer ({answer.message}): the registry must be running"
                    " (nothing was stored; try again once it is)"
                ) from answer
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        return stratum_counts(queries, [a.groups for a in answers if isinstance(a, StatsReply)])


def _sim_row(c: Outcome | None, a: Outcome | None) -> dict[str, Any]:
    """One row of a simulation: the stratum under the active (a) and candidate (c) rules."""
    some = c or a
    assert some is not None
    return {
        "stratum_id": some.stratum_id,
        "n": some.n,
        "active_bp": a.bp if a else None,
        "active_k": a.k if a else None,
        "active_excluded": a.excluded if a else None,
        "candidate_bp": c.bp if c else None,
        "candidate_k": c.k if c else None,
        "candidate_excluded": c.excluded if c else None,
        "delta_k": c.k - a.k if c and a else None,
        "candidate_explanation": c.explanation if c else [],
    }


def _unusable(version: str, why: str) -> Conflict:
    return Conflict(
        f"the active rule set {version} cannot be used by this planner ({why}):"
        " activate a rule set that passes `spotcheck rules check`",
        code="rules_unusable",
    )
