"""Use cases of the web service: accounts (for administrators) and signing in and out."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from asyncpg.exceptions import LockNotAvailableError

from contracts.common import Role
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.errors import Conflict, Invalid, NotFound, Unauthorized
from services.web.domain.people import (
    LockoutPolicy,
    Problem,
    SessionPolicy,
    after_failure,
    check_new_account,
    check_password,
    is_locked,
)
from services.web.passwords import Passwords, generate_password
from services.web.sealing import seal, token_digest
from services.web.store import SIGN_IN_WAIT_S, AccountRow, WebStore


class RosterCheck(Protocol):
    """Asks the roster whether an inspector may work today (status `active`); None: unknown
    id. `bearer`: the person's own SSO token, when the services take no token the web mints."""

    def __call__(self, inspector_id: str, *, bearer: str | None = None) -> Awaitable[str | None]:
        """The inspector's roster status."""
        ...


class SignInRefused(Unauthorized):
    """Sign-in refused; the message is the Chinese sentence shown on the sign-in page."""

    code = "sign_in_refused"


class PasswordSignInOff(SignInRefused):
    """Passwords sign nobody in while the province's SSO does."""

    status = 403
    code = "password_sign_in_off"


PASSWORD_SIGN_IN_OFF = "本系统已启用统一身份认证，不再使用密码登录，请点击“使用统一身份认证登录”。"


@dataclass(frozen=True)
class SessionStarted:
    """A new session: the cookie's value (shown once) and the session's CSRF token."""

    token: str
    csrf_token: str
    account: AccountRow
    must_change_password: bool


def _invalid(problems: list[Problem], message: str) -> Invalid:
    return Invalid(
        message,
        details=[{"loc": [p.field], "msg": p.msg, "msg_zh": p.msg_zh} for p in problems],
    )


def _now() -> datetime:
    return datetime.now(UTC)


class AccountCommands:
    """Accounts, passwords and sessions, each change audited."""

    def __init__(
        self,
        *,
        db: Database,
        store: WebStore,
        audit: AuditTrail,
        passwords: Passwords,
        roster: RosterCheck,
        lockout: LockoutPolicy,
        sessions: SessionPolicy,
        password_min_length: int,
        password_sign_in: bool = True,
        sign_in_wait_s: float = SIGN_IN_WAIT_S,
    ) -> None:
        self.db = db
        self.store = store
        self.audit = audit
        self.passwords = passwords
        self.roster = roster
        self.lockout = lockout
        self.sessions = sessions
        self.password_min_length = password_min_length
        # Off while the province's SSO signs people in (`WebSettings.oidc_enabled`).
        self.password_sign_in = password_sign_in
        # How long a sign-in waits for another one holding the account's row (`sign_in_busy`).
        self.sign_in_wait_s = sign_in_wait_s

    async def add_account(
        self,
        *,
        username: str,
        display_name: str,
        role: Role,
        department: str | None,
        inspector_id: str | None,
        password: str | None,
        actor: str,
    ) -> str | None:
        """Create an account; returns the generated first password when none was given (the
        person must change it at first sign-in)."""
        problems = check_new_account(
            username=username,
            display_name=display_name,
            role=role,
            department=department,
            inspector_id=inspector_id,
        )
        generated = None
        if password is None:
            password = generated = generate_password()
        else:
            problems += check_password(
                password, username=username, min_length=self.password_min_length
            )
        if problems:
            raise _invalid(problems, f"account {username!r} refused")
        if inspector_id is not None and await self.roster(inspector_id) is None:
            raise _invalid(
                [
                    Problem(
                        "inspector_id",
                        f"no inspector {inspector_id!r} in the roster",
                        f"名录库中没有人员编号 {inspector_id}",
                    )
                ],
                f"account {username!r} refused",
            )
        password_hash = await self.passwords.hash(password)
        async with self.db.transaction() as conn:
            added = await self.store.insert_account(
                conn,
                username=username,
                display_name=display_name.strip(),
                role=role,
                department=department,
                inspector_id=inspector_id,
                password_hash=password_hash,
                must_change_password=generated is not None,
            )
            if not added:
                raise Conflict(
                    f"user name {username!r} or roster id {inspector_id!r} already has an account",
                    code="account_exists",
                )
            await self.audit.append(
                conn,
                actor=actor,
                action="account.added",
                subject=username,
                data={"role": role.value, "department": department, "inspector_id": inspector_id},
            )
        return generated

    async def set_disabled(self, username: str, *, disabled: bool, reason: str, actor: str) -> None:
        """Disable an account (ending its sessions) or enable it again."""
        now = _now()
        async with self.db.transaction() as conn:
            changed = await self.store.set_disabled(
                conn, username, at=now if disabled else None, reason=reason if disabled else None
            )
            if not changed:
                raise NotFound(f"no account {username!r}")
            ended = await self.store.end_sessions_of(conn, username, at=now) if disabled else 0
            await self.audit.append(
                conn,
                actor=actor,
                action="account.disabled" if disabled else "account.enabled",
                subject=username,
                data={"reason": reason, "sessions_ended": ended},
            )

    async def reset_password(self, username: str, *, actor: str) -> str:
        """A new random password the person must change at next sign-in; ends their sessions
        and lifts a lock."""
        password = generate_password()
        password_hash = await self.passwords.hash(password)
        async with self.db.transaction() as conn:
            if not await self.store.set_password(
                conn, username, password_hash=password_hash, must_change=True
            ):
                raise NotFound(f"no account {username!r}")
            await self.store.end_sessions_of(conn, username, at=_now())
            await self.audit.append(
                conn, actor=actor, action="account.password_reset", subject=username
            )
        return password

    async def change_password(self, account: AccountRow, *, current: str, new: str) -> None:
        """The person sets their own password (after a reset, or at will)."""
        if not await self.passwords.verify(account.password_hash, current):
            raise _invalid(
                [Problem("current", "the current password is wrong", "当前密码不正确")],
                "password not changed",
            )
        problems = check_password(
            new, username=account.username, min_length=self.password_min_length
        )
        if current == new:
            problems.append(
                Problem("new", "the new password is the old one", "新密码不能与当前密码相同")
            )
        if problems:
            raise _invalid(problems, "password not changed")
        password_hash = await self.passwords.hash(new)
        async with self.db.transaction() as conn:
            await self.store.set_password(
                conn, account.username, password_hash=password_hash, must_change=False
            )
            await self.audit.append(
                conn,
                actor=account.username,
                action="account.password_changed",
                subject=account.username,
            )

    async def sign_in(self, username: str, password: str, *, client: str) -> SessionStarted:
        """Check the password (with lockout) and the roster, then start a session.

        The account's row stays locked while its password is checked, so attempts on one
        account are checked one at a time on whichever copies they arrive: a burst of guesses
        meets the lock that the last allowed wrong one set, instead of every guess being
        checked before any was counted.
        """
        if not self.password_sign_in:
            raise PasswordSignInOff(PASSWORD_SIGN_IN_OFF)
        now = _now()
        lock_set: datetime | None = None
        try:
            async with self.db.transaction() as conn:
                account = await self.store.account_for_sign_in(
                    conn, username, wait_s=self.sign_in_wait_s
                )
                if account is not None and is_locked(account.locked_until, now=now):
                    minutes = max(1, int((account.locked_until - now).total_seconds() // 60) + 1)  # type: ignore[operator]
                    raise SignInRefused(
                        f"账号因多次密码错误已锁定，请{minutes}分钟后再试，或请管理员重置密码。",
                        code="account_locked",
                    )
                ok = await self.passwords.verify(
                    account.password_hash if account else None, password
                )
                if account is not None and not ok:
                    lock_set = await self._failure(conn, account, now=now, client=client)
        except LockNotAvailableError as exc:
            raise SignInRefused(
                "该账号的登录尝试过于频繁，请稍后再试。", code="sign_in_busy"
            ) from exc
        if lock_set is not None:
            raise SignInRefused(
                f"密码连续错误{self.lockout.failures}次，账号已锁定{self.lockout.minutes}分钟。",
                code="account_locked",
            )
        if account is None or not ok:
            raise SignInRefused("用户名或密码错误。", code="wrong_credentials")
        await self._admit(account)
        return await self.start_session(account, now=now, client=client)

    async def sign_in_sso(
        self,
        username: str,
        *,
        access_token: str | None,
        access_expires_at: datetime | None,
        client: str,
    ) -> SessionStarted:
        """Start a session for a person the province's SSO has identified as `username`: the
        local account gives their role, and is refused as at password sign-in (disabled, an
        inspector not active in the roster). `access_token`: kept with the session when the
        services take the person's own token (its end ends the session)."""
        account = await self.store.account(username)
        if account is None:
            raise SignInRefused(
                f"统一身份认证账号“{username[:64]}”在本系统中没有账号，请联系管理员开通。",
                code="unknown_account",
            )
        await self._admit(account, bearer=access_token)
        return await self.start_session(
            account,
            now=_now(),
            client=client,
            via="sso",
            access_token=access_token,
            access_expires_at=access_expires_at,
        )

    async def _admit(self, account: AccountRow, *, bearer: str | None = None) -> None:
        """Refuse an identified person whose account may not sign in now."""
        if account.disabled_at is not None:
            raise SignInRefused("账号已停用，请联系管理员。", code="account_disabled")
        if account.inspector_id is not None:
            status = await self.roster(account.inspector_id, bearer=bearer)
            if status != "active":
                raise SignInRefused(
                    "名录库中该执法检查人员不在岗（停用、休假或退休），不能登录。",
                    code="inspector_not_active",
                )

    async def start_session(
        self,
        account: AccountRow,
        *,
        now: datetime,
        client: str,
        via: str = "password",
        access_token: str | None = None,
        access_expires_at: datetime | None = None,
    ) -> SessionStarted:
        """A session for an account already identified (`via` password or SSO), with the
        person's SSO access token sealed into it when given."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        async with self.db.transaction() as conn:
            await self.store.record_login(conn, account.username, at=now)
            await self.store.insert_session(
                conn,
                token_sha256=token_digest(token),
                username=account.username,
                csrf_token=csrf,
                now=now,
                expires_at=self.sessions.expires_at(created_at=now, now=now),
                client=client,
                access_token=seal(access_token, token=token) if access_token else None,
                access_expires_at=access_expires_at if access_token else None,
            )
            await self.audit.append(
                conn,
                actor=account.username,
                action="session.started",
                subject=account.username,
                data={"client": client[:200], "via": via},
            )
        return SessionStarted(
            token=token,
            csrf_token=csrf,
            account=account,
            must_change_password=account.must_change_password,
        )

    async def _failure(
        self, conn: Any, account: AccountRow, *, now: datetime, client: str
    ) -> datetime | None:
        """Count a wrong password on the account's locked row; the lock it sets, if any."""
        failed, until = after_failure(account.failed_logins, now=now, policy=self.lockout)
        await self.store.record_failure(
            conn, account.username, failed_logins=failed, locked_until=until
        )
        await self.audit.append(
            conn,
            actor=account.username,
            action="account.locked" if until else "session.refused",
            subject=account.username,
            data={"client": client[:200], "failures": failed, "locked_until": until},
        )
        return until

    async def sign_out(self, token: str, *, username: str) -> None:
        """End one session."""
        async with self.db.transaction() as conn:
            await self.store.end_session(conn, token_digest(token), at=_now())
            await self.audit.append(conn, actor=username, action="session.ended", subject=username)
