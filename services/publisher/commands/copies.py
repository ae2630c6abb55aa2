"""Keeping our own copies of other services' facts: tasks, approved plans, draws.

Each is one transaction, committed before its message is acknowledged; each is an upsert, so a
redelivered message changes nothing more. A task or plan that outside platforms take (the
监督平台: `records: task` / `plan` in its mapping) is queued for them in the same transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from contracts.draw import DrawCompleted, DrawSuperseded, TaskAssigned
from contracts.planner import PlanApproved
from contracts.registry import DirectorySummary
from services.kit.db import Database
from services.publisher import store
from services.publisher.domain.platforms import (
    SUMMARY_KIND,
    fact_rows,
    plan_record,
    summary_rows,
    task_record,
)


class Copies:
    """The publisher's copies of tasks, plans and draws (from the draw's and planner's events)."""

    def __init__(
        self,
        *,
        db: Database,
        platforms: Mapping[str, Sequence[str]] | None = None,
        wake: asyncio.Event | None = None,
    ) -> None:
        self.db = db
        # Record kind (`task`, `plan`) → the ids of the platforms taking it.
        self.platforms = dict(platforms or {})
        self.wake = wake

    async def take_task(self, task: TaskAssigned) -> None:
        """Keep a task (a re-assignment replaces team and period)."""
        async with self.db.transaction() as conn:
            await store.upsert_task(conn, task)
            queued = await self._queue(conn, "task", task.task_id, task_record(task))
        self._nudge(queued)

    async def take_plan(self, plan: PlanApproved) -> None:
        """Keep what the public notices need of an approved plan."""
        async with self.db.transaction() as conn:
            await store.upsert_plan(conn, plan)
            queued = await self._queue(conn, "plan", plan.plan_id, plan_record(plan))
        self._nudge(queued)

    async def take_summary(self, summary: DirectorySummary) -> None:
        """Queue the registry's 两库 summary for the platforms taking it (the 监督平台). The
        publisher keeps no copy: the registry owns the counts, the publisher only sends them."""
        targets = self.platforms.get(SUMMARY_KIND, ())
        if not targets:
            return
        ref = f"directory-summary:{summary.day.isoformat()}"
        async with self.db.transaction() as conn:
            queued = await store.queue_platform_rows(conn, ref, summary_rows(summary, targets))
        self._nudge(queued)

    async def take_draw(self, draw: DrawCompleted | DrawSuperseded) -> None:
        """Keep a completed draw's public facts, or mark one superseded by a redraw."""
        async with self.db.transaction() as conn:
            if isinstance(draw, DrawCompleted):
                await store.upsert_draw_completed(conn, draw)
            else:
                await store.mark_draw_superseded(conn, draw)

    async def _queue(self, conn: store.Conn, kind: str, ref: str, record: dict[str, object]) -> int:
        targets = self.platforms.get(kind, ())
        if not targets:
            return 0
        return await store.queue_platform_rows(conn, ref, fact_rows(kind, ref, record, targets))

    def _nudge(self, queued: int) -> None:
        if queued and self.wake is not None:
            self.wake.set()
