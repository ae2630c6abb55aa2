"""What the console's plan pages show, from the planner: the plans a person may see, one plan
with its strata and the rules that fired, the item catalogue and the configured risk classes."""

from __future__ import annotations

import asyncio
from typing import Any

from services.web.backends import Backends, Caller


class PlanReads:
    """The planner's reads, each with the signed-in person's token (the catalogue is public)."""

    def __init__(self, *, backends: Backends) -> None:
        self.backends = backends

    async def plans(self, caller: Caller, **params: Any) -> list[dict[str, Any]]:
        """Plans newest first (a planner gets their own department's)."""
        plans: list[dict[str, Any]] = await self.backends.get(
            "planner", "/plans", caller=caller, params=params
        )
        return plans

    async def plan(self, caller: Caller, plan_id: str) -> dict[str, Any]:
        """One stored plan: status, reasons or the approved plan with its strata."""
        plan: dict[str, Any] = await self.backends.get(
            "planner", f"/plans/{plan_id}", caller=caller
        )
        return plan

    async def joint_drafts(self, caller: Caller) -> list[dict[str, Any]]:
        """Joint plan drafts (联合抽查) the person's department leads or is invited to."""
        drafts: list[dict[str, Any]] = await self.backends.get(
            "planner", "/plans/joint", caller=caller
        )
        return drafts

    async def joint_draft(self, caller: Caller, plan_id: str) -> dict[str, Any]:
        """One joint plan draft: its departments, who joined and their items."""
        draft: dict[str, Any] = await self.backends.get(
            "planner", f"/plans/joint/{plan_id}", caller=caller
        )
        return draft

    async def form_data(self, caller: Caller) -> tuple[list[dict[str, Any]], list[str]]:
        """The active item catalogue and risk classes the plan form offers."""
        catalogue, active = await asyncio.gather(
            self.backends.get("planner", "/items", caller=None),
            self.backends.get("planner", "/rules/active", caller=caller),
        )
        return list(catalogue["items"]), list(active.get("risk_classes") or [])
