"""What the console's audit page shows: every service's audit chain verified (a broken link
named), and the latest entries of each, filtered by person and object. The four services
answer over HTTP with the auditor's token; the web's own chain (sign-ins, accounts) is read
from its own trail."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from services.kit.audit import AuditTrail
from services.web.backends import SERVICE_NAMES, Backends, Caller

WEB = "web"
SERVICES = (*SERVICE_NAMES, WEB)
# The entries read per service for the list (the newest); verification walks every entry.
WINDOW = 1000


@dataclass
class AuditView:
    """Each chain's verification and the entries that match the filters, newest first."""

    chains: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    window: int
    # The entry at which each broken chain breaks, by service (absent when it is missing).
    broken: dict[str, dict[str, Any]] = field(default_factory=dict)


class AuditReads:
    """The audit chains of the four services and of the web itself."""

    def __init__(self, *, backends: Backends, own: AuditTrail) -> None:
        self.backends = backends
        self.own = own

    async def _verify(self, caller: Caller, service: str) -> dict[str, Any]:
        if service == WEB:
            return (await self.own.verify()).as_dict()
        found: dict[str, Any] = await self.backends.get(service, "/audit/verify", caller=caller)
        return found

    async def _entries(self, caller: Caller, service: str, count: int) -> list[dict[str, Any]]:
        after = max(0, count - WINDOW)
        if service == WEB:
            rows = await self.own.entries(after=after, limit=WINDOW)
            return [{**e.__dict__, "at": e.at.isoformat()} for e in rows]
        found: list[dict[str, Any]] = await self.backends.get(
            service, "/audit/entries", caller=caller, params={"after": after, "limit": WINDOW}
        )
        return found

    async def view(
        self, caller: Caller, *, service: str = "", actor: str = "", subject: str = ""
    ) -> AuditView:
        """Verify every chain; the newest entries of one service or all, filtered."""
        chains = list(await asyncio.gather(*(self._verify(caller, s) for s in SERVICES)))
        counts = {c["service"]: int(c.get("entries", 0)) for c in chains}
        wanted = [s for s in SERVICES if not service or s == service]
        pages = await asyncio.gather(*(self._entries(caller, s, counts.get(s, 0)) for s in wanted))
        entries = [
            {**e, "service": s}
            for s, page in zip(wanted, pages, strict=True)
            for e in page
            if (not actor or actor in str(e.get("actor", "")))
            and (not subject or subject in str(e.get("subject", "")))
        ]
        entries.sort(key=lambda e: str(e["at"]), reverse=True)
        breaks = [c for c in chains if not c.get("ok") and c.get("broken_at")]
        found = await asyncio.gather(
            *(self._entry(caller, c["service"], int(c["broken_at"])) for c in breaks)
        )
        broken = {c["service"]: e for c, e in zip(breaks, found, strict=True) if e is not None}
        return AuditView(chains=chains, entries=entries[:500], window=WINDOW, broken=broken)

    async def _entry(self, caller: Caller, service: str, seq: int) -> dict[str, Any] | None:
        """The entry `seq` of a chain as stored (None when it is not: a deleted entry)."""
        if service == WEB:
            rows = await self.own.entries(after=seq - 1, limit=1)
            found = [{**e.__dict__, "at": e.at.isoformat()} for e in rows]
        else:
            found = await self.backends.get(
                service, "/audit/entries", caller=caller, params={"after": seq - 1, "limit": 1}
            )
        return found[0] if found and found[0].get("seq") == seq else None
