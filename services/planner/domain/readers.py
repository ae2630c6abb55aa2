"""Who may read a stored plan (`GET /plans/{id}`), decided once.

An approved plan is public: it is the department's plan announcement (计划公告), read by the
other departments of a joint plan, by the draw officer who draws it and by anyone at the
publisher's notices. So every role that reads plans reads every approved plan.

A rejected plan is a department's working paper: its planners read it to correct and submit
it again; the policy staff (whose rules refused it) and the auditors read it too. A planner of
another department does not, nor does the draw officer (a rejected plan is never drawn). The
answer is 403 with the reason, never the plan.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts.common import Role
from services.kit.errors import Forbidden

APPROVED = "approved"

# Who reads a plan that is not approved, besides the planners of its own departments.
READ_UNAPPROVED = frozenset({Role.POLICY, Role.AUDITOR})


def check_may_read(
    *, plan_id: str, status: str, departments: Sequence[str], role: Role, dept: str | None
) -> None:
    """Return when a reader of this role (and department) may read the plan; else `Forbidden`."""
    if status == APPROVED or role in READ_UNAPPROVED:
        return
    if role is Role.PLANNER and dept is not None and dept in departments:
        return
    who = f"a planner of {dept}" if role is Role.PLANNER else f"role {role.value}"
    raise Forbidden(
        f"plan {plan_id} is {status}, not approved: only the planners of "
        f"{', '.join(departments)} read it, not {who} (未批准的计划仅本部门可查看)",
        code="plan_not_public",
    )
