"""What the console's rule pages show, from the planner: the active rule set and its history,
a stored version's files, candidate sets with their check and tests, and a simulation of a
plan under the active and a candidate set."""

from __future__ import annotations

import asyncio
from typing import Any

from services.web.backends import Backends, Caller

SIMULATE_TIMEOUT_S = 120.0


class RuleReads:
    """The planner's rule reads with the signed-in policy staff's token."""

    def __init__(self, *, backends: Backends) -> None:
        self.backends = backends

    async def overview(self, caller: Caller) -> dict[str, Any]:
        """The active set, the activation history and the candidates."""
        active, history, candidates = await asyncio.gather(
            self.backends.get("planner", "/rules/active", caller=caller),
            self.backends.get("planner", "/rules/history", caller=caller),
            self.backends.get("planner", "/rules/candidates", caller=caller),
        )
        return {"active": active, "history": history, "candidates": candidates}

    async def active_files(self, caller: Caller) -> tuple[str, dict[str, str]]:
        """The active version and its files (where an edit or an upload starts)."""
        active = await self.backends.get("planner", "/rules/active", caller=caller)
        stored = await self.version(caller, active["version"])
        return active["version"], dict(stored["files"])

    async def version(self, caller: Caller, version: str) -> dict[str, Any]:
        """A stored version with its files."""
        found: dict[str, Any] = await self.backends.get(
            "planner", f"/rules/versions/{version}", caller=caller
        )
        return found

    async def candidate(self, caller: Caller, candidate_id: str) -> dict[str, Any]:
        """A candidate: files, check, tests."""
        found: dict[str, Any] = await self.backends.get(
            "planner", f"/rules/candidates/{candidate_id}", caller=caller
        )
        return found

    async def simulate(
        self, caller: Caller, plan: dict[str, Any], files: dict[str, str]
    ) -> dict[str, Any]:
        """Every stratum's n and k under the active and the candidate rules."""
        response = await self.backends.request(
            "planner",
            "POST",
            "/rules/simulate",
            caller=caller,
            json={"plan": plan, "files": files},
            timeout=SIMULATE_TIMEOUT_S,
        )
        found: dict[str, Any] = response.json()
        return found

    async def catalogue_imports(self, caller: Caller) -> list[dict[str, Any]]:
        """Catalogue imports newest first, with their counts."""
        found: list[dict[str, Any]] = await self.backends.get(
            "planner", "/rules/catalogue-imports", caller=caller, params={"limit": 20}
        )
        return found

    async def catalogue_import(self, caller: Caller, import_id: int) -> dict[str, Any]:
        """One catalogue import with its diff."""
        found: dict[str, Any] = await self.backends.get(
            "planner", f"/rules/catalogue-imports/{import_id}", caller=caller
        )
        return found
