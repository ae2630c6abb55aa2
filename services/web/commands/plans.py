"""A plan submitted from the console, carried to the planner with the planner's own token
(the planner refuses a plan of a department that is not theirs, and says every reason)."""

from __future__ import annotations

from typing import Any

from services.web.backends import Backends, Caller

# A plan is resolved with the registry's counts of every stratum before the answer.
SUBMIT_TIMEOUT_S = 120.0


class PlanCommands:
    """Forwarders to the planner."""

    def __init__(self, *, backends: Backends) -> None:
        self.backends = backends

    async def submit(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """Submit a plan; the reply names it, its rules version, strata and flags."""
        response = await self.backends.request(
            "planner", "POST", "/plans", caller=caller, json=body, timeout=SUBMIT_TIMEOUT_S
        )
        reply: dict[str, Any] = response.json()
        return reply

    async def start_joint(self, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
        """Start a joint plan draft led by the caller's department."""
        response = await self.backends.request(
            "planner", "POST", "/plans/joint", caller=caller, json=body
        )
        reply: dict[str, Any] = response.json()
        return reply

    async def join_joint(
        self, caller: Caller, plan_id: str, items: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Join a joint plan draft with the caller's department's items (again: replaced)."""
        response = await self.backends.request(
            "planner",
            "POST",
            f"/plans/joint/{plan_id}/join",
            caller=caller,
            json={"items": items},
        )
        reply: dict[str, Any] = response.json()
        return reply

    async def submit_joint(self, caller: Caller, plan_id: str) -> dict[str, Any]:
        """Submit a joint plan draft every department joined (the lead only)."""
        response = await self.backends.request(
            "planner",
            "POST",
            f"/plans/joint/{plan_id}/submit",
            caller=caller,
            timeout=SUBMIT_TIMEOUT_S,
        )
        reply: dict[str, Any] = response.json()
        return reply
