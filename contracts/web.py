"""Web service contracts: the accounts administrators manage (`spotcheck user …`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from contracts.base import Contract
from contracts.common import Role


class AccountNew(Contract):
    """`POST /admin/users`: a person who may sign in. Without `password` a random first one
    is generated, returned once, and must be changed at first sign-in."""

    username: str = Field(min_length=2, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    role: Role
    department: str | None = Field(default=None, max_length=20)
    inspector_id: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, max_length=256)


class AccountAdded(Contract):
    """Reply to `POST /admin/users`."""

    username: str
    initial_password: str | None = None


class AccountView(Contract):
    """An account as administrators see it (never its password hash)."""

    username: str
    display_name: str
    role: Role
    department: str | None
    inspector_id: str | None
    disabled: bool
    disabled_reason: str | None
    locked_until: datetime | None
    must_change_password: bool
    last_login_at: datetime | None
    created_at: datetime


class AccountDisable(Contract):
    """`POST /admin/users/{username}/disable`: why."""

    reason: str = Field(min_length=1, max_length=500)


class PasswordReset(Contract):
    """Reply to `POST /admin/users/{username}/reset-password`: shown once."""

    username: str
    password: str
