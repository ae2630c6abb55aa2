"""The durable-rules engine on strata: exactness, order, explanations, failure handling."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date

import pytest

from contracts.rules import Method
from services.planner.domain import effects
from services.planner.domain.engine import EngineError, RuleEngine, StratumFact, compile_ruleset
from services.planner.domain.ruleset import RuleSet, load_ruleset

from .conftest import files_with

RULES = """\
rules:
  - id: d-factor
    name: D类提高
    effective: {from: 2026-01-01}
    when: {risk_class: D}
    then: {multiply_ratio: "15"}
  - id: cap
    name: 一般上限
    effective: {from: 2026-01-01}
    when: {item_kind: general}
    then: {cap_ratio: "5%"}
  - id: a-factor
    name: A类降低
    effective: {from: 2026-01-01}
    when: {risk_class: A}
    then: {multiply_ratio: "0.5"}
  - id: old
    name: 旧规则
    effective: {from: 2020-01-01, to: 2025-12-31}
    when: {risk_class: C}
    then: {exclude: 已废止}
  - id: region
    name: 昌江区加一倍
    effective: {from: 2026-01-01}
    when: {region: "3602", risk_class: C}
    then: {multiply_ratio: "2"}
"""


@pytest.fixture(scope="module")
def small() -> RuleSet:
    return load_ruleset(files_with(RULES))


@pytest.fixture(scope="module")
def engine(small: RuleSet) -> Iterator[RuleEngine]:
    e = RuleEngine(small)
    yield e
    e.close()


def fact(
    rs: RuleSet,
    item: str,
    cls: str,
    n: int,
    bp: int | None,
    *,
    count: int | None = None,
    region: str = "360202",
    on: date = date(2026, 3, 1),
) -> StratumFact:
    return StratumFact(f"2026.{item}.{cls}.{region}", rs.items[item], cls, region, n, bp, count, on)


def test_exact_k(engine: RuleEngine, small: RuleSet) -> None:
    assert engine.evaluate(fact(small, "G1", "B", 100, 300)).k == 3
    assert engine.evaluate(fact(small, "P1", "B", 100, 700)).k == 7
    assert engine.evaluate(fact(small, "G1", "B", 1, 500)).k == 1
    assert engine.evaluate(fact(small, "G1", "B", 50, 0)).k == 0


def test_cap_binds(engine: RuleEngine, small: RuleSet) -> None:
    o = engine.evaluate(fact(small, "G1", "B", 1000, 800))
    assert (o.bp, o.k) == (500, 50)
    assert o.fired_names == ["一般上限"]
    assert o.explanation == ["一般上限（cap）：比例 8% 超过上限 → 5%"]


def test_d_multiplier_hits_the_cap(engine: RuleEngine, small: RuleSet) -> None:
    o = engine.evaluate(fact(small, "G1", "D", 999, 100))
    assert (o.bp, o.k) == (500, 50)
    assert o.fired_names == ["D类提高", "一般上限"]
    assert o.explanation[0] == "D类提高（d-factor）：比例 1% × 15 → 15%"
    # A priority item has no cap: the multiplier stands.
    p = engine.evaluate(fact(small, "P1", "D", 999, 100))
    assert (p.bp, p.k) == (1500, 150)


def test_half_factor_rounds_up_to_whole_bp(engine: RuleEngine, small: RuleSet) -> None:
    o = engine.evaluate(fact(small, "P1", "A", 10, 3))  # 0.03% × 0.5 = 1.5 bp → 2 bp
    assert (o.bp, o.k) == (2, 1)
    assert o.explanation == ["A类降低（a-factor）：比例 0.03% × 0.5 → 0.02%"]


def test_effective_dates_and_region_prefix(engine: RuleEngine, small: RuleSet) -> None:
    o = engine.evaluate(fact(small, "P1", "C", 100, 100))
    assert o.excluded is None and o.fired_names == ["昌江区加一倍"] and o.bp == 200
    old = engine.evaluate(fact(small, "P1", "C", 100, 100, on=date(2025, 6, 1)))
    assert old.excluded == "已废止" and old.k == 0
    other = engine.evaluate(fact(small, "P1", "C", 100, 100, region="360302"))
    assert other.fired_names == [] and other.bp == 100


def test_unmatched_fact_hits_the_catch_all(engine: RuleEngine, small: RuleSet) -> None:
    o = engine.evaluate(fact(small, "P1", "B", 10, 100, on=date(2019, 1, 1)))
    assert o.fired == () and o.k == 1


def test_count_plan_is_capped_not_multiplied(engine: RuleEngine, small: RuleSet) -> None:
    o = engine.evaluate(fact(small, "G1", "D", 100, None, count=30))
    assert (o.bp, o.count, o.k, o.count_cap_bp) == (None, 5, 5, 500)
    # The multiplier fired but leaves a count alone, and says so.
    assert o.fired_names == ["D类提高", "一般上限"]
    assert o.explanation == [
        "D类提高（d-factor）：按数量抽取（30 户），不调整比例",
        "一般上限（cap）：数量 30 超过上限 5%（5）→ 5",
    ]
    small_count = engine.evaluate(fact(small, "P1", "B", 10, None, count=30))
    assert small_count.k == 10 and small_count.count_cap_bp is None


def test_a_count_without_n_keeps_its_cap_for_the_draw(engine: RuleEngine, small: RuleSet) -> None:
    # At submission n is unknown (0): the cap cannot be worked out yet and must not turn the
    # count into 0; it travels with the stratum (count_cap_bp) to the draw.
    unknown = StratumFact(
        "2026.G1.B.360202", small.items["G1"], "B", "360202", 0, None, 30, date(2026, 3, 1), False
    )
    o = engine.evaluate(unknown)
    assert (o.count, o.count_cap_bp) == (30, 500)
    assert o.explanation == ["一般上限（cap）：数量 30，上限 5%：抽取时至多 ⌈n×5%⌉ 户"]
    ratio = engine.evaluate(fact(small, "G1", "B", 100, 300))
    assert ratio.count_cap_bp is None  # a ratio is capped directly


def test_the_definition_is_not_mutated_and_hosts_are_independent(small: RuleSet) -> None:
    definition = compile_ruleset(small)
    before = copy.deepcopy(definition)
    a, b = RuleEngine(small), RuleEngine(small)  # same ruleset name, two fresh hosts
    try:
        assert a.definition == before and compile_ruleset(small) == before
        assert all("run" in r for r in next(iter(a.definition.values())).values())
        assert (
            a.evaluate(fact(small, "G1", "D", 100, 100)).k
            == b.evaluate(fact(small, "G1", "D", 100, 100)).k
            == 5
        )
    finally:
        a.close()
        b.close()


def test_an_action_error_is_raised_and_the_engine_recovers(
    small: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = RuleEngine(small)
    real = engine._record

    def boom(fact_id: int, position: int) -> None:
        raise RuntimeError("boom")

    try:
        monkeypatch.setattr(engine, "_record", boom)
        with pytest.raises(EngineError, match=r"a rule action failed on stratum 2026\.G1\.B"):
            engine.evaluate(fact(small, "G1", "B", 100, 100))
        monkeypatch.setattr(engine, "_record", real)
        # The session was reset: the next stratum evaluates cleanly.
        assert engine.evaluate(fact(small, "G1", "B", 100, 800)).k == 5
    finally:
        engine.close()


def test_an_effect_error_names_the_rule(small: RuleSet, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(ev: effects.Evaluation, rule: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(effects.REGISTRY, "cap_ratio", boom)
    engine = RuleEngine(small)
    try:
        with pytest.raises(EngineError, match="rule cap 一般上限 failed on stratum"):
            engine.evaluate(fact(small, "G1", "B", 100, 100))
    finally:
        engine.close()


def test_memo_reuses_firing_for_the_same_rule_inputs(small: RuleSet) -> None:
    memo, plain = RuleEngine(small), RuleEngine(small, memo=False)
    try:
        for region in ("360202", "360203", "360302"):
            for n in (10, 1000):
                a = memo.evaluate(fact(small, "P1", "C", n, 100, region=region))
                b = plain.evaluate(fact(small, "P1", "C", n, 100, region=region))
                assert a == b
        # region 3602xx meets the "3602" prefix, 360302 does not: two distinct inputs.
        assert memo.durable_calls == 2 and plain.durable_calls == 6
    finally:
        memo.close()
        plain.close()


def test_methods_forbidden_required_and_exclusion(
    shipped_engine: RuleEngine, shipped: RuleSet
) -> None:
    a = shipped_engine.evaluate(fact(shipped, "SCJG-001", "A", 100, 300))
    assert Method.ON_SITE not in a.methods and a.excluded is None
    only_on_site = shipped_engine.evaluate(fact(shipped, "SCJG-005", "A", 100, 300))
    assert only_on_site.excluded is not None and only_on_site.k == 0
    d = shipped_engine.evaluate(fact(shipped, "SCJG-006", "D", 100, 300))
    assert d.methods == (Method.ONLINE, Method.DOCUMENTS, Method.ON_SITE) and d.on_site_required
    assert d.frequency.times == 2
