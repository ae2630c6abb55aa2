"""Joint merging: only strata with the same target scope become one joint stratum."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contracts.planner import PlanSubmission
from services.planner.domain.engine import RuleEngine
from services.planner.domain.plan import validate_plan
from services.planner.domain.resolve import resolve
from services.planner.domain.ruleset import RuleSet, load_ruleset

META = """\
ruleset:
  name: 联合抽查测试
  departments:
    - {code: SCJG, name: 市场监管}
    - {code: SW, name: 税务}
  risk_classes:
    - {code: B, name: 一般}
items:
  - {code: QY, name: 企业事项, department: SCJG, kind: general, legal_basis: 条例,
     methods: [documents], applies_to: {entity_types: [企业]}}
  - {code: GT, name: 个体户事项, department: SW, kind: general, legal_basis: 条例,
     methods: [documents], applies_to: {entity_types: [个体工商户]}}
  - {code: ALL, name: 不限主体事项, department: SW, kind: general, legal_basis: 条例,
     methods: [documents]}
  - {code: QY2, name: 企业事项二, department: SW, kind: general, legal_basis: 条例,
     methods: [documents], applies_to: {entity_types: [企业]}}
rules:
  - id: joint
    name: 联合抽查
    effective: {from: 2023-01-01}
    when: {item: [QY, GT, ALL, QY2]}
    then: {merge: {group: j, lead: SCJG}}
"""


@pytest.fixture(scope="module")
def joint_rules() -> Iterator[tuple[RuleSet, RuleEngine]]:
    ruleset = load_ruleset({"rules.yaml": META.encode()})
    engine = RuleEngine(ruleset)
    yield ruleset, engine
    engine.close()


def plan(*items: str) -> PlanSubmission:
    body: dict[str, Any] = {
        "title": "联合计划",
        "year": 2026,
        "departments": ["SCJG", "SW"],
        "lead_department": "SCJG",
        "scope": {"regions": ["360202"]},
        "period": {"start": "2026-04-01", "end": "2026-11-30"},
        "items": [{"item": code, "ratio": "3%"} for code in items],
    }
    return PlanSubmission.model_validate(body)


def test_disjoint_entity_types_do_not_merge(joint_rules: tuple[RuleSet, RuleEngine]) -> None:
    ruleset, engine = joint_rules
    res = resolve(plan("QY", "GT"), ruleset, engine.evaluate, counts={})
    # Before the fix this made one joint stratum with no entity-type restriction at all.
    assert res.joint_strata == 0
    assert {s.stratum_id: s.filter.entity_types for s in res.strata} == {
        "2026.QY.B.360202": ["企业"],
        "2026.GT.B.360202": ["个体工商户"],
    }
    assert res.mergeable == 2 and res.merged == 0 and res.joint_share_bp == 0


def test_a_restricted_item_does_not_absorb_an_unrestricted_one(
    joint_rules: tuple[RuleSet, RuleEngine],
) -> None:
    ruleset, engine = joint_rules
    res = resolve(plan("QY", "ALL"), ruleset, engine.evaluate, counts={})
    # Merged, ALL's non-企业 entities would never be drawn: the scopes differ, no merge.
    assert res.joint_strata == 0
    assert sorted(s.stratum_id for s in res.strata) == ["2026.ALL.B.360202", "2026.QY.B.360202"]


def test_the_same_entity_types_merge(joint_rules: tuple[RuleSet, RuleEngine]) -> None:
    ruleset, engine = joint_rules
    res = resolve(plan("QY", "QY2", "GT"), ruleset, engine.evaluate, counts={})
    assert res.joint_strata == 1 and res.merged == 2 and res.mergeable == 3
    joint = next(s for s in res.strata if s.joint_group == "j")
    assert joint.item_codes == ["QY", "QY2"] and joint.filter.entity_types == ["企业"]
    assert joint.departments == ["SCJG", "SW"]


def test_a_plan_scope_of_entity_types_makes_the_scopes_equal(
    joint_rules: tuple[RuleSet, RuleEngine],
) -> None:
    ruleset, engine = joint_rules
    p = plan("QY", "ALL")
    # The plan itself targets enterprises: ALL is then checked on 企业 only, and merges.
    scoped = p.model_copy(update={"scope": p.scope.model_copy(update={"entity_types": ["企业"]})})
    res = resolve(scoped, ruleset, engine.evaluate, counts={})
    assert res.joint_strata == 1 and res.merged == 2
    assert res.strata[0].filter.entity_types == ["企业"]
    # The same on the item only (an item's own scope replaces the plan's).
    item_scoped = p.model_copy(
        update={
            "items": [
                p.items[0],
                p.items[1].model_copy(
                    update={"scope": p.scope.model_copy(update={"entity_types": ["企业"]})}
                ),
            ]
        }
    )
    assert resolve(item_scoped, ruleset, engine.evaluate, counts={}).joint_strata == 1


def test_entity_types_that_miss_the_item_are_refused(
    joint_rules: tuple[RuleSet, RuleEngine],
) -> None:
    ruleset, _ = joint_rules
    p = plan("QY", "ALL")
    scoped = p.model_copy(
        update={"scope": p.scope.model_copy(update={"entity_types": ["个体工商户"]})}
    )
    assert [(r.loc, r.msg) for r in validate_plan(scoped, ruleset)] == [
        (
            "items[0].item",
            "item QY applies to entity types ['企业'], none of which the scope's entity types "
            "['个体工商户'] includes",
        )
    ]
