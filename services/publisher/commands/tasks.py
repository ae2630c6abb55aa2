"""A task's progress told to the draw: the start of its visit (掌上查: 开始检查,
`task.started`) and its cancellation before the visit (取消任务, `task.cancelled`), each recorded
once."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts import subjects
from contracts.publisher import TaskCancellation, TaskCancelled, TaskStarted
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.envelope import event_id
from services.kit.errors import Invalid
from services.kit.outbox import Outbox
from services.publisher import store
from services.publisher.commands.intake import Submitter
from services.publisher.domain.cancellation import check_cancel
from services.publisher.domain.validation import check_start


class TaskStarts:
    """Marks tasks' visits begun."""

    def __init__(self, *, db: Database, audit: AuditTrail, outbox: Outbox) -> None:
        self.db = db
        self.audit = audit
        self.outbox = outbox

    async def start(
        self, task_id: str, *, by: Submitter, now: datetime | None = None
    ) -> TaskStarted:
        """Mark a task's visit begun (掌上查: 开始检查) and tell the draw (`task.started`).

        The first start counts; a second one answers the first's facts and changes nothing.
        """
        async with self.db.transaction() as conn:
            task = check_start(
                task_id,
                await store.get_task(conn, task_id, lock=True),
                started_by=by.inspector_id,
                starter_dept=by.dept,
            )
            if task.started_at is not None and task.started_by is not None:
                return TaskStarted(
                    task_id=task_id,
                    draw_id=task.draw_id,
                    started_by=task.started_by,
                    started_at=task.started_at,
                )
            event = TaskStarted(
                task_id=task_id,
                draw_id=task.draw_id,
                started_by=by.actor,
                started_at=now or datetime.now(UTC),
            )
            await store.mark_started(conn, task_id, by=event.started_by, at=event.started_at)
            await self.audit.append(
                conn,
                actor=by.actor,
                action="task.started",
                subject=task_id,
                data={"draw_id": task.draw_id, "started_at": event.started_at.isoformat()},
            )
            await self.outbox.add(
                conn,
                subjects.event("publisher", "task.started"),
                event,
                event_id=event_id("task.started", task_id),
            )
        return event


class Cancellations:
    """Calls tasks off before their visit (取消任务)."""

    def __init__(self, *, db: Database, audit: AuditTrail, outbox: Outbox) -> None:
        self.db = db
        self.audit = audit
        self.outbox = outbox

    async def cancel(
        self,
        task_id: str,
        cancellation: TaskCancellation,
        *,
        by: Submitter,
        now: datetime | None = None,
    ) -> TaskCancelled:
        """Call a task off with a reason (staff of one of its departments), and tell the draw
        (`task.cancelled`). A second cancellation answers the first's facts."""
        async with self.db.transaction() as conn:
            task = await store.get_task(conn, task_id, lock=True)
            if task is not None and task.cancel_reason is not None:
                done = await store.cancellation(conn, task_id)
                assert done is not None
                return done
            latest = await store.latest_versions(conn, [task_id])
            drafts = await store.awaiting_drafts(conn, [task_id])
            reasons = check_cancel(
                task_id,
                task,
                cancellation,
                dept=by.dept or "",
                recorded=task_id in latest,
                draft_waiting=task_id in drafts,
            )
            if reasons:
                raise Invalid(
                    f"task {task_id} cannot be cancelled: {len(reasons)} reason(s)",
                    code="cancel_refused",
                    details=reasons,
                )
            assert task is not None
            event = TaskCancelled(
                task_id=task_id,
                draw_id=task.draw_id,
                reason=cancellation.reason,
                note=cancellation.note.strip(),
                cancelled_by=by.actor,
                cancelled_at=now or datetime.now(UTC),
            )
            await store.mark_cancelled(conn, event)
            await self.audit.append(
                conn,
                actor=by.actor,
                action="task.cancelled",
                subject=task_id,
                data=event.model_dump(mode="json"),
            )
            await self.outbox.add(
                conn,
                subjects.event("publisher", "task.cancelled"),
                event,
                event_id=event_id("task.cancelled", task_id),
            )
        return event
