"""Who sees which tasks (掌上查's task list), and the list's filters, checked.

Pure: the API hands in who is asking (`Reader`: role, subject, department) and the raw query
parameters; this module says which tasks they may see (`Scope`) and refuses a bad filter with
every reason at once, in the result refusals' shape (loc, msg, type, msg_zh).

- an inspector sees the tasks whose team includes them, and only those (403 on another's);
- department staff (planner) see the tasks of their department;
- auditors and operators see every task.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contracts.common import Role
from contracts.publisher import TaskStatus
from services.kit.errors import Forbidden, Invalid
from services.publisher.domain.result_parts import reason

MAX_LIMIT = 500
# How far a page may start (PostgreSQL's integer; the kit's `edge.MAX_OFFSET`).
MAX_OFFSET = 2**31 - 1
DEFAULT_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Reader:
    """Who asks for tasks: the token's role, subject and department."""

    role: Role
    sub: str
    dept: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """The tasks a reader may see: of one inspector's teams, of one department, or all."""

    inspector_id: str | None = None
    department: str | None = None


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """A checked filter of the task list."""

    status: TaskStatus | None = None
    q: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    overdue: bool | None = None  # only overdue tasks (True), or only the others (False)
    inspector: str | None = None  # only this inspector's tasks (within the reader's scope)


def scope_of(reader: Reader) -> Scope:
    """The tasks this reader may list."""
    if reader.role is Role.INSPECTOR:
        return Scope(inspector_id=reader.sub)
    if reader.role is Role.PLANNER:
        if not reader.dept:
            raise Forbidden(
                "a planner's token names no department (没有所属部门，不能查看任务)",
                code="department_missing",
            )
        return Scope(department=reader.dept)
    if reader.role in (Role.AUDITOR, Role.OPERATOR):
        return Scope()
    raise Forbidden(f"role {reader.role.value} may not read tasks")


def not_on_team(task_id: str, inspector_id: str) -> Forbidden:
    """403 for an inspector acting on a task whose team does not include them."""
    return Forbidden(
        f"inspector {inspector_id} is not on the team of task {task_id} (你不是该任务检查组成员)",
        code="not_on_team",
        details=[
            reason(
                ["task_id"],
                f"inspector {inspector_id} is not on the team of task {task_id}",
                "inspector_not_on_team",
                "你不是该任务的检查组成员，不能查看或处理该任务",
            )
        ],
    )


def check_may_read(
    reader: Reader, *, task_id: str, team: Sequence[str], departments: Sequence[str]
) -> None:
    """May this reader see this task? 403 with the reason in Chinese and English if not."""
    scope = scope_of(reader)
    if scope.inspector_id is not None and scope.inspector_id not in team:
        raise not_on_team(task_id, scope.inspector_id)
    if scope.department is not None and scope.department not in departments:
        raise Forbidden(
            f"task {task_id} is not a task of department {scope.department} (不是本部门的检查任务)",
            code="not_of_department",
            details=[
                reason(
                    ["task_id"],
                    f"task {task_id} is not a task of department {scope.department}",
                    "department_not_on_task",
                    "该任务不属于本部门",
                )
            ],
        )


def check_query(
    *,
    status: str | None,
    q: str | None,
    limit: int | None,
    offset: int | None,
    overdue: bool | None = None,
    inspector: str | None = None,
) -> TaskQuery:
    """The list's filters, or `Invalid` with every reason: `status` one of `TaskStatus`,
    `limit` 1..500, `offset` 0..MAX_OFFSET; `q` (part of the entity's name, or the start of
    its USCC) is trimmed, an empty one is no filter; `overdue` and `inspector` narrow it."""
    reasons: list[dict[str, Any]] = []
    state: TaskStatus | None = None
    if status:
        try:
            state = TaskStatus(status)
        except ValueError:
            allowed = ", ".join(s.value for s in TaskStatus)
            reasons.append(
                reason(
                    ["query", "status"],
                    f"unknown status {status!r}: give one of {allowed}",
                    "status_unknown",
                    "任务状态不在清单内",
                )
            )
    n = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= n <= MAX_LIMIT:
        reasons.append(
            reason(
                ["query", "limit"],
                f"limit must be between 1 and {MAX_LIMIT}, got {n}",
                "limit_out_of_range",
                f"每页条数须在 1 到 {MAX_LIMIT} 之间",
            )
        )
    skip = 0 if offset is None else offset
    if skip > MAX_OFFSET:
        reasons.append(
            reason(
                ["query", "offset"],
                f"offset must be at most {MAX_OFFSET}, got {skip}",
                "offset_out_of_range",
                f"起始位置不能超过 {MAX_OFFSET}",
            )
        )
    if skip < 0:
        reasons.append(
            reason(
                ["query", "offset"],
                f"offset must not be negative, got {skip}",
                "offset_negative",
                "起始位置不能为负数",
            )
        )
    text = (q or "").strip()
    if len(text) > 100:
        reasons.append(
            reason(
                ["query", "q"],
                "the search text is longer than 100 characters",
                "query_too_long",
                "搜索内容不能超过100个字符",
            )
        )
    if reasons:
        raise Invalid("the task list's filters are not valid", code="invalid", details=reasons)
    return TaskQuery(
        status=state,
        q=text or None,
        limit=n,
        offset=skip,
        overdue=overdue,
        inspector=(inspector or "").strip()[:100] or None,
    )
