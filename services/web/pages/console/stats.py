"""统计分析 (`/console/stats`): the leaders' figures — coverage (drawn and checked per risk
class, checked per region), ratios planned and drawn, the random-check and joint shares, tasks
per department and inspector, results published in time, problems per item and per industry,
late plan filings — as cards, charts and the same figures as tables, each
table also a CSV (`/console/stats.csv?table=`). Filters: year, region, department; a planner
sees their own department's figures unless they choose another (or all)."""

# No `from __future__ import annotations`: the routes name dependency aliases built inside
# `router()`, which FastAPI must see as objects, not as strings to resolve in module scope.

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.kit.errors import NotFound
from services.web.domain import console as words
from services.web.domain.stats import ALL, Filters, filters_of
from services.web.exports import CSV_TYPE, csv_bytes
from services.web.pages.console.common import context, today
from services.web.queries import WebQueries
from services.web.queries.stats import StatsReads
from services.web.render import Pages
from services.web.sessions import CookieNames, Person, person_dependency


def _filters(who: Person, year: str | None, region: str | None, department: str | None) -> Filters:
    return filters_of(
        year=year,
        region=region,
        department=department,
        own_department=who.account.department,
        departments=words.DEPARTMENTS,
        this_year=today().year,
    )


def router(
    *, pages: Pages, queries: WebQueries, cookies: CookieNames, reads: StatsReads
) -> APIRouter:
    """The statistics page and its CSV files."""
    r = APIRouter(tags=["console"], include_in_schema=False)
    Reader = Annotated[
        Person,
        person_dependency(queries=queries, cookies=cookies, roles=words.roles_of("stats")),
    ]

    @r.get("/console/stats")
    async def stats(
        request: Request,
        who: Reader,
        year: str | None = None,
        region: str | None = None,
        department: str | None = None,
    ) -> Response:
        f = _filters(who, year, region, department)
        view = await reads.view(who.caller, f, departments=words.DEPARTMENTS)
        this_year = today().year
        return pages.render(
            request,
            "console/stats.html",
            context(
                who,
                "stats",
                view=view,
                charts=[c for c in (t.chart() for t in view.tables) if c is not None],
                years=list(range(this_year, this_year - 5, -1)),
                all_departments=ALL,
            ),
        )

    @r.get("/console/stats.csv")
    async def stats_csv(
        who: Reader,
        table: str = "",
        year: str | None = None,
        region: str | None = None,
        department: str | None = None,
    ) -> Response:
        f = _filters(who, year, region, department)
        view = await reads.view(who.caller, f, departments=words.DEPARTMENTS)
        found = view.table(table)
        if found is None:
            raise NotFound("没有这张统计表。")
        name = f"stats-{found.key}-{f.year}.csv"
        return Response(
            csv_bytes(found.headers, found.rows),
            media_type=CSV_TYPE,
            headers={
                "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''"
                + quote(f"{found.title}-{f.year}.csv"),
                "Cache-Control": "no-store",
            },
        )

    return r
