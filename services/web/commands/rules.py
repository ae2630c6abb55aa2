"""Policy staff's steps carried to the planner with their own token: keep a candidate rule set
(uploaded, or a file edited in the browser) and activate one."""

from __future__ import annotations

from typing import Any

from services.web.backends import Backends, Caller


class RuleCommands:
    """Forwarders to the planner."""

    def __init__(self, *, backends: Backends) -> None:
        self.backends = backends

    async def keep_candidate(
        self, caller: Caller, files: dict[str, str], *, based_on: str | None, note: str
    ) -> str:
        """Keep a candidate; its id (the SHA-256 of its files)."""
        reply = await self.backends.post(
            "planner",
            "/rules/candidates",
            caller=caller,
            json={"files": files, "based_on": based_on, "note": note},
        )
        return str(reply["candidate_id"])

    async def activate(self, caller: Caller, files: dict[str, str]) -> dict[str, Any]:
        """Check and activate a set (a failing set is refused and changes nothing)."""
        reply: dict[str, Any] = await self.backends.post(
            "planner", "/rules/activate", caller=caller, json={"files": files}
        )
        return reply
