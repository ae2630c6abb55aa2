"""The ceremony's steps the console carries to the draw service for the signed-in officer:
start (freeze and commit), the seed (dice, beacon, or a party's commitment and reveal), a
redraw asked for, confirmed by a second officer, or withdrawn, and one member of a task
replaced (换人).

The draw service decides and records each step with the officer's own token: who entered the
seed and the two officers of a redraw are the people signed in, never the web service.
"""

from __future__ import annotations

from typing import Any

from services.web.backends import Backends, Caller

# Freezing a province's lists and selecting from them takes longer than a page's read.
CEREMONY_TIMEOUT_S = 300.0


class CeremonyCommands:
    """Forwarders to the draw service, one per step."""

    def __init__(self, *, backends: Backends) -> None:
        self.backends = backends

    async def _post(self, caller: Caller, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.backends.request(
            "draw", "POST", path, caller=caller, json=body, timeout=CEREMONY_TIMEOUT_S
        )
        reply: dict[str, Any] = response.json()
        return reply

    async def start(self, caller: Caller, plan_id: str) -> dict[str, Any]:
        """Freeze the plan's candidate lists and publish the commitment."""
        return await self._post(caller, "/draws", {"plan_id": plan_id})

    async def seed(self, caller: Caller, draw_id: str, *, seed: str, source: str) -> dict[str, Any]:
        """Enter the dice digits or the beacon value; the draw then selects and staffs."""
        return await self._post(caller, f"/draws/{draw_id}/seed", {"seed": seed, "source": source})

    async def register_party(
        self, caller: Caller, draw_id: str, *, party_id: str, commitment_sha256: str
    ) -> dict[str, Any]:
        """A party of a commit-reveal registers the SHA-256 of its secret."""
        return await self._post(
            caller,
            f"/draws/{draw_id}/parties",
            {"party_id": party_id, "commitment_sha256": commitment_sha256},
        )

    async def reveal_party(
        self, caller: Caller, draw_id: str, *, party_id: str, secret: str
    ) -> dict[str, Any]:
        """A party reveals its secret; the last reveal runs the draw."""
        return await self._post(
            caller, f"/draws/{draw_id}/parties/{party_id}/reveal", {"secret": secret}
        )

    async def request_redraw(self, caller: Caller, draw_id: str, *, reason: str) -> dict[str, Any]:
        """Ask for a redraw with a written reason (a second officer confirms)."""
        return await self._post(caller, f"/draws/{draw_id}/redraw", {"reason": reason})

    async def confirm_redraw(self, caller: Caller, draw_id: str) -> dict[str, Any]:
        """Confirm another officer's redraw: the new draw freezes and commits."""
        return await self._post(caller, f"/draws/{draw_id}/redraw/confirm", {})

    async def cancel_redraw(self, caller: Caller, draw_id: str) -> dict[str, Any]:
        """Withdraw the pending redraw."""
        return await self._post(caller, f"/draws/{draw_id}/redraw/cancel", {})

    async def restaff(
        self, caller: Caller, task_id: str, *, inspector_id: str, reason: str
    ) -> dict[str, Any]:
        """Replace one member of an open task (换人) by the draw's seeded rules."""
        return await self._post(
            caller, f"/tasks/{task_id}/restaff", {"inspector_id": inspector_id, "reason": reason}
        )
