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
