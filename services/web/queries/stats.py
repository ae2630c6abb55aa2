"""What the leaders' statistics page shows (`/console/stats`): each service's own figures
(`GET /stats/...`, asked with the person's token, all four at once), composed by
`domain/stats.py`. Nothing is counted here: the services count where their data lives."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from services.web.backends import Backends, Caller
from services.web.domain.stats import Filters, StatsView, compose, industry_division
from services.web.queries.public import Names

# The roster is read in pages of this many (the registry's most), at most `ROSTER_PAGES` of them:
# past that the table shows inspectors by their number only.
ROSTER_PAGE = 1000
ROSTER_PAGES = 20


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
        entities, tasks, triggered, plans, draws, roster = await asyncio.gather(
            self.backends.get("registry", "/stats/entities", caller=caller),
            self.backends.get("publisher", "/stats/tasks", caller=caller, params=p),
            self.backends.get(
                "publisher", "/stats/tasks", caller=caller, params={**p, "kind": "triggered"}
            ),
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
            self._roster(caller),
        )
        codes = {g["key"].get("region", "") for g in entities["groups"]}
        codes |= {r["region_code"] for r in tasks["by_region"]}
        divisions = {industry_division(r["industry_code"]) for r in tasks.get("by_industry", [])}
        return compose(
            filters=filters,
            entities=entities,
            tasks=tasks,
            plans=plans,
            draws=draws,
            departments=departments,
            region_names={c: Names.region(c) for c in codes if c},
            inspector_names=roster,
            industry_names={d: Names.industry(d) for d in divisions if d},
            triggered=triggered,
        )

    async def _roster(self, caller: Caller) -> dict[str, str]:
        """Inspectors' names by their number, from the registry's roster."""
        names: dict[str, str] = {}
        offset: int | None = 0
        for _ in range(ROSTER_PAGES):
            if offset is None:
                break
            page = await self.backends.get(
                "registry",
                "/inspectors",
                caller=caller,
                params={"offset": offset, "limit": ROSTER_PAGE},
            )
            names.update({i["inspector_id"]: i["name"] for i in page["inspectors"]})
            offset = page.get("next_offset")
        return names
