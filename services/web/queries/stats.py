"""What the leaders' statistics page shows (`/console/stats`): each service's own figures
(`GET /stats/...`, asked with the person's token, all four at once), composed by
`domain/stats.py`. Nothing is counted here: the services count where their data lives."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from services.web.backends import Backends, Caller
from services.web.domain.stats import Filters, StatsView, compose
from services.web.queries.public import Names


class StatsReads:
    """The four services' statistics for one set of filters."""

    def __init__(self, *, backends: Backends) -> None:
        self.backends = backends

    async def view(
        self, caller: Caller, filters: Filters, *, departments: Mapping[str, str]
    ) -> StatsView:
        """The page's figures. The registry is asked for every region: its groups are the
        region filter's choices, and the chosen region's are kept by `compose`."""
        p = filters.params()
        entities, tasks, plans, draws = await asyncio.gather(
            self.backends.get("registry", "/stats/entities", caller=caller),
            self.backends.get("publisher", "/stats/tasks", caller=caller, params=p),
            self.backends.get(
                "planner",
                "/stats/plans",
                caller=caller,
                params={"year": p["year"], "department": p["department"]},
            ),
            self.backends.get(
                "draw",
                "/stats/draws",
                caller=caller,
                params={"year": p["year"], "department": p["department"]},
            ),
        )
        codes = {g["key"].get("region", "") for g in entities["groups"]}
        codes |= {r["region_code"] for r in tasks["by_region"]}
        return compose(
            filters=filters,
            entities=entities,
            tasks=tasks,
            plans=plans,
            draws=draws,
            departments=departments,
            region_names={c: Names.region(c) for c in codes if c},
        )
