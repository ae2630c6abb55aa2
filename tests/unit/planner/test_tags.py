"""Tag conditions (`when: {tag: 食品经营}`) and how plan and item tag scopes meet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from contracts.planner import PlanSubmission
from services.planner.domain.casetests import parse_cases, run_cases
from services.planner.domain.engine import RuleEngine, StratumFact
from services.planner.domain.plan import validate_plan
from services.planner.domain.resolve import resolve
from services.planner.domain.ruleset import RuleSet, check_files, load_ruleset

from .conftest import META

TAG_ITEMS = """\
  - {code: F1, name: 食品经营事项, department: SCJG, kind: general, legal_basis: 条例,
     methods: [on_site, documents], applies_to: {tags: [食品经营]}}
"""

RULES = """\
rules:
  - id: food-floor
    name: 食品经营主体比例下限
    effective: {from: 2026-01-01}
    when: {tag: 食品经营}
    then: {floor_ratio: "3%"}
  - id: cap
    name: 一般上限
    effective: {from: 2026-01-01}
    when: {item_kind: general}
    then: {cap_ratio: "5%"}
  - id: shop-batch
    name: 食品或网络经营分批
    effective: {from: 2026-01-01}
    when: {tag: [网络经营, 食品经营]}
    then: {batch: {size: 10}}
"""


def files(rules: str = RULES) -> dict[str, bytes]:
    return {"00-meta.yaml": (META + TAG_ITEMS).encode(), "r.yaml": rules.encode()}


@pytest.fixture(scope="module")
def tagged() -> Iterator[tuple[RuleSet, RuleEngine]]:
    ruleset = load_ruleset(files())
    engine = RuleEngine(ruleset)
    yield ruleset, engine
    engine.close()


def fact(rs: RuleSet, item: str, tags: tuple[str, ...], *, n: int = 100) -> StratumFact:
    sid = f"2026.{item}.B.360202"
    on = date(2026, 3, 1)
    return StratumFact(sid, rs.items[item], "B", "360202", n, 100, None, on, tags=tags)


def test_a_tag_condition_needs_every_entity_to_carry_a_listed_tag(
    tagged: tuple[RuleSet, RuleEngine],
) -> None:
    rs, engine = tagged
    food = engine.evaluate(fact(rs, "G1", ("食品经营",)))
    assert food.fired_names == ["食品经营主体比例下限", "一般上限", "食品或网络经营分批"]
    assert (food.bp, food.k, food.batch_size) == (300, 3, 10)
    # No tag restriction: the stratum also holds entities without the tag.
    assert engine.evaluate(fact(rs, "G1", ())).fired_names == ["一般上限"]
    # 食品经营 or 特种设备: some entities only carry 特种设备.
    mixed = engine.evaluate(fact(rs, "G1", ("特种设备", "食品经营")))
    assert mixed.fired_names == ["一般上限"]
    # Within the second rule's list, not the first's.
    online = engine.evaluate(fact(rs, "G1", ("网络经营",)))
    assert online.fired_names == ["一般上限", "食品或网络经营分批"]
    both = engine.evaluate(fact(rs, "G1", ("网络经营", "食品经营")))
    assert both.fired_names == ["一般上限", "食品或网络经营分批"]


def test_a_count_is_not_raised_by_a_floor_but_still_capped(
    tagged: tuple[RuleSet, RuleEngine],
) -> None:
    rs, engine = tagged
    sid, on = "2026.G1.B.360202", date(2026, 3, 1)
    counted = StratumFact(sid, rs.items["G1"], "B", "360202", 100, None, 40, on, tags=("食品经营",))
    o = engine.evaluate(counted)
    assert (o.count, o.k, o.count_cap_bp) == (5, 5, 500)
    assert o.explanation[0] == "食品经营主体比例下限（food-floor）：按数量抽取（40 户），不调整比例"


def plan(**over: Any) -> PlanSubmission:
    body: dict[str, Any] = {
        "title": "食品经营计划",
        "year": 2026,
        "departments": ["SCJG"],
        "scope": {"regions": ["360202"], "risk_classes": ["B"]},
        "period": {"start": "2026-04-01", "end": "2026-11-30"},
        "items": [{"item": "G1", "ratio": "1%"}, {"item": "F1", "ratio": "1%"}],
    }
    body.update(over)
    return PlanSubmission.model_validate(body)


def test_plan_and_item_tags_make_the_stratum_tags(tagged: tuple[RuleSet, RuleEngine]) -> None:
    rs, engine = tagged
    res = resolve(plan(), rs, engine.evaluate)
    by_id = {s.stratum_id: s for s in res.strata}
    # F1 applies to 食品经营 entities only; G1 has no tag restriction without a plan scope tag.
    assert by_id["2026.F1.B.360202"].bp == 300 and by_id["2026.F1.B.360202"].filter.tags_any == [
        "食品经营"
    ]
    assert by_id["2026.G1.B.360202"].bp == 100
    scoped = resolve(
        plan(scope={"regions": ["360202"], "risk_classes": ["B"], "tags": ["食品经营"]}),
        rs,
        engine.evaluate,
    )
    assert {s.stratum_id: s.bp for s in scoped.strata} == {
        "2026.F1.B.360202": 300,
        "2026.G1.B.360202": 300,
    }


def test_a_plan_scope_that_misses_the_items_tags_is_refused(
    tagged: tuple[RuleSet, RuleEngine],
) -> None:
    rs, _ = tagged
    reasons = validate_plan(
        plan(scope={"regions": ["360202"], "tags": ["特种设备"], "industries": []}), rs
    )
    assert [(r.loc, r.msg) for r in reasons] == [
        (
            "items[1].item",
            "item F1 applies to tags ['食品经营'], none of which the scope's tags ['特种设备'] "
            "includes",
        )
    ]


def test_contradictions_consider_tags() -> None:
    apart = """\
rules:
  - {id: a, name: 食品比例, effective: {from: 2026-01-01}, when: {tag: 食品经营},
     then: {set_ratio: "3%"}}
  - {id: b, name: 网络比例, effective: {from: 2026-01-01}, when: {tag: 网络经营},
     then: {set_ratio: "4%"}}
"""
    assert check_files(files(apart))[1] == []
    clash = apart.replace("when: {tag: 网络经营}", "when: {tag: [网络经营, 食品经营]}")
    errors = check_files(files(clash))[1]
    assert [e.reason for e in errors] == [
        "contradicts a 食品比例: sets the ratio to 4% where a 食品比例 sets 3%"
    ]


def test_cases_can_give_a_stratum_tags(tagged: tuple[RuleSet, RuleEngine]) -> None:
    rs, engine = tagged
    text = """\
cases:
  - name: 食品经营下限
    stratum: {item: G1, risk_class: B, n: 200, ratio: "1%", date: 2026-03-01, tags: [食品经营]}
    expect: {bp: 300, k: 6}
"""
    cases, errors = parse_cases({"tests/t.yaml": text.encode()})
    assert errors == []
    assert [r.ok for r in run_cases(cases, rs, engine.evaluate)] == [True]
