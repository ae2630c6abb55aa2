"""An inspector's result, confirmed by each member of the team with their own sign-in (掌上查).

An inspector's token speaks for that inspector only. Their submission is checked as a whole at
once (every reason, as for any result) and kept as a draft awaiting the other members; each of
them reads it and confirms it with their own token, naming the draft and its content's SHA-256
so that they confirm exactly what they read. The last confirmation accepts the result through
intake in the same transaction (`Intake.accept_in`: the same checks, the same writes, each
member's confirmation at its own time). A member may send the draft back with a reason; a new
submission for the task replaces the draft (its confirmations are dropped). Nothing is a result,
and no event is sent, until everyone has confirmed. Every change of a draft is audited.

Each change holds the task's row lock, so the confirmations of one task are taken one after
another. The phone's idempotency keys are claimed by inserting them (their primary key): a
repeat, or a twin that raced it, answers the first outcome and records nothing.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime

import asyncpg

from contracts.publisher import (
    Confirmation,
    DraftConfirm,
    DraftReturn,
    DraftState,
    ResultDraft,
    ResultSubmission,
    SubmissionOutcome,
)
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.errors import Conflict, Invalid, NotFound
from services.publisher import store
from services.publisher.commands.intake import Intake, Submitter
from services.publisher.domain.drafts import (
    StoredDraft,
    awaiting,
    canonical,
    check_content,
    check_member,
    check_open,
    check_return_reason,
    content_sha256,
    key_reused,
    own_confirmation,
)
from services.publisher.domain.result_parts import reason
from services.publisher.domain.validation import TaskView, check_submission


class Drafts:
    """Inspectors' results awaiting their team's confirmations."""

    def __init__(self, *, db: Database, audit: AuditTrail, intake: Intake) -> None:
        self.db = db
        self.audit = audit
        self.intake = intake

    async def submit(
        self, sub: ResultSubmission, *, by: Submitter, today: date | None = None
    ) -> SubmissionOutcome:
        """An inspector submits: a draft awaiting the other members (or, when there is no other
        member to wait for, the result at once), the first outcome again for a repeated
        idempotency key, or a refusal with every reason (raised)."""
        inspector = by.inspector_id
        if inspector is None:
            raise ValueError("drafts are an inspector's")
        now = datetime.now(UTC)
        today = today or now.date()
        content = content_sha256(sub)
        key = (
            None
            if sub.idempotency_key is None
            else store.SubmissionKey(
                submitted_by=by.actor,
                task_id=sub.task_id,
                idempotency_key=sub.idempotency_key,
                content_sha256=content,
            )
        )
        if key is not None:  # a repeat needs neither checks nor evidence
            async with self.db.pool.acquire() as conn:
                known = await store.get_key(conn, key)
                if known is not None:
                    task = await store.get_task(conn, sub.task_id)
                    return await self._repeat(conn, known, key, task)
        async with self.db.pool.acquire() as conn:
            task = await store.get_task(conn, sub.task_id)
            latest = (await store.latest_versions(conn, [sub.task_id])).get(sub.task_id)
        self._check(sub, task, inspector, latest, today)
        await self.intake.store_evidence(sub)
        async with self.db.transaction() as conn:
            task = await store.get_task(conn, sub.task_id, lock=True)
            if key is not None and not await store.claim_key(conn, key):
                # Claimed meanwhile by a twin of this request (it committed: we waited for it).
                return await self._repeat(conn, await store.get_key(conn, key), key, task)
            latest = (await store.latest_versions(conn, [sub.task_id])).get(sub.task_id)
            task = self._check(sub, task, inspector, latest, today)
            own = own_confirmation(sub, inspector, now=now)
            if not awaiting(task.team, [own]):
                # Nobody else to wait for: intake takes it now (and refuses a team of one:
                # a result is confirmed by at least two).
                accepted = await self.intake.accept_in(
                    conn,
                    sub.model_copy(update={"confirmations": [own]}),
                    submitted_by=by,
                    actor=by.actor,
                    today=today,
                )
                if key is not None:
                    await store.set_key_outcome(conn, key, reply=accepted)
                outcome = SubmissionOutcome(index=0, task_id=sub.task_id, accepted=accepted)
            else:
                draft = StoredDraft(
                    draft_id=f"DR-{uuid.uuid4().hex[:20]}",
                    task_id=sub.task_id,
                    submission=canonical(sub),
                    content_sha256=content,
                    submitted_by=inspector,
                    confirmations=(own,),
                    created_at=now,
                )
                replaced = await store.replace_awaiting(
                    conn,
                    [sub.task_id],
                    at=now,
                    by=by.actor,
                    reason=f"replaced by draft {draft.draft_id}",
                )
                await store.insert_draft(conn, draft)
                if key is not None:
                    await store.set_key_outcome(conn, key, draft_id=draft.draft_id)
                view = draft.view(task.team, full=True)
                await self.audit.append(
                    conn,
                    actor=by.actor,
                    action="result.draft.submitted",
                    subject=sub.task_id,
                    data={
                        "draft_id": draft.draft_id,
                        "content_sha256": content,
                        "awaiting": view.awaiting,
                        "replaced": replaced,
                        "corrects_version": sub.corrects_version,
                    },
                )
                outcome = SubmissionOutcome(index=0, task_id=sub.task_id, draft=view)
        self.intake.wake.set()
        return outcome

    def _check(
        self,
        sub: ResultSubmission,
        task: TaskView | None,
        inspector: str,
        latest: int | None,
        today: date,
    ) -> TaskView:
        check_submission(
            sub,
            task=task,
            categories=self.intake.categories,
            submitted_by=inspector,
            latest_version=latest,
            today=today,
            max_attachment_bytes=self.intake.max_attachment_bytes,
            draft=True,
        )
        assert task is not None  # refused above otherwise
        return task

    async def _repeat(
        self,
        conn: store.Conn,
        known: store.SubmissionKey | None,
        key: store.SubmissionKey,
        task: TaskView | None,
    ) -> SubmissionOutcome:
        """The first outcome of an idempotency key again (refused if the content differs)."""
        if known is None or known.content_sha256 != key.content_sha256:
            raise key_reused(key.idempotency_key)
        if known.reply is not None:
            return SubmissionOutcome(
                index=0, task_id=key.task_id, accepted=known.reply, repeated=True
            )
        draft = None if known.draft_id is None else await store.get_draft(conn, known.draft_id)
        if draft is None or task is None:  # a claim whose outcome was never written: none is
            raise key_reused(key.idempotency_key)
        return SubmissionOutcome(
            index=0, task_id=key.task_id, draft=draft.view(task.team, full=True), repeated=True
        )

    async def confirm(
        self, task_id: str, body: DraftConfirm, *, by: Submitter
    ) -> SubmissionOutcome:
        """A team member confirms the draft they read (their own token). The last one's
        confirmation accepts the result (`accepted`); before that the draft is answered with
        who is still awaited. Confirming again answers the same, and changes nothing."""
        try:
            return await self._confirm(task_id, body, by=by)
        except (asyncpg.UniqueViolationError, asyncpg.TransactionRollbackError) as exc:
            # Department staff recorded a result for the task at the same moment.
            raise Conflict(
                f"task {task_id} changed while the draft was being confirmed; read it again",
                code="task_changed",
            ) from exc

    async def _confirm(
        self, task_id: str, body: DraftConfirm, *, by: Submitter
    ) -> SubmissionOutcome:
        inspector = by.inspector_id
        if inspector is None:
            raise ValueError("only an inspector confirms, with their own sign-in")
        now = datetime.now(UTC)
        async with self.db.transaction() as conn:
            task = await self._task(conn, task_id, inspector)
            draft = await store.get_draft(conn, body.draft_id)
            if draft is not None and draft.task_id == task_id and draft.confirmed(inspector):
                # Confirmed before (the phone's queue repeats itself): the same answer.
                reply = await store.accepted_reply(conn, draft.draft_id)
                if reply is not None:
                    return SubmissionOutcome(
                        index=0, task_id=task_id, accepted=reply, repeated=True
                    )
                if draft.state is DraftState.AWAITING:
                    return SubmissionOutcome(
                        index=0, task_id=task_id, draft=draft.view(task.team), repeated=True
                    )
            draft = check_open(
                draft if draft is not None and draft.task_id == task_id else None,
                task_id=task_id,
                draft_id=body.draft_id,
            )
            check_content(draft, body.content_sha256)
            confirmations = (
                *draft.confirmations,
                Confirmation(inspector_id=inspector, confirmed_at=now),
            )
            await store.set_confirmations(conn, draft.draft_id, confirmations)
            waiting = awaiting(task.team, confirmations)
            await self.audit.append(
                conn,
                actor=by.actor,
                action="result.draft.confirmed",
                subject=task_id,
                data={
                    "draft_id": draft.draft_id,
                    "content_sha256": draft.content_sha256,
                    "awaiting": waiting,
                },
            )
            if waiting:
                current = dataclasses.replace(draft, confirmations=confirmations)
                return SubmissionOutcome(index=0, task_id=task_id, draft=current.view(task.team))
            # Everyone confirmed: the result, through intake, in this transaction. Members who
            # left the team since (a re-assignment) no longer confirm it.
            await store.close_draft(
                conn, draft.draft_id, state=DraftState.ACCEPTED, at=now, by=by.actor
            )
            team = set(task.team)
            accepted = await self.intake.accept_in(
                conn,
                draft.finished([c for c in confirmations if c.inspector_id in team]),
                submitted_by=Submitter(
                    actor=draft.submitted_by, inspector_id=draft.submitted_by, dept=None
                ),
                actor=by.actor,
                today=now.date(),
            )
            await store.set_draft_result(conn, draft.draft_id, accepted)
        self.intake.wake.set()
        return SubmissionOutcome(index=0, task_id=task_id, accepted=accepted)

    async def give_back(self, task_id: str, body: DraftReturn, *, by: Submitter) -> ResultDraft:
        """A team member sends the draft back, saying why; the task may be submitted again."""
        inspector = by.inspector_id
        if inspector is None:
            raise ValueError("only an inspector returns a draft, with their own sign-in")
        why = check_return_reason(body.reason)
        now = datetime.now(UTC)
        async with self.db.transaction() as conn:
            task = await self._task(conn, task_id, inspector)
            found = await store.get_draft(conn, body.draft_id)
            draft = check_open(
                found if found is not None and found.task_id == task_id else None,
                task_id=task_id,
                draft_id=body.draft_id,
            )
            await store.close_draft(
                conn, draft.draft_id, state=DraftState.RETURNED, at=now, by=by.actor, reason=why
            )
            await self.audit.append(
                conn,
                actor=by.actor,
                action="result.draft.returned",
                subject=task_id,
                data={"draft_id": draft.draft_id, "reason": why},
            )
            closed = await store.get_draft(conn, draft.draft_id)
        assert closed is not None
        return closed.view(task.team)

    async def _task(self, conn: store.Conn, task_id: str, inspector: str) -> TaskView:
        """The task, locked, if this inspector is on its team (404, 403 otherwise)."""
        task = await store.get_task(conn, task_id, lock=True)
        if task is None:
            raise NotFound(
                f"task {task_id} does not exist",
                code="task_unknown",
                details=[
                    reason(
                        ["task_id"],
                        f"task {task_id} does not exist",
                        "task_unknown",
                        "抽查任务不存在",
                    )
                ],
            )
        check_member(task_id, task.team, inspector)
        if task.merged_into is not None:
            raise Invalid(
                f"task {task_id} was merged into task {task.merged_into}",
                code="task_merged",
                details=[
                    reason(
                        ["task_id"],
                        f"task {task_id} was merged into task {task.merged_into}",
                        "task_merged",
                        f"该任务已并入任务 {task.merged_into}（进一次门、查多项事）",
                    )
                ],
            )
        return task
