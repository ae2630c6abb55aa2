"""The web service's JSON API: accounts, for administrators and `spotcheck user`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from contracts.common import Role
from contracts.web import AccountAdded, AccountDisable, AccountNew, AccountView, PasswordReset
from services.kit.auth import Principal, require
from services.web.commands import AccountCommands
from services.web.queries import WebQueries
from services.web.store import AccountRow

Admin = Annotated[Principal, require(Role.OPERATOR)]


def _view(a: AccountRow) -> AccountView:
    return AccountView(
        username=a.username,
        display_name=a.display_name,
        role=a.role,
        department=a.department,
        inspector_id=a.inspector_id,
        disabled=a.disabled_at is not None,
        disabled_reason=a.disabled_reason,
        locked_until=a.locked_until,
        must_change_password=a.must_change_password,
        last_login_at=a.last_login_at,
        created_at=a.created_at,
    )


def router(*, accounts: AccountCommands, queries: WebQueries) -> APIRouter:
    """`/admin/users…`."""
    r = APIRouter(prefix="/admin", tags=["accounts"])

    @r.get("/users")
    async def users(_: Admin, role: Role | None = None) -> list[AccountView]:
        return [_view(a) for a in await queries.accounts(role=role)]

    @r.post("/users", status_code=201)
    async def add_user(body: AccountNew, who: Admin) -> AccountAdded:
        generated = await accounts.add_account(
            username=body.username,
            display_name=body.display_name,
            role=body.role,
            # an empty one is none (a form or a script sends "" for "not given")
            department=body.department or None,
            inspector_id=body.inspector_id or None,
            password=body.password,
            actor=who.sub,
        )
        return AccountAdded(username=body.username, initial_password=generated)

    @r.post("/users/{username}/disable")
    async def disable(username: str, body: AccountDisable, who: Admin) -> dict[str, str]:
        await accounts.set_disabled(username, disabled=True, reason=body.reason, actor=who.sub)
        return {"username": username, "state": "disabled"}

    @r.post("/users/{username}/enable")
    async def enable(username: str, who: Admin) -> dict[str, str]:
        await accounts.set_disabled(username, disabled=False, reason="", actor=who.sub)
        return {"username": username, "state": "enabled"}

    @r.post("/users/{username}/reset-password")
    async def reset_password(username: str, who: Admin) -> PasswordReset:
        password = await accounts.reset_password(username, actor=who.sub)
        return PasswordReset(username=username, password=password)

    return r
