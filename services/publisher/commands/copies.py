"""Keeping our own copies of other services' facts: tasks, approved plans, draws.

Each is one transaction, committed before its message is acknowledged; each is an upsert, so a
redelivered message changes nothing more.
"""

from __future__ import annotations

from contracts.draw import DrawCompleted, DrawSuperseded, TaskAssigned
from contracts.planner import PlanApproved
from services.kit.db import Database
from services.publisher import store


class Copies:
    """The publisher's copies of tasks, plans and draws (from the draw's and planner's events)."""

    def __init__(self, *, db: Database) -> None:
        self.db = db

    async def take_task(self, task: TaskAssigned) -> None:
        """Keep a task (a re-assignment replaces team and period)."""
        async with self.db.transaction() as conn:
            await store.upsert_task(conn, task)

    async def take_plan(self, plan: PlanApproved) -> None:
        """Keep what the public notices need of an approved plan."""
        async with self.db.transaction() as conn:
            await store.upsert_plan(conn, plan)

    async def take_draw(self, draw: DrawCompleted | DrawSuperseded) -> None:
        """Keep a completed draw's public facts, or mark one superseded by a redraw."""
        async with self.db.transaction() as conn:
            if isinstance(draw, DrawCompleted):
                await store.upsert_draw_completed(conn, draw)
            else:
                await store.mark_draw_superseded(conn, draw)
