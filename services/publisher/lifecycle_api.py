"""HTTP API of a task's life after its draw: commissioned items (委托检验检测、财务审计) and
cancellation before the visit (取消任务). Thin: each route one command."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from contracts.common import Role
from contracts.publisher import (
    Commission,
    CommissionOpening,
    CommissionReporting,
    TaskCancellation,
    TaskCancelled,
)
from services.kit.auth import Principal, require
from services.publisher.api import submitter_of
from services.publisher.commands.commissions import Commissions
from services.publisher.commands.tasks import Cancellations

# The people who may record a task's result: its team, or staff of its departments.
Recorder = Annotated[Principal, require(Role.INSPECTOR, Role.PLANNER)]
# Staff of a department (the task's: checked by the command).
DepartmentStaff = Annotated[Principal, require(Role.PLANNER)]


def router(*, commissions: Commissions, cancellations: Cancellations) -> APIRouter:
    """`POST /tasks/{task_id}/commissions`, `POST /commissions/{commission_id}/report`,
    `POST /tasks/{task_id}/cancel`."""
    r = APIRouter(tags=["publisher"])

    @r.post("/tasks/{task_id}/commissions", status_code=201)
    async def open_commission(task_id: str, body: CommissionOpening, who: Recorder) -> Commission:
        """Hand one item of the task to a qualified outside body (委托检验检测 or 财务审计).
        The item's result then waits for the report (`commission_pending`)."""
        return await commissions.open(task_id, body, by=submitter_of(who))

    @r.post("/commissions/{commission_id}/report")
    async def report(commission_id: str, body: CommissionReporting, who: Recorder) -> Commission:
        """The body's report (uploaded first, `POST /attachments`) and its conclusion: the
        item's result may then be recorded, in a category the conclusion allows."""
        return await commissions.report(commission_id, body, by=submitter_of(who))

    @r.post("/tasks/{task_id}/cancel")
    async def cancel(task_id: str, body: TaskCancellation, who: DepartmentStaff) -> TaskCancelled:
        """Call the task off before its visit (取消任务: 注销、吊销撤销、停业、迁出, or another
        reason said in a note): no visit, no result, not overdue; the draw counts it as no visit.
        Refused once a result is recorded or waits for the team's confirmations."""
        return await cancellations.cancel(task_id, body, by=submitter_of(who))

    return r
