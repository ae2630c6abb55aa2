"""Commissioned items (委托检验检测、财务审计): an item handed to a qualified outside body, and
the report it returns. Each change audited and told (`commission.opened`,
`commission.reported`); the item's result then waits for the report and must agree with it."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from contracts import subjects
from contracts.publisher import Commission, CommissionOpening, CommissionReporting
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.envelope import event_id
from services.kit.errors import Conflict, Invalid, NotFound
from services.kit.outbox import Outbox
from services.publisher import store
from services.publisher.commands.intake import Intake, Submitter
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.commissions import (
    allowed_categories,
    check_opening,
    check_reporting,
)
from services.publisher.domain.validation import check_actor

_THEN = ("commission it there", "请在该任务中委托")


def commission_id_of(task_id: str, item_code: str, opened_at: datetime) -> str:
    """`C-` and 12 hex digits of the task, the item and the instant (unique per commission)."""
    text = f"{task_id}\n{item_code}\n{opened_at.isoformat()}"
    return "C-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _refused(what: str, reasons: list[dict[str, object]], code: str) -> Invalid:
    return Invalid(f"{what}: {len(reasons)} reason(s)", code=code, details=reasons)


class Commissions:
    """Opens commissions and records their reports."""

    def __init__(
        self,
        *,
        db: Database,
        audit: AuditTrail,
        outbox: Outbox,
        intake: Intake,
        categories: CategoryTable,
    ) -> None:
        self.db = db
        self.audit = audit
        self.outbox = outbox
        self.intake = intake
        self.categories = categories

    async def open(
        self,
        task_id: str,
        opening: CommissionOpening,
        *,
        by: Submitter,
        now: datetime | None = None,
    ) -> Commission:
        """Hand one item of a task to an outside body: a member of its team or staff of one of
        its departments, for an item of the task that is not already waiting for a report."""
        now = now or datetime.now(UTC)
        async with self.db.transaction() as conn:
            task = await store.get_task(conn, task_id, lock=True)
            reasons = check_actor(
                task_id, task, inspector=by.inspector_id, dept=by.dept, then=_THEN
            )
            if task is not None and not reasons:
                waiting = [
                    c.item_code
                    for c in await store.task_commissions(conn, task_id)
                    if c.conclusion is None
                ]
                reasons = check_opening(
                    opening,
                    item_codes=task.item_codes,
                    methods=task.methods,
                    open_items=waiting,
                    today=_today(now),
                )
            if reasons:
                raise _refused(
                    f"commission on task {task_id} refused", reasons, "commission_refused"
                )
            commission = Commission(
                commission_id=commission_id_of(task_id, opening.item_code, now),
                task_id=task_id,
                opened_by=by.actor,
                opened_at=now,
                **opening.model_dump(),
            )
            await store.insert_commission(conn, commission)
            await self._tell(conn, commission, "commission.opened", by=by.actor)
        return commission

    async def report(
        self,
        commission_id: str,
        reporting: CommissionReporting,
        *,
        by: Submitter,
        now: datetime | None = None,
    ) -> Commission:
        """Record the body's report and its conclusion (once): the item's result may then be
        recorded, in a category the conclusion allows."""
        now = now or datetime.now(UTC)
        missing = await self.intake.attachments_missing([reporting.report], loc=["report"])
        async with self.db.transaction() as conn:
            found = await store.get_commission(conn, commission_id, lock=True)
            if found is None:
                raise NotFound(
                    f"commission {commission_id} does not exist", code="commission_unknown"
                )
            task = await store.get_task(conn, found.task_id)
            reasons = check_actor(
                found.task_id, task, inspector=by.inspector_id, dept=by.dept, then=_THEN
            )
            if found.conclusion is not None:
                raise Conflict(
                    f"commission {commission_id} has its report already",
                    code="commission_reported",
                )
            reasons += missing + check_reporting(
                reporting,
                commissioned_on=found.commissioned_on,
                reported=False,
                today=_today(now),
            )
            if reasons:
                raise _refused(f"report of {commission_id} refused", reasons, "report_refused")
            reported = found.model_copy(
                update={
                    "report": reporting.report.model_copy(update={"content_base64": None}),
                    "conclusion": reporting.conclusion,
                    "reported_on": reporting.reported_on,
                    "reported_by": by.actor,
                    "note": reporting.note,
                    "allowed_categories": allowed_categories(reporting.conclusion, self.categories),
                }
            )
            await store.record_report(conn, reported)
            await self._tell(conn, reported, "commission.reported", by=by.actor)
        return reported

    async def _tell(self, conn: store.Conn, c: Commission, name: str, *, by: str) -> None:
        await self.audit.append(
            conn,
            actor=by,
            action=name,
            subject=c.task_id,
            data=c.model_dump(mode="json"),
        )
        await self.outbox.add(
            conn,
            subjects.event("publisher", name),
            c,
            event_id=event_id(name, c.commission_id),
        )


def _today(now: datetime) -> date:
    # Dates on the task are China's: a report dated "today" at 07:00 in Beijing is 23:00 UTC.
    return now.astimezone(ZoneInfo("Asia/Shanghai")).date()
