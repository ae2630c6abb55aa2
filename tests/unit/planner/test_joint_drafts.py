"""Joint plan drafts (联合抽查, #13): departments, the lead's and a joining department's items
checked like `POST /plans` checks them, and the plan a complete draft becomes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.planner import JointPlanStart, PlanItemEntry
from services.planner.domain import joint
from services.planner.domain.plan import PlanInvalid, validate_plan
from services.planner.domain.ruleset import RuleSet


def start(**over: Any) -> JointPlanStart:
    body: dict[str, Any] = {
        "plan_id": "J-1",
        "title": "联合抽查",
        "year": 2026,
        "departments": ["SW"],
        "scope": {"regions": ["360202"]},
        "period": {"start": "2026-04-01", "end": "2026-11-30"},
        "items": [{"item": "SCJG-002", "ratio": "0.5%"}],
    }
    body.update(over)
    return JointPlanStart.model_validate(body)


def test_the_lead_comes_first_and_is_added_when_left_out(shipped: RuleSet) -> None:
    assert joint.check_start(start(), "SCJG", shipped) == ["SCJG", "SW"]
    assert joint.check_start(start(departments=["SW", "SCJG"]), "SCJG", shipped) == [
        "SCJG",
        "SW",
    ]


def test_a_start_is_refused_with_every_reason(shipped: RuleSet) -> None:
    bad = start(
        departments=["SCJG"],
        items=[{"item": "SW-001", "ratio": "2%"}],
        scope={"regions": ["3602"]},
    )
    with pytest.raises(PlanInvalid) as exc:
        joint.check_start(bad, "SCJG", shipped)
    zh = {r.loc: r.msg_zh for r in exc.value.reasons}
    assert zh["departments"] == "联合抽查须邀请至少一个其他部门"
    assert zh["scope.regions[0]"] == "“3602”不是6位区划代码"
    assert zh["items[0].item"] == "事项SW-001属于SW，不是本部门（SCJG）的事项"


def test_a_department_joins_with_its_own_items_only(shipped: RuleSet) -> None:
    s = start()
    mine = [PlanItemEntry.model_validate({"item": "SW-001", "ratio": "2%"})]
    plan = joint.assemble(
        plan_id="J-1",
        year=2026,
        lead="SCJG",
        departments=["SCJG", "SW"],
        header=joint.header_of(s),
        items={"SW": [joint.entry_json(e) for e in mine]},
    )
    joint.check_join(mine, department="SW", plan=plan, ruleset=shipped)  # sound
    theirs = [
        PlanItemEntry.model_validate({"item": "SCJG-001", "ratio": "2%"}),
        PlanItemEntry.model_validate({"item": "SW-001"}),
    ]
    plan = plan.model_copy(update={"items": theirs})
    with pytest.raises(PlanInvalid) as exc:
        joint.check_join(theirs, department="SW", plan=plan, ruleset=shipped)
    assert {r.loc: r.msg_zh for r in exc.value.reasons} == {
        "items[0].item": "事项SCJG-001属于SCJG，不是本部门（SW）的事项",
        "items[1]": "抽查比例和抽取户数须填写且只填写一项",
    }


def test_a_complete_draft_is_one_plan_in_the_departments_order(shipped: RuleSet) -> None:
    s = start()
    lead = [joint.entry_json(e) for e in s.items]
    assert lead == [{"item": "SCJG-002", "ratio": "50bp"}]  # reads back exactly
    plan = joint.assemble(
        plan_id="J-1",
        year=2026,
        lead="SCJG",
        departments=["SCJG", "SW"],
        header=joint.header_of(s),
        items={"SW": [{"item": "SW-001", "count": 3}], "SCJG": lead},
    )
    assert [(e.item, e.ratio, e.count) for e in plan.items] == [
        ("SCJG-002", 50, None),
        ("SW-001", None, 3),
    ]
    assert (plan.lead_department, plan.departments, plan.title) == (
        "SCJG",
        ["SCJG", "SW"],
        "联合抽查",
    )
    assert validate_plan(plan, shipped) == []


def test_the_events_of_a_start_and_of_each_join() -> None:
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    began = joint.started_event(
        start(departments=["SW", "STHJ"]),
        lead="SCJG",
        departments=["SCJG", "SW", "STHJ"],
        by="planner-scjg",
        at=at,
    )
    assert (began.lead_department, began.invited) == ("SCJG", ["SW", "STHJ"])
    assert [(i.item, i.ratio_bp) for i in began.items] == [("SCJG-002", 50)]
    assert (began.started_by, began.started_at, began.title) == ("planner-scjg", at, "联合抽查")
    items = [PlanItemEntry.model_validate({"item": "SW-001", "count": 4})]
    everyone = ["SCJG", "SW", "STHJ"]
    first = joint.joined_event(
        "J-1", department="SW", items=items, departments=everyone, joined_before=["SCJG"],
        by="planner-sw", at=at,
    )  # fmt: skip
    assert (first.rejoined, first.waiting) == (False, ["STHJ"])
    assert [(i.item, i.count) for i in first.items] == [("SW-001", 4)]
    again = joint.joined_event(
        "J-1", department="SW", items=items, departments=everyone,
        joined_before=["SCJG", "SW", "STHJ"], by="planner-sw", at=at,
    )  # fmt: skip
    assert (again.rejoined, again.waiting) == (True, [])
