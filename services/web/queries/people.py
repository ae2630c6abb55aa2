"""Reads of the web service's own data: sessions and accounts."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.common import Role
from services.web.domain.people import SessionPolicy
from services.web.sealing import token_digest
from services.web.store import AccountRow, SessionRow, WebStore


class WebQueries:
    """Who is signed in, and the account list administrators read."""

    def __init__(self, *, store: WebStore, sessions: SessionPolicy) -> None:
        self.store = store
        self.sessions = sessions

    async def session(self, token: str) -> SessionRow | None:
        """The live session behind a cookie, its idle deadline moved on; None when it ended,
        expired, or its account was disabled."""
        now = datetime.now(UTC)
        row = await self.store.live_session(token_digest(token), now=now)
        if row is None or row.account.disabled_at is not None:
            return None
        await self.store.touch_session(
            row.token_sha256,
            now=now,
            expires_at=self.sessions.expires_at(created_at=row.created_at, now=now),
        )
        return row

    async def accounts(self, *, role: Role | None = None) -> list[AccountRow]:
        """Every account, by user name."""
        return await self.store.accounts(role=role)
