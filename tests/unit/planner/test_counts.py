"""Stratum sizes: the registry stats requests a plan needs and their answers per stratum."""

from __future__ import annotations

import pytest

from contracts.planner import PlanSubmission
from contracts.registry import StatsGroup
from services.planner.domain.counts import count_queries, stratum_counts
from services.planner.domain.engine import RuleEngine
from services.planner.domain.resolve import plan_strata, resolve, sized
from services.planner.domain.ruleset import RuleSet


def plan() -> PlanSubmission:
    return PlanSubmission.model_validate(
        {
            "title": "计划",
            "year": 2026,
            "departments": ["SCJG", "SW"],
            "lead_department": "SCJG",
            "scope": {"regions": ["360202", "360203"], "risk_classes": ["B", "C"]},
            "period": {"start": "2026-04-01", "end": "2026-11-30"},
            "items": [
                {"item": "SCJG-001", "ratio": "3%"},  # 企业 only
                {"item": "SCJG-002", "ratio": "3%"},  # no restriction
                {"item": "SW-001", "ratio": "2%"},  # no restriction: shares SCJG-002's request
                {"item": "SCJG-004", "ratio": "4%", "scope": {"regions": ["360204"]}},
            ],
        }
    )


def test_one_request_per_distinct_scope_covering_each_stratum_filter(shipped: RuleSet) -> None:
    planned = plan_strata(plan(), shipped, None)
    queries = count_queries(planned)
    assert len(planned) == 2 * 2 * 3 + 4 and len(queries) == 3
    assert [q.request.group_by for q in queries] == [["region", "risk_class"]] * 3
    assert [q.filter.entity_types for q in queries] == [["企业"], [], []]
    assert [q.filter.region_prefixes for q in queries] == [
        ["360202", "360203"], ["360202", "360203"], ["360204"]
    ]  # fmt: skip
    assert all(q.filter.risk_classes == ["B", "C"] for q in queries[:2])
    assert queries[2].filter.risk_classes == list(shipped.risk_classes)
    assert queries[1].cells[("360203", "C")] == ["2026.SCJG-002.C.360203", "2026.SW-001.C.360203"]
    # A cell's filter is exactly its strata's filter: the count is the freeze's n.
    for p in planned:
        query = next(
            q for q in queries if any(p.fact.stratum_id in ids for ids in q.cells.values())
        )
        cell = query.filter.model_copy(
            update={"region_prefixes": [p.fact.region], "risk_classes": [p.fact.risk_class]}
        )
        assert cell == p.filter


def test_counts_per_stratum_and_missing_cells_are_empty(shipped: RuleSet) -> None:
    queries = count_queries(plan_strata(plan(), shipped, None))

    def group(region: str, cls: str, n: int) -> StatsGroup:
        return StatsGroup(key={"region": region, "risk_class": cls}, count=n)

    answers = [
        [group("360202", "B", 40), group("360203", "C", 7)],
        [group("360202", "B", 400), group("360202", "X", 99)],  # a cell no stratum asked for
        [],
    ]
    counts = stratum_counts(queries, answers)
    assert counts["2026.SCJG-001.B.360202"] == 40
    assert counts["2026.SCJG-001.C.360203"] == 7
    assert counts["2026.SCJG-002.B.360202"] == counts["2026.SW-001.B.360202"] == 400
    assert counts["2026.SCJG-001.B.360203"] == 0
    assert counts["2026.SCJG-004.D.360204"] == 0
    assert len(counts) == 16
    with pytest.raises(ValueError):
        stratum_counts(queries, answers[:2])


def test_resolving_prepared_strata_with_counts_equals_resolving_from_the_plan(
    shipped: RuleSet, shipped_engine: RuleEngine
) -> None:
    p = plan()
    planned = plan_strata(p, shipped, None)
    counts = {s.fact.stratum_id: 100 + 37 * i for i, s in enumerate(planned)}
    a = resolve(p, shipped, shipped_engine.evaluate, counts=counts)
    b = resolve(p, shipped, shipped_engine.evaluate, counts=counts, planned=planned)
    assert a.strata == b.strata and a.excluded == b.excluded
    assert all(s.n_estimate is not None and s.k_estimate is not None for s in b.strata)
    assert [x.fact for x in sized(planned, counts)] == [
        x.fact for x in plan_strata(p, shipped, counts)
    ]
