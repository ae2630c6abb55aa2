"""Policy staff's steps carried to the planner with their own token: keep a candidate rule set
(uploaded, or a file edited in the browser), import a catalogue export of 互联网+监管 as one,
and activate one."""

from __future__ import annotations

from typing import Any

from services.web.backends import Backends, Caller

_BYTES = "application/octet-stream"


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

    async def import_catalogue(
        self, caller: Caller, data: bytes, *, name: str, fmt: str | None = None
    ) -> dict[str, Any]:
        """Send a catalogue export (the file's bytes as uploaded) to the planner: the import
        with its diff and the candidate it proposes; a bad row is a `BackendError` (422) whose
        details name file, line and field. `fmt` None: the planner finds the format from the
        content (no `format` is sent)."""
        kind = {"json": "application/json", "csv": "text/csv"}.get(fmt or "", _BYTES)
        response = await self.backends.request(
            "planner",
            "POST",
            "/rules/catalogue-imports",
            caller=caller,
            params={"name": name, "format": fmt},
            content=data,
            headers={"content-type": kind},
        )
        found: dict[str, Any] = response.json()
        return found
