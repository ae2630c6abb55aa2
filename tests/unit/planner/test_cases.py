"""The shipped rules pass rules/tests; a wrong expectation is reported as a failure."""

from __future__ import annotations

from services.planner.domain.casetests import parse_cases, run_cases
from services.planner.domain.engine import RuleEngine
from services.planner.domain.ruleset import RuleSet
from services.planner.rulefiles import case_files


def test_shipped_rules_pass_their_tests(
    shipped_files: dict[str, bytes], shipped: RuleSet, shipped_engine: RuleEngine
) -> None:
    cases, errors = parse_cases(case_files(shipped_files))
    assert errors == [] and len(cases) >= 15
    results = run_cases(cases, shipped, shipped_engine.evaluate)
    assert [r.name for r in results if not r.ok] == []


def test_a_wrong_expectation_fails(shipped: RuleSet, shipped_engine: RuleEngine) -> None:
    text = """\
cases:
  - name: 错误期望
    stratum: {item: SCJG-001, risk_class: B, n: 100, ratio: "7%", date: 2026-03-01}
    expect: {bp: 700, k: 7, merged: false}
  - name: 未知事项
    stratum: {item: NOPE, risk_class: B, n: 1, ratio: "7%", date: 2026-03-01}
    expect: {k: 1}
"""
    cases, errors = parse_cases({"tests/x.yaml": text.encode()})
    assert errors == []
    results = run_cases(cases, shipped, shipped_engine.evaluate)
    assert results[0].failures == ("bp 500 != 700", "k 5 != 7", "merged qyxx-sw != None")
    assert results[0].line == 2
    assert results[1].failures == ("unknown item 'NOPE'",)


def test_a_malformed_case_file_names_its_line() -> None:
    _, errors = parse_cases({"tests/x.yaml": b"cases:\n  - name: x\n    stratum: {}\n"})
    assert next(str(e) for e in errors).startswith(
        "tests/x.yaml:3: cases.0.stratum.item: Field required"
    )
