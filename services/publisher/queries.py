"""The publisher's reads: result versions, deliveries and dead letters, deadlines, and the public
notices and open data. Plain SQL through the store; no domain model but the deadline count."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from contracts.publisher import DeadlineEntry, Delivery, DeliveryState
from services.kit.db import Database
from services.publisher import store
from services.publisher.domain.deadlines import DeadlineState, deadline
from services.publisher.domain.notices import (
    DrawNotice,
    ItemNotice,
    PlanNotice,
    ResultNotice,
    TaskNotice,
)
from services.publisher.workdays import WorkdaysCache


class PublisherQueries:
    """Reads for operators, auditors and the public pages."""

    def __init__(self, *, db: Database, workdays: WorkdaysCache) -> None:
        self.db = db
        self.workdays = workdays
        self.counts: dict[str, int] = {}  # the last deadline report's counts, for the metrics

    async def versions(self, result_id: str) -> list[dict[str, Any]]:
        """Every version of a result, oldest first."""
        async with self.db.pool.acquire() as conn:
            return await store.result_versions(conn, result_id)

    async def deliveries(self, *, state: DeliveryState | None, limit: int) -> list[Delivery]:
        """Outbox rows, optionally of one state (`dead`: the dead letters)."""
        async with self.db.pool.acquire() as conn:
            return await store.list_deliveries(conn, state=state, limit=limit)

    async def at_risk_and_overdue(self, *, today: date | None = None) -> list[DeadlineEntry]:
        """Unpublished results at risk or overdue; refreshes the metric counts."""
        today = today or datetime.now(UTC).date()
        async with self.db.pool.acquire() as conn:
            workdays = self.workdays.of(await store.read_calendar(conn))
            rows = await store.unpublished(conn)
            outbox = await store.outbox_counts(conn)
        out: list[DeadlineEntry] = []
        counts = {s.value: 0 for s in DeadlineState}
        for r in rows:
            d = deadline(r.check_date, today=today, workdays=workdays)
            counts[d.state.value] += 1
            if d.state in (DeadlineState.AT_RISK, DeadlineState.OVERDUE):
                out.append(
                    DeadlineEntry(
                        result_id=r.result_id,
                        version=r.version,
                        task_id=r.task_id,
                        uscc=r.uscc,
                        check_date=r.check_date,
                        due_date=d.due,
                        state=d.state.value,
                        working_days_left=d.working_days_left,
                        provisional=d.provisional,
                    )
                )
        self.counts = {
            **{f"deadline_{k}": v for k, v in counts.items()},
            **{f"outbox_{k}": v for k, v in outbox.items()},
        }
        return out

    # ---- public notices (公示) and open data ------------------------------------------------

    async def item_notices(self) -> list[ItemNotice]:
        """抽查事项清单: the item catalogue as the approved plans carry it."""
        async with self.db.pool.acquire() as conn:
            return await store.item_notices(conn)

    async def plan_notices(self) -> list[PlanNotice]:
        """计划公告: approved plans, newest first."""
        async with self.db.pool.acquire() as conn:
            return await store.plan_notices(conn)

    async def task_notices(
        self, *, query: str | None, draw_id: str | None
    ) -> tuple[list[TaskNotice], list[DrawNotice]]:
        """任务公告: tasks matching a search, and the draws they come from (or just `draw_id`)."""
        async with self.db.pool.acquire() as conn:
            rows = await store.task_notices(conn, query=query, draw_id=draw_id)
            draws = await store.draw_notices(conn, draw_id=draw_id)
        return rows, draws

    async def draw_notices(self) -> list[DrawNotice]:
        """Every draw we know of, newest first."""
        async with self.db.pool.acquire() as conn:
            return await store.draw_notices(conn)

    async def result_notices(self, *, query: str | None, limit: int = 200) -> list[ResultNotice]:
        """结果公告: published results matching a search, newest first."""
        async with self.db.pool.acquire() as conn:
            return await store.result_notices(conn, query=query, limit=limit)
