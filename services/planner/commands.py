"""The planner's use cases that change state: check and activate rule sets, submit plans.

A set that fails its check is never recorded, so it never replaces the active one in any copy.
Activations are serialised in the database, so two copies activating at once leave one active
version and a history whose `previous_version`s chain.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

from contracts import subjects
from contracts.planner import PlanAccepted, PlanRejected, PlanSubmission, RulesActivated
from services.kit.audit import AuditTrail
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.envelope import event_id
from services.kit.errors import Conflict, Invalid
from services.kit.outbox import Outbox
from services.planner.active import ActiveRules
from services.planner.counts import registry_counts
from services.planner.domain.plan import PlanInvalid, check_plan, filing_flags
from services.planner.domain.resolve import approved_event, plan_strata, resolve
from services.planner.domain.ruleset import RuleSet, candidate_id_of
from services.planner.rulefiles import read_rule_dir
from services.planner.store import PlannerStore

log = logging.getLogger("spotcheck.planner")


class PlannerCommands:
    """Rule-set activation and plan submission over the planner's store, audit and outbox."""

    def __init__(
        self,
        *,
        db: Database,
        bus: Bus,
        audit: AuditTrail,
        outbox: Outbox,
        store: PlannerStore,
        rules: ActiveRules,
        rules_dir: Path,
        rpc_timeout_s: float,
    ) -> None:
        self.db = db
        self.bus = bus
        self.audit = audit
        self.outbox = outbox
        self.store = store
        self.rules = rules
        self.rules_dir = rules_dir
        self.rpc_timeout_s = rpc_timeout_s

    async def check(self, files: dict[str, bytes]) -> RuleSet:
        """Check a candidate rule set (and compile it) without activating it."""
        ruleset, engine = await self.rules.compile(files)
        engine.close()
        return ruleset

    async def warm(self, announced: str) -> None:
        """Compile the active version now, so the next plan does not wait for it.

        Called on `rules.activated` (from any copy). The event only says that something
        changed: which version is active is read from PostgreSQL, so a late or replayed event
        never brings an older version back.
        """
        try:
            active = await self.rules.current_or_none()
        except Conflict as exc:
            log.error("rule set %s announced; the active one is unusable here: %s", announced, exc)
            return
        if active is not None and active[0].version != announced:
            log.info("rule set %s announced, %s is active since", announced, active[0].version)

    async def restore(self) -> None:
        """At start: compile the active version recorded in PostgreSQL.

        On the first start of a deployment (nothing ever activated) `rules_dir` is activated,
        under the activation lock: copies starting together activate it once.
        """
        if await self.store.active_version() is None:
            try:
                files = read_rule_dir(self.rules_dir)
            except (OSError, ValueError) as exc:
                log.warning("no rule set active: %s", exc)
                return
            await self._activate(files, actor="planner-startup", unless_active=True)
        try:
            await self.rules.current_or_none()
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
        ruleset, engine = await self.rules.compile(files)
        text = {p: b.decode("utf-8") for p, b in files.items()}
        summary = {
            "items": len(ruleset.items),
            "rules": len(ruleset.rules),
            "risk_classes": ruleset.risk_classes,
            "files": list(ruleset.files),
        }
        try:
            async with self.db.transaction() as conn:
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
                await self.audit.append(
                    conn,
                    actor=actor,
                    action="rules.activate",
                    subject=ruleset.version,
                    data={"previous": prev_version},
                )
                # One event per row of the activation history: the id is that row's.
                await self.outbox.add(
                    conn,
                    subjects.event("planner", "rules.activated"),
                    event,
                    event_id=event_id("rules.activated", seq, ruleset.version[:16]),
                )
        except BaseException:
            engine.close()
            raise
        self.rules.keep((ruleset, engine))  # this copy's next plan needs no compile
        await self._flush()
        return event

    async def _flush(self) -> None:
        """Publish the events just committed before answering.

        The change is committed and its event is in the outbox: if NATS is unreachable now,
        the relay publishes it later, so the answer still reports success.
        """
        try:
            await self.outbox.flush()
        except Exception as exc:
            log.warning("events stay in the outbox for the relay: %s", exc)

    async def keep_candidate(
        self, files: dict[str, bytes], *, based_on: str | None, note: str, actor: str
    ) -> str:
        """Keep a candidate rule set as uploaded or edited (checked when read, not here: a
        candidate that fails is what policy staff come to fix); returns its id."""
        if not files:
            raise Invalid("a candidate rule set needs at least one file", code="no_files")
        for path in files:
            if path.startswith("/") or ".." in path.split("/") or "\\" in path:
                raise Invalid(f"{path!r} is not a relative path in the rule folder")
        candidate_id = candidate_id_of(files)
        text = {p: b.decode("utf-8") for p, b in files.items()}
        async with self.db.transaction() as conn:
            await self.store.save_candidate(
                conn,
                candidate_id=candidate_id,
                files=text,
                based_on=based_on,
                note=note,
                actor=actor,
            )
            await self.audit.append(
                conn,
                actor=actor,
                action="rules.candidate",
                subject=candidate_id,
                data={"files": len(files), "based_on": based_on},
            )
        return candidate_id

    async def submit(self, plan: PlanSubmission, *, actor: str) -> PlanAccepted:
        """Validate and resolve a plan; store it; publish plan.approved or plan.rejected.

        A sound plan is resolved with the registry's n per stratum (size conditions fire on
        them; every stratum carries n and k estimates). No registry, no resolution: the
        submission is refused with a `TemporaryError` and nothing is stored.
        """
        ruleset, engine = await self.rules.current()  # taken once: the whole plan uses it
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
            async with self.db.transaction() as conn:
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
                await self.audit.append(
                    conn,
                    actor=actor,
                    action="plan.reject",
                    subject=plan_id,
                    data={"reasons": len(reasons)},
                )
                await self.outbox.add(
                    conn,
                    subjects.event("planner", "plan.rejected"),
                    PlanRejected(plan_id=plan_id, reasons=reasons, rejected_at=now),
                    event_id=event_id("plan.rejected", plan_id),
                )
            await self._flush()
            raise PlanInvalid(exc.reasons) from None
        # n per stratum before anything is stored: without them the plan is not resolved.
        planned = await self.rules.run(plan_strata, plan, ruleset, None)
        counts = await registry_counts(bus=self.bus, planned=planned, timeout_s=self.rpc_timeout_s)
        res = await self.rules.run(
            lambda: resolve(plan, ruleset, engine.evaluate, counts=counts, planned=planned)
        )
        event = approved_event(plan, ruleset, res, plan_id=plan_id, approved_at=now, flags=flags)
        rows = [(s.stratum_id, False, s.bp, s.k_estimate, s.explanation) for s in res.strata]
        rows += [(e.stratum_id, True, None, 0, [*e.explanation, e.reason]) for e in res.excluded]
        async with self.db.transaction() as conn:
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
            await self.audit.append(
                conn,
                actor=actor,
                action="plan.approve",
                subject=plan_id,
                data={"rules_version": ruleset.version, "strata": len(res.strata)},
            )
            await self.outbox.add(
                conn,
                subjects.event("planner", "plan.approved"),
                event,
                event_id=event_id("plan.approved", plan_id),
            )
        # The draw may be started right after this answer: the event is out first.
        await self._flush()
        return PlanAccepted(
            plan_id=plan_id,
            status="approved",
            rules_version=ruleset.version,
            strata=len(res.strata),
            excluded=len(res.excluded),
            flags=flags,
        )
