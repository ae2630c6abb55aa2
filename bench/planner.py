"""Benchmark: resolve a province plan of ~25k strata with the shipped rules.

Prints strata/s of the full resolution (durable-rules evaluation, explanations, joint merging)
beside the raw durable-rules `assert_fact` rate on a trivial one-rule ruleset, measured in the
same run. Target: resolution ≥ 0.5 × raw.

    .venv/bin/python bench/planner.py [--regions 521] [--raw 25000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contracts.planner import PlanSubmission  # noqa: E402
from services.planner.domain.engine import RuleEngine, raw_assert_rate  # noqa: E402
from services.planner.domain.plan import check_plan  # noqa: E402
from services.planner.domain.resolve import plan_strata, resolve  # noqa: E402
from services.planner.domain.ruleset import load_ruleset  # noqa: E402
from services.planner.rulefiles import read_rule_dir  # noqa: E402

ITEMS = [
    "SCJG-001",
    "SCJG-002",
    "SCJG-003",
    "SCJG-004",
    "SCJG-005",
    "SCJG-006",
    "SCJG-007",
    "SW-001",
    "SW-002",
    "STHJ-001",
    "STHJ-002",
    "STHJ-003",
]


def province_plan(regions: int) -> PlanSubmission:
    """A joint plan of three departments over `regions` synthetic county codes of one province."""
    codes = [f"36{i // 100 + 1:02d}{i % 100:02d}" for i in range(regions)]
    return PlanSubmission.model_validate(
        {
            "title": "省级部门联合抽查计划（基准测试）",
            "year": 2026,
            "departments": ["SCJG", "SW", "STHJ"],
            "lead_department": "SCJG",
            "scope": {"regions": codes},
            "period": {"start": "2026-04-01", "end": "2026-11-30"},
            "items": [{"item": code, "ratio": "3%"} for code in ITEMS],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regions", type=int, default=521)
    parser.add_argument("--raw", type=int, default=25000)
    args = parser.parse_args()
    ruleset = load_ruleset(read_rule_dir(ROOT / "rules"))
    plan = province_plan(args.regions)
    check_plan(plan, ruleset)
    counts = {
        f"2026.{i}.{c}.{r}": 1000 + (hash((i, c, r)) % 5000)
        for i in ITEMS
        for c in ruleset.risk_classes
        for r in plan.scope.regions
    }
    raw = raw_assert_rate(args.raw)
    engine = RuleEngine(ruleset)
    try:
        start = time.perf_counter()
        res = resolve(plan, ruleset, engine.evaluate, counts=counts)
        elapsed = time.perf_counter() - start
    finally:
        engine.close()
    plain = RuleEngine(ruleset, memo=False)
    try:
        facts = [p.fact for p in plan_strata(plan, ruleset, counts)]
        start = time.perf_counter()
        for fact in facts:
            plain.evaluate(fact)
        plain_rate = len(facts) / (time.perf_counter() - start)
    finally:
        plain.close()
    evaluated = len(res.outcomes)
    rate = evaluated / elapsed
    print(f"rules version        {ruleset.version[:16]} ({len(ruleset.rules)} rules)")
    print(
        f"strata evaluated     {evaluated} ({len(res.strata)} to draw, {res.joint_strata} joint, "
        f"{len(res.excluded)} excluded)"
    )
    print(f"resolve              {elapsed:.2f} s  = {rate:,.0f} strata/s")
    print(
        f"  durable-rules calls {engine.durable_calls} (strata with the same rule inputs share one)"
    )
    print(f"no memo, per stratum {plain_rate:,.0f} strata/s (one durable-rules call per stratum)")
    print(f"raw assert_fact      {raw:,.0f} facts/s (trivial 1-rule ruleset, {args.raw} facts)")
    print(f"ratio                {rate / raw:.2f} x raw (target >= 0.5)")


if __name__ == "__main__":
    main()
