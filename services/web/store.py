"""All SQL of the web service: accounts, sessions and pending SSO logins (asyncpg), as typed
rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.common import Role
from services.kit.db import Database


@dataclass(frozen=True)
class AccountRow:
    """One person who may sign in."""

    username: str
    display_name: str
    role: Role
    department: str | None
    inspector_id: str | None
    password_hash: str | None
    must_change_password: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class SessionRow:
    """A live session with the account it belongs to."""

    token_sha256: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    account: AccountRow
    # The person's SSO access token, sealed with the cookie (services/web/sealing.py).
    access_token: bytes | None = None


@dataclass(frozen=True)
class SsoLoginRow:
    """A login on its way through the province's SSO."""

    state: str
    nonce: str
    code_verifier: str
    next: str
    created_at: datetime


# How long a sign-in waits for another sign-in of the same account (each holds the account's
# row while its password is checked, tens of ms); a flood of attempts beyond it is refused.
# `WebSettings.sign_in_wait_s` sets it.
SIGN_IN_WAIT_S = 5.0

_ACCOUNT_COLUMNS = (
    "a.username, a.display_name, a.role, a.department, a.inspector_id, a.password_hash,"
    " a.must_change_password, a.disabled_at, a.disabled_reason, a.failed_logins,"
    " a.locked_until, a.last_login_at, a.created_at"
)


def _account(r: Any) -> AccountRow:
    return AccountRow(
        username=r["username"],
        display_name=r["display_name"],
        role=Role(r["role"]),
        department=r["department"],
        inspector_id=r["inspector_id"],
        password_hash=r["password_hash"],
        must_change_password=r["must_change_password"],
        disabled_at=r["disabled_at"],
        disabled_reason=r["disabled_reason"],
        failed_logins=r["failed_logins"],
        locked_until=r["locked_until"],
        last_login_at=r["last_login_at"],
        created_at=r["created_at"],
    )


class WebStore:
    """The web service's tables in its own schema."""

    def __init__(self, *, db: Database) -> None:
        self.db = db

    async def account(
        self, username: str, *, conn: Any = None, lock: bool = False
    ) -> AccountRow | None:
        """One account (locked for update inside the caller's transaction when `lock`)."""
        sql = f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.username = $1"
        if lock:
            sql += " FOR UPDATE"
        row = await (conn or self.db.pool).fetchrow(sql, username)
        return _account(row) if row else None

    async def account_for_sign_in(
        self, conn: Any, username: str, *, wait_s: float = SIGN_IN_WAIT_S
    ) -> AccountRow | None:
        """One account, its row locked for the caller's transaction (a sign-in holds it while
        the password is checked); waits at most `wait_s` for another sign-in of it (asyncpg's
        `LockNotAvailableError` after that)."""
        # SET takes no parameters: the bound is formatted in, as whole milliseconds (≥ 1: 0
        # would mean no bound at all).
        await conn.execute(f"SET LOCAL lock_timeout = {max(1, round(wait_s * 1000))}")
        account = await self.account(username, conn=conn, lock=True)
        # Only this wait is bounded: the failure and its audit entry that may follow must not
        # be dropped for a busy audit chain.
        await conn.execute("SET LOCAL lock_timeout TO DEFAULT")
        return account

    async def accounts(self, *, role: Role | None = None) -> list[AccountRow]:
        """Every account, by user name."""
        rows = await self.db.pool.fetch(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a"
            " WHERE $1::text IS NULL OR a.role = $1 ORDER BY a.username",
            role.value if role else None,
        )
        return [_account(r) for r in rows]

    async def account_of_inspector(self, inspector_id: str) -> AccountRow | None:
        """The account tied to a roster id, if any."""
        row = await self.db.pool.fetchrow(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.inspector_id = $1", inspector_id
        )
        return _account(row) if row else None

    async def insert_account(
        self,
        conn: Any,
        *,
        username: str,
        display_name: str,
        role: Role,
        department: str | None,
        inspector_id: str | None,
        password_hash: str | None,
        must_change_password: bool,
    ) -> bool:
        """Add an account; False when the user name or roster id is taken."""
        status = await conn.execute(
            "INSERT INTO accounts (username, display_name, role, department, inspector_id,"
            " password_hash, must_change_password, password_changed_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, now()) ON CONFLICT DO NOTHING",
            username,
            display_name,
            role.value,
            department,
            inspector_id,
            password_hash,
            must_change_password,
        )
        return bool(status.endswith(" 1"))

    async def record_failure(
        self, conn: Any, username: str, *, failed_logins: int, locked_until: datetime | None
    ) -> None:
        """Count a wrong password (and lock, when the policy says so)."""
        await conn.execute(
            "UPDATE accounts SET failed_logins = $2,"
            " locked_until = coalesce($3, locked_until) WHERE username = $1",
            username,
            failed_logins,
            locked_until,
        )

    async def record_login(self, conn: Any, username: str, *, at: datetime) -> None:
        """A successful sign-in clears the failure count."""
        await conn.execute(
            "UPDATE accounts SET failed_logins = 0, locked_until = NULL, last_login_at = $2"
            " WHERE username = $1",
            username,
            at,
        )

    async def set_password(
        self, conn: Any, username: str, *, password_hash: str, must_change: bool
    ) -> bool:
        """Replace a password (clearing any lock); False when there is no such account."""
        status = await conn.execute(
            "UPDATE accounts SET password_hash = $2, must_change_password = $3,"
            " password_changed_at = now(), failed_logins = 0, locked_until = NULL"
            " WHERE username = $1",
            username,
            password_hash,
            must_change,
        )
        return bool(status.endswith(" 1"))

    async def set_disabled(
        self, conn: Any, username: str, *, at: datetime | None, reason: str | None
    ) -> bool:
        """Disable (or, with `at=None`, enable) an account."""
        status = await conn.execute(
            "UPDATE accounts SET disabled_at = $2, disabled_reason = $3 WHERE username = $1",
            username,
            at,
            reason,
        )
        return bool(status.endswith(" 1"))

    async def insert_session(
        self,
        conn: Any,
        *,
        token_sha256: str,
        username: str,
        csrf_token: str,
        now: datetime,
        expires_at: datetime,
        client: str,
        access_token: bytes | None = None,
        access_expires_at: datetime | None = None,
    ) -> None:
        """Start a session (with the person's sealed SSO access token, when kept)."""
        await conn.execute(
            "INSERT INTO sessions (token_sha256, username, csrf_token, created_at, last_seen_at,"
            " expires_at, client, access_token, access_expires_at)"
            " VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)",
            token_sha256,
            username,
            csrf_token,
            now,
            expires_at,
            client[:200],
            access_token,
            access_expires_at,
        )

    async def live_session(self, token_sha256: str, *, now: datetime) -> SessionRow | None:
        """The session behind a cookie, while it lasts (and its SSO access token does)."""
        row = await self.db.pool.fetchrow(
            f"SELECT s.token_sha256, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at,"
            f" s.access_token, {_ACCOUNT_COLUMNS} FROM sessions s JOIN accounts a USING (username)"
            " WHERE s.token_sha256 = $1 AND s.ended_at IS NULL AND s.expires_at > $2"
            " AND (s.access_expires_at IS NULL OR s.access_expires_at > $2)",
            token_sha256,
            now,
        )
        if row is None:
            return None
        return SessionRow(
            token_sha256=row["token_sha256"],
            csrf_token=row["csrf_token"],
            created_at=row["created_at"],
            last_seen_at=row["last_seen_at"],
            expires_at=row["expires_at"],
            account=_account(row),
            access_token=row["access_token"],
        )

    async def touch_session(
        self, token_sha256: str, *, now: datetime, expires_at: datetime
    ) -> None:
        """Move a session's idle deadline on."""
        await self.db.pool.execute(
            "UPDATE sessions SET last_seen_at = $2, expires_at = $3"
            " WHERE token_sha256 = $1 AND ended_at IS NULL",
            token_sha256,
            now,
            expires_at,
        )

    async def end_session(self, conn: Any, token_sha256: str, *, at: datetime) -> None:
        """Sign out one session."""
        await conn.execute(
            "UPDATE sessions SET ended_at = $2 WHERE token_sha256 = $1 AND ended_at IS NULL",
            token_sha256,
            at,
        )

    async def end_sessions_of(self, conn: Any, username: str, *, at: datetime) -> int:
        """Sign out every session of an account (disabled, password reset)."""
        status = await conn.execute(
            "UPDATE sessions SET ended_at = $2 WHERE username = $1 AND ended_at IS NULL",
            username,
            at,
        )
        return int(status.split()[-1])

    async def insert_sso_login(
        self,
        *,
        state: str,
        nonce: str,
        code_verifier: str,
        next: str,
        now: datetime,
        purge_before: datetime,
    ) -> None:
        """Keep a login on its way through the provider; drop those abandoned before
        `purge_before`."""
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM sso_logins WHERE created_at < $1", purge_before)
            await conn.execute(
                "INSERT INTO sso_logins (state, nonce, code_verifier, next, created_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                state,
                nonce,
                code_verifier,
                next,
                now,
            )

    async def take_sso_login(self, state: str) -> SsoLoginRow | None:
        """The pending login of a callback, deleted as it is read: a state is used once."""
        row = await self.db.pool.fetchrow(
            "DELETE FROM sso_logins WHERE state = $1"
            " RETURNING state, nonce, code_verifier, next, created_at",
            state,
        )
        if row is None:
            return None
        return SsoLoginRow(
            state=row["state"],
            nonce=row["nonce"],
            code_verifier=row["code_verifier"],
            next=row["next"],
            created_at=row["created_at"],
        )
