"""The planner's reads: the active rules and their item catalogue, the rules' history, stored
plans, "what if" simulations.

A simulation is a read: nothing is stored, activated or published.
"""

from __future__ import annotations

import asyncio
from typing import Any

from contracts.common import Role
from contracts.planner import (
    CatalogueItem,
    ItemCatalogue,
    ItemsReply,
    LatePlan,
    PlannedRatio,
    PlanStats,
    PlanSubmission,
)
from contracts.rules import ItemKind
from services.kit.bus import Bus
from services.kit.errors import NotFound
from services.planner.active import ActiveRules
from services.planner.counts import registry_counts
from services.planner.domain.casetests import parse_cases, run_cases
from services.planner.domain.catalogue import catalogue, catalogue_item, items_by_code
from services.planner.domain.engine import Outcome, RuleEngine
from services.planner.domain.plan import PlanInvalid, check_plan
from services.planner.domain.readers import check_may_read
from services.planner.domain.resolve import plan_strata, sized
from services.planner.domain.ruleset import RuleSet, check_files
from services.planner.rulefiles import case_files
from services.planner.store import PlannerStore


class PlannerQueries:
    """Reads over the planner's store and its active rules."""

    def __init__(
        self, *, bus: Bus, store: PlannerStore, rules: ActiveRules, rpc_timeout_s: float
    ) -> None:
        self.bus = bus
        self.store = store
        self.rules = rules
        self.rpc_timeout_s = rpc_timeout_s

    async def active_rules(self) -> dict[str, Any]:
        """The rule set PostgreSQL says is active now: version, files, risk classes, items."""
        rs, _engine = await self.rules.current()
        return {
            "version": rs.version,
            "files": list(rs.files),
            "risk_classes": rs.risk_classes,
            "items": [i.model_dump(mode="json") for i in rs.items.values()],
        }

    async def catalogue(
        self, *, department: str | None = None, kind: ItemKind | None = None
    ) -> ItemCatalogue:
        """The active rule set's item catalogue (public), optionally one department's or kind's."""
        rs, _engine = await self.rules.current()
        return catalogue(rs, department=department, kind=kind)

    async def items_by_code(self, codes: list[str]) -> ItemsReply:
        """Which of these codes the active catalogue has (rpc `planner.items`)."""
        rs, _engine = await self.rules.current()
        return items_by_code(rs, codes)

    async def item(self, code: str) -> CatalogueItem:
        """One item of the active catalogue with its checklist; `NotFound` if it has none such."""
        rs, _engine = await self.rules.current()
        found = catalogue_item(rs, code)
        if found is None:
            version = rs.version[:12]
            msg = f"no item {code!r} in the active item catalogue (rules {version})"
            msg_zh = f"现行检查事项清单（规则版本 {version}）中没有事项 {code}"
            raise NotFound(
                msg,
                details=[
                    {"loc": ["path", "code"], "msg": msg, "msg_zh": msg_zh, "type": "not_found"}
                ],
            )
        return found

    async def history(self) -> list[dict[str, Any]]:
        """The activation history, newest first."""
        return await self.store.history()

    async def show(self, plan_id: str, *, role: Role, dept: str | None) -> dict[str, Any]:
        """A stored plan: status, flags, reasons, and the approved event — when this reader may
        read it (domain/readers.py: approved plans are public, rejected ones are not)."""
        row = await self.store.get_plan(plan_id)
        if row is None:
            raise NotFound(f"no plan {plan_id}")
        check_may_read(
            plan_id=plan_id,
            status=row["status"],
            departments=row["departments"],
            role=role,
            dept=dept,
        )
        return row

    async def plans(
        self,
        *,
        year: int | None = None,
        department: str | None = None,
        status: str | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Stored plans newest first: title, departments, status, filing flags, strata."""
        return await self.store.list_plans(
            year=year, department=department, status=status, limit=min(max(limit, 1), 1000)
        )

    async def stats(self, *, year: int, department: str | None = None) -> PlanStats:
        """A year's plans for the leaders' page: counts, late filings, the joint share, the
        random-check share of general items outside key supervision (against the active
        catalogue; none when no rule set is active), the ratio planned per risk class."""
        counts = await self.store.plan_counts(year=year, department=department)
        planned = await self.store.planned_items(year=year, department=department)
        compiled = await self.rules.current_or_none()
        general = (
            []
            if compiled is None
            else [
                i.code
                for i in catalogue(compiled[0], department=department, kind=ItemKind.GENERAL).items
                if not i.key_supervision
            ]
        )
        return PlanStats(
            year=year,
            department=department,
            **counts,
            general_items=len(general),
            general_items_planned=sum(1 for c in general if c in planned),
            unplanned_items=sorted(c for c in general if c not in planned),
            late=[
                LatePlan.model_validate(r)
                for r in await self.store.late_plans(year=year, department=department)
            ],
            by_risk_class=[
                PlannedRatio.model_validate(r)
                for r in await self.store.planned_ratios(year=year, department=department)
            ],
        )

    async def version(self, version: str) -> dict[str, Any]:
        """A stored (once activated or checked) rule-set version with its files."""
        files = await self.store.version_files(version)
        if files is None:
            raise NotFound(f"no rule set version {version}")
        return {"version": version, "files": files}

    async def candidates(self) -> list[dict[str, Any]]:
        """Candidate rule sets, newest first (without their files)."""
        return await self.store.list_candidates()

    async def candidate(self, candidate_id: str) -> dict[str, Any]:
        """A candidate with its files, its check (every error with file and line) and, when it
        passes, its test cases' results. Nothing is activated."""
        row = await self.store.get_candidate(candidate_id)
        if row is None:
            raise NotFound(f"no candidate rule set {candidate_id}")
        files = {p: t.encode("utf-8") for p, t in row["files"].items()}
        ruleset, errors = await self.rules.run(check_files, files)
        check: dict[str, Any] = {
            "ok": ruleset is not None,
            "version": ruleset.version if ruleset else None,
            "errors": [e.as_dict() for e in errors],
            "items": len(ruleset.items) if ruleset else None,
            "rules": len(ruleset.rules) if ruleset else None,
        }
        tests = await self.rules.run(_run_tests, files, ruleset) if ruleset else None
        return {**row, "check": check, "tests": tests}

    async def simulate(self, plan: PlanSubmission, files: dict[str, bytes]) -> dict[str, Any]:
        """n per stratum from the registry, k under the active and the candidate rules.

        Nothing is stored, activated or published. Strata are matched by id, so a candidate
        that adds or drops a risk class shows those strata on one side only.
        """
        candidate, cand_engine = await self.rules.compile(files)
        try:
            active = await self.rules.current_or_none()
            check_plan(plan, candidate)
            versions = [(candidate, cand_engine)]
            if active is not None:
                try:
                    check_plan(plan, active[0])
                    versions.append(active)
                except PlanInvalid:
                    pass  # the plan only fits the candidate rules: no "active" column
            # Each version sizes its own strata (an item's scope may differ between them).
            planned = [await self.rules.run(plan_strata, plan, rs, None) for rs, _ in versions]
            sized_by = await asyncio.gather(
                *(
                    registry_counts(bus=self.bus, planned=p, timeout_s=self.rpc_timeout_s)
                    for p in planned
                )
            )
            outcomes = [
                await self.rules.run(
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


def _run_tests(files: dict[str, bytes], ruleset: RuleSet) -> dict[str, Any]:
    """The candidate's `tests/*.yaml` cases against it (on the rules thread: durable-rules)."""
    cases, errors = parse_cases(case_files(files))
    engine = RuleEngine(ruleset)
    try:
        results = run_cases(cases, ruleset, engine.evaluate)
    finally:
        engine.close()
    return {
        "passed": sum(r.ok for r in results),
        "failed": sum(not r.ok for r in results),
        "results": [
            {
                "file": r.file,
                "line": r.line,
                "name": r.name,
                "expected": r.expected,
                "got": r.got,
                "ok": r.ok,
                "failures": list(r.failures),
                "failures_zh": list(r.failures_zh),
            }
            for r in results
        ],
        "errors": [e.as_dict() for e in errors],
    }
