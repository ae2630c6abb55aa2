"""HTTP API of the publisher's statistics (the console's 统计分析 composes them): thin, its
filters checked at the edge so that no value reaches SQL unchecked."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter

from contracts.common import STATS_ROLES
from contracts.publisher import TaskStats
from services.kit.auth import Principal, require
from services.kit.edge import DepartmentCode, RegionCode, Year
from services.publisher.queries import PublisherQueries

StatsReader = Annotated[Principal, require(*STATS_ROLES)]


def router(*, queries: PublisherQueries) -> APIRouter:
    """`GET /stats/tasks`."""
    r = APIRouter(tags=["publisher"])

    @r.get("/stats/tasks")
    async def task_stats(
        _: StatsReader,
        year: Year,
        region: RegionCode | None = None,
        department: DepartmentCode | None = None,
        kind: Literal["random", "triggered"] = "random",
    ) -> TaskStats:
        """A year's tasks (by the start of their period) of one kind — random (the draws'),
        or triggered (触发检查), never mixed: total, completed and overdue per department and
        per inspector; entities checked per region and per risk class; problems per item and
        per industry; results published within their 20 working days."""
        return await queries.stats(year=year, region=region, department=department, kind=kind)

    return r
