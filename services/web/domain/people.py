"""Accounts and sessions: the rules, without storage or hashing.

等保 2.0 level 3 asks for identification of every user, passwords of some complexity, locking
after repeated failures and an end to idle sessions; these functions decide each of those, and
the commands apply them inside one transaction.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.common import DEPARTMENT_ROLES, Role

ROLE_NAMES: dict[Role, str] = {
    Role.INSPECTOR: "执法检查人员",
    Role.PLANNER: "计划编制人员",
    Role.DRAW_OFFICER: "抽取操作人员",
    Role.POLICY: "规则管理人员",
    Role.AUDITOR: "审计人员",
    Role.REGISTRY_OWNER: "两库管理人员",
    Role.OPERATOR: "系统运维人员",
    Role.AGENCY: "移送接收部门人员",
}

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")


@dataclass(frozen=True)
class Problem:
    """One reason an account change is refused: the field, and the reason in both languages."""

    field: str
    msg: str
    msg_zh: str


def check_new_account(
    *,
    username: str,
    display_name: str,
    role: Role,
    department: str | None,
    inspector_id: str | None,
) -> list[Problem]:
    """Every reason the account cannot be created as given."""
    problems: list[Problem] = []
    if not USERNAME.match(username):
        problems.append(
            Problem(
                "username",
                "2-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
                "用户名须为2至64位字母、数字或“._-”，以字母或数字开头",
            )
        )
    if not display_name.strip() or any(ord(c) < 32 for c in display_name):
        problems.append(Problem("display_name", "a name is required", "请填写姓名"))
    if role in DEPARTMENT_ROLES and not department:
        problems.append(
            Problem(
                "department",
                f"a {role.value} needs a department",
                f"{ROLE_NAMES[role]}须属于一个部门",
            )
        )
    if role is Role.INSPECTOR and not inspector_id:
        problems.append(
            Problem(
                "inspector_id",
                "an inspector's account is tied to their roster id",
                "执法检查人员账号须关联名录库中的人员编号",
            )
        )
    if role is not Role.INSPECTOR and inspector_id:
        problems.append(
            Problem(
                "inspector_id",
                "only an inspector's account has a roster id",
                "只有执法检查人员账号关联人员编号",
            )
        )
    return problems


def check_password(password: str, *, username: str, min_length: int) -> list[Problem]:
    """Every reason a new password is too weak (length, three kinds of characters, not the
    user name)."""
    problems: list[Problem] = []
    if len(password) < min_length:
        problems.append(
            Problem(
                "password",
                f"at least {min_length} characters",
                f"密码至少{min_length}位",
            )
        )
    kinds = sum(
        any(c in group for c in password)
        for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
    ) + any(not c.isalnum() for c in password)
    if kinds < 3:
        problems.append(
            Problem(
                "password",
                "use three of: lower case, upper case, digits, other characters",
                "密码须包含小写字母、大写字母、数字、其他字符中的至少三类",
            )
        )
    if username and username.lower() in password.lower():
        problems.append(
            Problem("password", "the password contains the user name", "密码不得包含用户名")
        )
    return problems


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failures lock an account, and for how long."""

    failures: int
    minutes: int


def after_failure(
    failed_logins: int, *, now: datetime, policy: LockoutPolicy
) -> tuple[int, datetime | None]:
    """The failure count and lock after one more wrong password: the count starts again once a
    lock is set, so the next lock needs as many failures again."""
    failed = failed_logins + 1
    if failed >= policy.failures:
        return 0, now + timedelta(minutes=policy.minutes)
    return failed, None


def is_locked(locked_until: datetime | None, *, now: datetime) -> bool:
    """Whether a lock is still in force."""
    return locked_until is not None and locked_until > now


@dataclass(frozen=True)
class SessionPolicy:
    """When a session ends without a sign-out."""

    idle_minutes: int
    max_hours: int

    def expires_at(self, *, created_at: datetime, now: datetime) -> datetime:
        """The end of a session seen at `now`: idle timeout, capped by its maximum age."""
        return min(
            now + timedelta(minutes=self.idle_minutes),
            created_at + timedelta(hours=self.max_hours),
        )
