"""What the console's draw pages show, composed from the draw service (status, commitment,
record, tasks) and the planner (the plans and their titles). Nothing is stored here."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from services.web.backends import BackendError, Backends, Caller

TASK_PAGE = 5000


@dataclass
class DrawsOverview:
    """The draws and the approved plans still waiting for theirs."""

    draws: list[dict[str, Any]]
    startable: list[dict[str, Any]]
    titles: dict[str, str]


@dataclass
class CeremonyView:
    """One draw as the ceremony page shows it, step by step."""

    status: dict[str, Any]
    plan: dict[str, Any]
    commitment: dict[str, Any] | None = None
    record: dict[str, Any] | None = None
    tasks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def unstaffed(self) -> list[dict[str, Any]]:
        """Tasks no team could be made for, with the failing constraint."""
        return [t for t in self.tasks if not t["task"].get("team") and not t.get("merged_into")]


class DrawReads:
    """The console's reads of draws, each with the signed-in officer's token."""

    def __init__(self, *, backends: Backends) -> None:
        self.backends = backends

    async def plans(self, caller: Caller, **params: Any) -> list[dict[str, Any]]:
        """The planner's list of plans as this person may see it."""
        plans: list[dict[str, Any]] = await self.backends.get(
            "planner", "/plans", caller=caller, params=params
        )
        return plans

    async def overview(self, caller: Caller) -> DrawsOverview:
        """Every draw (newest first) and the approved plans without a live draw."""
        draws, plans = await asyncio.gather(
            self.backends.get("draw", "/draws", caller=caller),
            self.plans(caller, status="approved"),
        )
        drawn = {d["plan_id"] for d in draws}
        return DrawsOverview(
            draws=list(draws),
            startable=[p for p in plans if p["plan_id"] not in drawn],
            titles={p["plan_id"]: p["title"] for p in plans},
        )

    async def status(self, caller: Caller, draw_id: str) -> dict[str, Any]:
        """The ceremony state of one draw."""
        status: dict[str, Any] = await self.backends.get("draw", f"/draws/{draw_id}", caller=caller)
        return status

    async def tasks(self, caller: Caller, draw_id: str) -> list[dict[str, Any]]:
        """Every task of a draw in task order (page by page)."""
        out: list[dict[str, Any]] = []
        while True:
            page = await self.backends.get(
                "draw",
                f"/draws/{draw_id}/tasks",
                caller=caller,
                params={"offset": len(out), "limit": TASK_PAGE},
            )
            out += page
            if len(page) < TASK_PAGE:
                return out

    async def ceremony(
        self, caller: Caller, draw_id: str, *, with_tasks: bool = True
    ) -> CeremonyView:
        """The draw's status, plan, commitment (once published), record and tasks (once
        seeded)."""
        status = await self.status(caller, draw_id)

        async def plan() -> dict[str, Any]:
            try:
                shown: dict[str, Any] = await self.backends.get(
                    "planner", f"/plans/{status['plan_id']}", caller=caller
                )
            except BackendError:
                return {"plan_id": status["plan_id"], "submission": {}}
            return shown

        async def optional(path: str) -> dict[str, Any] | None:
            try:
                found: dict[str, Any] = await self.backends.get("draw", path, caller=caller)
            except BackendError as exc:
                if exc.status == 409:
                    return None
                raise
            return found

        committed = status.get("commitment_sha256") is not None
        seeded = status.get("seeded_at") is not None
        shown, commitment, record, tasks = await asyncio.gather(
            plan(),
            optional(f"/draws/{draw_id}/commitment") if committed else _none(),
            optional(f"/draws/{draw_id}/record") if seeded else _none(),
            self.tasks(caller, draw_id) if seeded and with_tasks else _empty(),
        )
        return CeremonyView(
            status=status, plan=shown, commitment=commitment, record=record, tasks=tasks
        )


async def _none() -> None:
    return None


async def _empty() -> list[dict[str, Any]]:
    return []
