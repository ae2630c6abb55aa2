"""Stratum sizes from the registry: which `rpc.stats` requests a plan needs, and their answers
mapped back to stratum ids.

Strata of one plan differ by region and risk class, and by the target scope of their item
(entity types, industries, tags, and the key-supervision labels the item leaves out). One
request per distinct target scope, grouped by region and risk class, answers every stratum of
that scope: a plan needs as many requests as it has distinct item scopes (a handful), never
one per stratum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from contracts.registry import EntityFilter, StatsField, StatsGroup, StatsRequest
from services.planner.domain.resolve import Planned

Scope = tuple[object, ...]
"""What sets one count request apart from another (see `count_queries`)."""

GROUP_BY: list[StatsField] = ["region", "risk_class"]
"""How every count request is grouped: a stratum is one (region, risk class) cell."""


@dataclass
class CountQuery:
    """One stats request and the strata it sizes: (region, risk class) → stratum ids."""

    filter: EntityFilter
    cells: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @property
    def request(self) -> StatsRequest:
        """The `spotcheck.v1.registry.rpc.stats` request body."""
        return StatsRequest(group_by=list(GROUP_BY), filter=self.filter)


def count_queries(planned: Sequence[Planned]) -> list[CountQuery]:
    """The stats requests that size every stratum of `planned`, in first-seen order.

    Each request's filter is the strata's own filter with their regions and risk classes
    united, so a cell of its answer counts exactly the entities of that stratum's filter.
    """
    by_scope: dict[Scope, CountQuery] = {}
    regions: dict[Scope, dict[str, None]] = {}
    classes: dict[Scope, dict[str, None]] = {}
    for p in planned:
        # plan_strata builds a stratum's filter from its region, class and these alone.
        key: Scope = (
            p.entity_types,
            p.industries,
            p.tags,
            p.filter.exclude_key_supervision,
            tuple(p.filter.exclude_key_supervision_labels),
        )
        query = by_scope.get(key)
        if query is None:
            query = by_scope[key] = CountQuery(filter=p.filter)
            regions[key], classes[key] = {}, {}
        regions[key][p.fact.region] = None
        classes[key][p.fact.risk_class] = None
        query.cells.setdefault((p.fact.region, p.fact.risk_class), []).append(p.fact.stratum_id)
    for scope, query in by_scope.items():
        query.filter = query.filter.model_copy(
            update={"region_prefixes": list(regions[scope]), "risk_classes": list(classes[scope])}
        )
    return list(by_scope.values())


def stratum_counts(
    queries: Sequence[CountQuery], answers: Sequence[Sequence[StatsGroup]]
) -> dict[str, int]:
    """n per stratum id from the answers (same order as `queries`); a cell without a group
    has no entities (0)."""
    counts: dict[str, int] = {}
    for query, groups in zip(queries, answers, strict=True):
        got = {(g.key.get("region", ""), g.key.get("risk_class", "")): g.count for g in groups}
        for cell, ids in query.cells.items():
            for sid in ids:
                counts[sid] = got.get(cell, 0)
    return counts
