"""Helpers of the planner's integration tests: the shipped rules, and a double of the
registry's `rpc.stats` (another service's rpc, answered over the test's real NATS)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from contracts import subjects
from contracts.registry import StatsGroup, StatsReply, StatsRequest
from services.kit.bus import Bus
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
    """Answers `spotcheck.v1.registry.rpc.stats` from PER_CLASS and records the requests.

    `by_region` overrides PER_CLASS for some regions (region → class → entities). Like the
    registry, a request grouped by region and class gets one group per (region, class) of its
    filter that holds entities.
    """

    def __init__(self) -> None:
        self.requests: list[StatsRequest] = []
        self.by_region: dict[str, dict[str, int]] = {}

    def n(self, region: str, risk_class: str, *, enterprises_only: bool) -> int:
        """Entities of a region and class (a tenth when only 企业 count)."""
        count = self.by_region.get(region, PER_CLASS).get(risk_class, 0)
        return count // 10 if enterprises_only else count

    async def __call__(self, req: StatsRequest) -> StatsReply:
        self.requests.append(req)
        assert req.group_by == ["region", "risk_class"]
        only = "企业" in req.filter.entity_types
        classes = req.filter.risk_classes or list(PER_CLASS)
        groups = [
            StatsGroup(key={"region": region, "risk_class": cls}, count=count)
            for region in req.filter.region_prefixes
            for cls in classes
            if (count := self.n(region, cls, enterprises_only=only))
        ]
        return StatsReply(total=sum(g.count for g in groups), groups=groups)


@contextlib.asynccontextmanager
async def serving_stats(nats_url: str) -> AsyncIterator[StatsDouble]:
    """A `StatsDouble` answering the registry's `rpc.stats` on `nats_url` while inside."""
    bus = await Bus.connect(nats_url, name="test-registry-stats")
    double = StatsDouble()
    try:
        await bus.serve_rpc(
            subjects.rpc("registry", "stats"), double, request_model=StatsRequest, queue="registry"
        )
        yield double
    finally:
        await bus.close()


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
