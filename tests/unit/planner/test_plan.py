"""Plan validation (every reason at once), filing flags, resolution and joint merging."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.planner import PlanApproved, PlanSubmission
from services.planner.domain.engine import RuleEngine
from services.planner.domain.plan import PlanInvalid, check_plan, filing_flags, validate_plan
from services.planner.domain.resolve import approved_event, resolve
from services.planner.domain.ruleset import RuleSet


def plan(**over: Any) -> PlanSubmission:
    body: dict[str, Any] = {
        "title": "2026年度部门联合抽查计划",
        "year": 2026,
        "departments": ["SCJG", "SW"],
        "lead_department": "SCJG",
        "scope": {"regions": ["360202", "360203"]},
        "period": {"start": "2026-04-01", "end": "2026-11-30"},
        "items": [
            {"item": "SCJG-001", "ratio": "3%"},
            {"item": "SW-001", "ratio": "2%"},
            {"item": "SCJG-006", "ratio": "1%"},
        ],
        "filed_on": "2026-02-20",
        "entered_on": "2026-03-15",
    }
    body.update(over)
    return PlanSubmission.model_validate(body)


def test_every_reason_at_once(shipped: RuleSet) -> None:
    bad = plan(
        departments=["SCJG", "XX"],
        lead_department="SW",
        scope={
            "regions": ["3602", "360202", "360202"],
            "industries": ["c13"],
            "risk_classes": ["E"],
        },
        period={"start": "2026-12-01", "end": "2027-01-31"},
        items=[
            {"item": "NOPE", "ratio": "3%"},
            {"item": "STHJ-001", "ratio": "3%"},
            {"item": "SW-001"},
            {"item": "SCJG-002", "ratio": "3%", "count": 5},
            {"item": "SCJG-002", "ratio": "120%"},
        ],
    )
    reasons = {(r.loc, r.msg) for r in validate_plan(bad, shipped)}
    assert reasons == {
        ("departments[1]", "unknown department 'XX'"),
        ("lead_department", "lead department 'SW' is not one of the plan's"),
        ("scope.regions[0]", "'3602' is not a 6-digit region code"),
        ("scope.regions", "a region is listed twice"),
        ("scope.industries[0]", "'c13' is not a GB/T 4754 code"),
        ("scope.risk_classes[0]", "unknown risk class 'E' (configured: ['A', 'B', 'C', 'D'])"),
        ("period", "period 2026-12-01–2027-01-31 is not within 2026"),
        ("items[0].item", "item 'NOPE' is not in the catalogue"),
        ("items[1].item", "item STHJ-001 belongs to STHJ, which is not a department of this plan"),
        ("items[2].item", "item SW-001 belongs to SW, which is not a department of this plan"),
        ("items[2]", "give exactly one of ratio or count"),
        ("items[3]", "give exactly one of ratio or count"),
        ("items[4].item", "item SCJG-002 is listed twice"),
        ("items[4].ratio", "a ratio is at most 100%"),
    }
    with pytest.raises(PlanInvalid) as info:
        check_plan(bad, shipped)
    assert len(info.value.details) == 14


def test_several_departments_need_a_lead(shipped: RuleSet) -> None:
    reasons = validate_plan(plan(lead_department=None), shipped)
    assert [(r.loc, r.msg) for r in reasons] == [
        ("lead_department", "a plan of several departments names its lead")
    ]


def test_filing_flags() -> None:
    assert filing_flags(plan(), submitted_on=date(2026, 3, 20)) == []
    assert filing_flags(
        plan(filed_on="2026-03-01", entered_on=None), submitted_on=date(2026, 4, 1)
    ) == ["filed_late", "entered_late"]
    assert filing_flags(plan(filed_on=None), submitted_on=date(2026, 3, 1)) == ["not_filed"]
    leap = plan(
        year=2028,
        period={"start": "2028-04-01", "end": "2028-05-01"},
        filed_on="2028-02-29",
        entered_on="2028-03-31",
    )
    assert filing_flags(leap, submitted_on=date(2028, 3, 1)) == []


def test_resolution_merges_joint_strata(shipped: RuleSet, shipped_engine: RuleEngine) -> None:
    p = plan(
        items=[
            {"item": "SCJG-002", "ratio": "3%"},
            {"item": "SW-001", "ratio": "2%"},
            {"item": "SCJG-006", "ratio": "1%"},
        ]
    )
    counts = {
        f"2026.{i}.{c}.{r}": 1000
        for i in ("SCJG-002", "SW-001", "SCJG-006")
        for c in "ABCD"
        for r in ("360202", "360203")
    }
    res = resolve(p, shipped, shipped_engine.evaluate, counts=counts)
    ids = [s.stratum_id for s in res.strata]
    assert all(re.fullmatch(r"[A-Za-z0-9._:-]+", i) for i in ids)
    # SCJG-002 and SW-001 merge into one joint stratum per class × region; SCJG-006 stays alone.
    assert res.joint_strata == 8 and res.mergeable == 16 and res.merged == 16
    assert res.joint_share_bp == 10000
    joint = next(s for s in res.strata if s.stratum_id == "2026.qyxx-sw.D.360202")
    assert joint.item_codes == ["SCJG-002", "SW-001"]
    assert joint.departments == ["SCJG", "SW"] and joint.lead_department == "SCJG"
    assert joint.bp == 500 and joint.k_estimate == 50 and joint.on_site_required
    assert joint.filter.entity_types == [] and joint.filter.region_prefixes == ["360202"]
    assert joint.explanation[-1].startswith("部门联合抽查：SCJG-002、SW-001 合并为一次检查")
    assert "2026.SCJG-006.B.360203" in ids
    assert len(res.strata) == 8 + 8
    event = approved_event(
        p,
        shipped,
        res,
        plan_id="P1",
        approved_at=datetime(2026, 3, 20, tzinfo=UTC),
        flags=[],
    )
    again = PlanApproved.model_validate_json(event.model_dump_json())
    assert again == event and again.rules_version == shipped.version and again.joint
    # Each item carries the catalogue's legal basis: the publisher names it in a finding.
    assert {i.code: i.legal_basis for i in event.items} == {
        i.code: shipped.items[i.code].legal_basis for i in event.items
    }
    assert all(i.legal_basis for i in event.items)


def test_no_merge_without_a_second_department_or_with_disjoint_periods(
    shipped: RuleSet, shipped_engine: RuleEngine
) -> None:
    alone = plan(
        departments=["SCJG"],
        lead_department=None,
        items=[{"item": "SCJG-001", "ratio": "3%"}, {"item": "SCJG-002", "ratio": "3%"}],
    )
    res = resolve(alone, shipped, shipped_engine.evaluate)
    assert res.joint_strata == 0 and res.joint_share_bp == 0
    assert all(s.k_estimate is None for s in res.strata)  # no counts given: no estimate
    apart = plan(
        items=[
            {
                "item": "SCJG-002",
                "ratio": "3%",
                "period": {"start": "2026-04-01", "end": "2026-05-31"},
            },
            {
                "item": "SW-001",
                "ratio": "3%",
                "period": {"start": "2026-06-01", "end": "2026-07-31"},
            },
        ]
    )
    assert resolve(apart, shipped, shipped_engine.evaluate).joint_strata == 0
    together = apart.model_copy(
        update={"items": [e.model_copy(update={"period": None}) for e in apart.items]}
    )
    assert resolve(together, shipped, shipped_engine.evaluate).joint_strata == 8


def test_excluded_strata_are_recorded_not_drawn(
    shipped: RuleSet, shipped_engine: RuleEngine
) -> None:
    p = plan(
        departments=["SCJG"],
        lead_department=None,
        scope={"regions": ["360202"]},
        items=[{"item": "SCJG-005", "ratio": "3%"}, {"item": "SCJG-008", "ratio": "3%"}],
    )
    res = resolve(p, shipped, shipped_engine.evaluate, counts={})
    assert [s.stratum_id for s in res.strata] == [f"2026.SCJG-005.{c}.360202" for c in "BCD"]
    reasons = {e.stratum_id: e.reason for e in res.excluded}
    assert set(reasons) == {"2026.SCJG-005.A.360202"} | {
        f"2026.SCJG-008.{c}.360202" for c in "ABCD"
    }
    assert "on_site" in reasons["2026.SCJG-005.A.360202"]


def test_a_count_is_not_zeroed_before_n_is_known(
    shipped: RuleSet, shipped_engine: RuleEngine
) -> None:
    p = plan(
        departments=["SCJG"],
        lead_department=None,
        scope={"regions": ["360202"]},
        items=[{"item": "SCJG-006", "count": 30}],
    )
    unknown = {s.stratum_id: s for s in resolve(p, shipped, shipped_engine.evaluate).strata}
    b = unknown["2026.SCJG-006.B.360202"]
    assert (b.count, b.count_cap_bp, b.n_estimate, b.bp) == (30, 500, None, None)
    known = resolve(p, shipped, shipped_engine.evaluate, counts={"2026.SCJG-006.B.360202": 200})
    b = next(s for s in known.strata if s.stratum_id == "2026.SCJG-006.B.360202")
    assert (b.count, b.count_cap_bp, b.n_estimate, b.k_estimate) == (10, 500, 200, 10)
