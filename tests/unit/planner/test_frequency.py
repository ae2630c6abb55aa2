"""Frequency windows follow each stratum's own rule outcome (issue 11, defect 2).

The shipped rules (rules/frequency.yaml): once a year by default, class A once in 24 months,
class D twice in 12 months. A plan's windows say so per stratum: the draw must never apply
class A's two years to class B, nor take class D entities out after their first check.
"""

from __future__ import annotations

from datetime import date

from contracts.planner import PlanSubmission
from services.planner.domain.engine import RuleEngine
from services.planner.domain.resolve import frequency_exclusions, resolve
from services.planner.domain.ruleset import RuleSet


def _plan() -> PlanSubmission:
    return PlanSubmission.model_validate(
        {
            "title": "2026年度抽查计划",
            "year": 2026,
            "departments": ["SCJG", "SW"],
            "lead_department": "SCJG",
            "scope": {"regions": ["360202", "360203"]},
            "period": {"start": "2026-03-01", "end": "2026-11-30"},
            "items": [
                {"item": "SCJG-002", "ratio": "3%"},
                {"item": "SW-001", "ratio": "2%"},  # merges with SCJG-002 (qyxx-sw)
                {"item": "SCJG-006", "ratio": "1%"},
            ],
        }
    )


def test_each_stratum_gets_its_own_window_and_count(
    shipped: RuleSet, shipped_engine: RuleEngine
) -> None:
    plan = _plan()
    res = resolve(plan, shipped, shipped_engine.evaluate)
    windows = frequency_exclusions(plan, res)
    by_stratum = {sid: w for w in windows for sid in w.stratum_ids}
    # every stratum has exactly one window, and it is the one its own rules gave it
    assert sorted(by_stratum) == sorted(s.stratum_id for s in res.strata)
    assert sum(len(w.stratum_ids) for w in windows) == len(res.strata)
    for s in res.strata:
        w = by_stratum[s.stratum_id]
        assert (w.item_codes, w.departments) == (s.item_codes, s.departments)
        assert w.times == s.frequency_times
    # 24 months before 2026-03-01 for class A, 12 for the others; twice for class D
    got = {
        (w.item_codes[0], w.since, w.times): sorted(w.stratum_ids)
        for w in windows
        if w.item_codes == ["SCJG-006"]
    }
    assert got == {
        ("SCJG-006", date(2024, 3, 1), 1): [f"2026.SCJG-006.A.{r}" for r in ("360202", "360203")],
        ("SCJG-006", date(2025, 3, 1), 1): sorted(
            f"2026.SCJG-006.{c}.{r}" for c in "BC" for r in ("360202", "360203")
        ),
        ("SCJG-006", date(2025, 3, 1), 2): [f"2026.SCJG-006.D.{r}" for r in ("360202", "360203")],
    }
    # a joint stratum (SCJG-002 + SW-001) of class D: twice in 12 months, both departments
    joint = by_stratum["2026.qyxx-sw.D.360202"]
    assert joint.item_codes == ["SCJG-002", "SW-001"] and joint.departments == ["SCJG", "SW"]
    assert (joint.since, joint.times) == (date(2025, 3, 1), 2)
    # one window per distinct outcome, not per region: 2 item sets × 3 outcomes
    assert len(windows) == 6
