"""Helpers of the planner's integration tests: the shipped rules, and a double of the
registry's `rpc.stats` (another service's rpc, answered over the test's real NATS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contracts.registry import StatsGroup, StatsReply, StatsRequest
from services.planner.rulefiles import read_rule_dir

ROOT = Path(__file__).resolve().parents[3]


def shipped_text() -> dict[str, str]:
    """The shipped rule directory as {path: text}."""
    return {p: b.decode() for p, b in read_rule_dir(ROOT / "rules").items()}


def with_cap(files: dict[str, str], cap: str) -> dict[str, str]:
    """The rule files with another general-item cap."""
    out = dict(files)
    out["ratios.yaml"] = out["ratios.yaml"].replace('cap_ratio: "5%"', f'cap_ratio: "{cap}"')
    return out


# Entities per risk class in every region; items restricted to 企业 see a tenth of them.
PER_CLASS = {"A": 1000, "B": 2000, "C": 500, "D": 100}


class StatsDouble:
    """Answers `spotcheck.v1.registry.rpc.stats` from PER_CLASS and records the requests."""

    def __init__(self) -> None:
        self.requests: list[StatsRequest] = []

    async def __call__(self, req: StatsRequest) -> StatsReply:
        self.requests.append(req)
        assert req.group_by == ["region", "risk_class"]
        share = 10 if "企业" in req.filter.entity_types else 1
        groups = [
            StatsGroup(key={"region": region, "risk_class": cls}, count=n // share)
            for region in req.filter.region_prefixes
            for cls, n in PER_CLASS.items()
        ]
        return StatsReply(total=sum(g.count for g in groups), groups=groups)


SIM_PLAN: dict[str, Any] = {
    "title": "2026年度抽查计划（模拟）",
    "year": 2026,
    "departments": ["SCJG", "SW"],
    "lead_department": "SCJG",
    "scope": {"regions": ["360202"]},
    "period": {"start": "2026-04-01", "end": "2026-11-30"},
    "items": [
        {"item": "SCJG-001", "ratio": "3%"},
        {"item": "SW-001", "ratio": "2%"},
    ],
    "filed_on": "2026-02-20",
    "entered_on": "2026-03-15",
}
