"""The inspection steps 掌上查 carries to the publisher for the signed-in inspector: start the
visit, store evidence, submit the result, confirm or return a team member's draft.

The publisher decides and records; these only forward with the person's own token, so each
confirmation is made by the person who gives it (their own request, their own session).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from services.web.backends import Backends, Caller


@dataclass(frozen=True)
class Submitted:
    """What became of a submission: a recorded result, or a draft awaiting the team."""

    state: Literal["accepted", "awaiting_confirmation"]
    body: dict[str, Any]


class InspectionCommands:
    """Forwarders to the publisher, one per step."""

    def __init__(self, *, backends: Backends) -> None:
        self.backends = backends

    async def start(self, caller: Caller, task_id: str) -> dict[str, Any]:
        """开始检查: the visit has begun."""
        reply: dict[str, Any] = await self.backends.post(
            "publisher", f"/tasks/{quote(task_id, safe='')}/start", caller=caller, json={}
        )
        return reply

    async def attach(
        self,
        caller: Caller,
        *,
        name: str,
        content: bytes,
        content_type: str,
        kind: str = "evidence",
    ) -> dict[str, Any]:
        """Store one file (a photo of evidence, an online check's capture, a commissioned
        check's report: `kind`); the attachment as a result names it."""
        response = await self.backends.request(
            "publisher",
            "POST",
            "/attachments",
            caller=caller,
            content=content,
            headers={"content-type": "application/octet-stream"},
        )
        stored = response.json()
        return {
            "name": name[:200] or "photo.jpg",
            "sha256": stored["sha256"],
            "size": stored["size"],
            "content_type": content_type or "application/octet-stream",
            "kind": kind,
        }

    async def submit(self, caller: Caller, body: dict[str, Any]) -> Submitted:
        """Submit a result: 201 recorded, 202 waiting for the other members' confirmations
        (a repeat of the same idempotency key answers the same outcome)."""
        response = await self.backends.request(
            "publisher", "POST", "/results", caller=caller, json=body
        )
        reply: dict[str, Any] = response.json()
        if response.status_code == 202 or "draft_id" in reply:
            return Submitted(state="awaiting_confirmation", body=reply)
        return Submitted(state="accepted", body=reply)

    async def confirm(
        self, caller: Caller, task_id: str, *, draft_id: str, content_sha256: str
    ) -> Submitted:
        """The caller confirms the draft they read (its content hash)."""
        response = await self.backends.request(
            "publisher",
            "POST",
            f"/tasks/{quote(task_id, safe='')}/draft/confirm",
            caller=caller,
            json={"draft_id": draft_id, "content_sha256": content_sha256},
        )
        reply: dict[str, Any] = response.json()
        if response.status_code == 202 or "draft_id" in reply:
            return Submitted(state="awaiting_confirmation", body=reply)
        return Submitted(state="accepted", body=reply)

    async def give_back(self, caller: Caller, task_id: str, *, draft_id: str, reason: str) -> None:
        """Return a draft to its submitter, with the reason."""
        await self.backends.post(
            "publisher",
            f"/tasks/{quote(task_id, safe='')}/draft/return",
            caller=caller,
            json={"draft_id": draft_id, "reason": reason},
        )
