"""Accepting results: check against our task copies, store evidence, then one transaction that
inserts the result version (with the submitter's idempotency key), queues every delivery
(outbox) and the `result.accepted` event, and appends the audit entry.

Department staff's submissions (and batches) come here directly; an inspector's become drafts
first (`drafts.py`) and come here, inside the draft's transaction, when the last member of the
team confirms (`accept_in`)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from contracts import subjects
from contracts.publisher import Attachment, ResultAccepted, ResultSubmission, SubmissionOutcome
from services.kit.audit import AuditTrail
from services.kit.bus import Bus
from services.kit.db import Database
from services.kit.errors import Conflict, DomainError, Invalid, TooLarge
from services.kit.outbox import Outbox
from services.publisher import store
from services.publisher.commands.calendars import Calendars
from services.publisher.commands.grouping import GroupCommit, TaskReader
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.drafts import content_sha256, key_reused
from services.publisher.domain.payloads import build_deliveries, normalised_items, result_id_of
from services.publisher.domain.validation import CheckedResult, check_submission


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who submits: an inspector (by id) or department staff (by department)."""

    actor: str
    inspector_id: str | None
    dept: str | None


class Intake:
    """Result intake of the publisher."""

    def __init__(
        self,
        *,
        db: Database,
        bus: Bus,
        audit: AuditTrail,
        outbox: Outbox,
        categories: CategoryTable,
        calendars: Calendars,
        max_attachment_bytes: int,
        wake: asyncio.Event,
        platforms: Sequence[str] = (),
        disclosing: Sequence[str] = (),
    ) -> None:
        self.db = db
        self.platforms = tuple(platforms)  # the outside platforms taking results (their ids)
        # Those of them that make results public (公示系统, 执法服务网): the clock waits for them.
        self.disclosing = frozenset(disclosing)
        self.bus = bus
        self.audit = audit
        self.outbox = outbox
        self.categories = categories
        self.max_attachment_bytes = max_attachment_bytes
        self.wake = wake
        self.reader = TaskReader(db=db)
        self.group = GroupCommit(db=db, audit=audit, outbox=outbox, calendars=calendars)
        self._evidence: Any = None

    async def evidence(self) -> Any:
        """The object store bucket of evidence (created on first use)."""
        if self._evidence is None:
            self._evidence = await self.bus.object_store(subjects.EVIDENCE_BUCKET)
        return self._evidence

    async def put_attachment(self, content: bytes) -> tuple[str, int]:
        """Store evidence under its SHA-256; returns (sha256, size). Storing twice is harmless."""
        if len(content) > self.max_attachment_bytes:
            raise TooLarge(
                f"attachment of {len(content)} bytes exceeds {self.max_attachment_bytes} bytes",
                code="attachment_too_large",
            )
        digest = hashlib.sha256(content).hexdigest()
        bucket = await self.evidence()
        await bucket.put(digest, io.BytesIO(content))
        return digest, len(content)

    async def store_evidence(self, sub: ResultSubmission) -> None:
        """Refuse a submission whose referenced attachments were not uploaded; store its inline
        ones. Call after the submission passed its checks (sizes and hashes are checked
        there)."""
        if not sub.attachments:
            return
        missing = await self._attachments_present(sub)
        if missing:
            raise Invalid(
                f"result for task {sub.task_id} refused", code="result_refused", details=missing
            )
        for att in sub.attachments:
            if att.content_base64 is not None:
                await self.put_attachment(base64.b64decode(att.content_base64))

    async def _attachments_present(self, sub: ResultSubmission) -> list[dict[str, Any]]:
        """Reasons for referenced (not inline) attachments missing from the object store."""
        return await self.attachments_missing(sub.attachments, loc=["attachments"])

    async def attachments_missing(
        self, attachments: Sequence[Attachment], *, loc: list[str | int]
    ) -> list[dict[str, Any]]:
        """Reasons for referenced (not inline) attachments missing from the object store, each
        at `loc` + its index."""
        reasons = []
        for i, att in enumerate(attachments):
            if att.content_base64 is not None or att.size > self.max_attachment_bytes:
                continue
            bucket = await self.evidence()
            try:
                info = await bucket.get_info(att.sha256)
            except Exception:
                info = None
            if info is None or int(info.size or 0) != att.size:
                reasons.append(
                    {
                        "loc": [*loc, i, "sha256"],
                        "msg": f"attachment {att.name!r} was not uploaded",
                        "type": "attachment_missing",
                        "msg_zh": "附件未上传",
                    }
                )
        return reasons

    async def submit(
        self, subs: Sequence[ResultSubmission], *, by: Submitter, today: date | None = None
    ) -> list[SubmissionOutcome]:
        """Check and accept a batch; each result is accepted whole or refused with reasons."""
        today = today or datetime.now(UTC).date()
        task_ids = [s.task_id for s in subs]
        tasks, latest = await self.reader.read(task_ids)
        keys = await self._keys(subs, by)
        outcomes: list[SubmissionOutcome | None] = [None] * len(subs)
        accepted: list[tuple[int, ResultSubmission, CheckedResult]] = []
        seen: set[str] = set()
        for i, sub in enumerate(subs):
            try:
                if sub.task_id in seen:
                    raise Conflict(
                        f"task {sub.task_id} appears twice in this batch",
                        code="result_duplicate_in_batch",
                    )
                seen.add(sub.task_id)
                known = keys.get((sub.task_id, sub.idempotency_key or ""))
                if known is not None:  # a repeat: the first outcome again, nothing recorded
                    if known.content_sha256 != content_sha256(sub) or known.reply is None:
                        raise key_reused(sub.idempotency_key or "")
                    outcomes[i] = SubmissionOutcome(
                        index=i, task_id=sub.task_id, accepted=known.reply, repeated=True
                    )
                    continue
                checked = check_submission(
                    sub,
                    task=tasks.get(sub.task_id),
                    categories=self.categories,
                    submitted_by=by.inspector_id,
                    submitter_dept=by.dept,
                    latest_version=latest.get(sub.task_id),
                    today=today,
                    max_attachment_bytes=self.max_attachment_bytes,
                )
                await self.store_evidence(sub)
                accepted.append((i, sub, checked))
            except DomainError as exc:
                outcomes[i] = refused(i, sub, exc)
        if accepted:
            try:
                for i, acc in await self._commit(accepted, by):
                    outcomes[i] = SubmissionOutcome(index=i, task_id=acc.task_id, accepted=acc)
            except asyncpg.UniqueViolationError:
                # Another submission for one of these tasks won the race: redo one by one so
                # that only the loser is refused.
                for i, sub, _ in accepted:
                    outcomes[i] = (await self.submit([sub], by=by, today=today))[0].model_copy(
                        update={"index": i}
                    )
        self.wake.set()
        return [o for o in outcomes if o is not None]

    async def _keys(
        self, subs: Sequence[ResultSubmission], by: Submitter
    ) -> dict[tuple[str, str], store.SubmissionKey]:
        """The idempotency keys of these submissions that this submitter used before."""
        wanted = [(s.task_id, s.idempotency_key) for s in subs if s.idempotency_key]
        if not wanted:
            return {}
        async with self.db.pool.acquire() as conn:
            return await store.get_keys(conn, by.actor, wanted)

    async def accept_in(
        self,
        conn: store.Conn,
        sub: ResultSubmission,
        *,
        submitted_by: Submitter,
        actor: str,
        today: date,
        key: store.SubmissionKey | None = None,
    ) -> ResultAccepted:
        """Check and accept one submission inside the caller's transaction (the draft's, when
        its last member confirms): the same checks and the same writes as `submit`, with the
        task and its latest version read in that transaction. `actor` is audited."""
        tasks, latest = await store.tasks_and_latest(conn, [sub.task_id])
        checked = check_submission(
            sub,
            task=tasks.get(sub.task_id),
            categories=self.categories,
            submitted_by=submitted_by.inspector_id,
            submitter_dept=submitted_by.dept,
            latest_version=latest.get(sub.task_id),
            today=today,
            max_attachment_bytes=self.max_attachment_bytes,
        )
        row = self._new_result(sub, checked, submitted_by.actor, datetime.now(UTC), key)
        [stored] = await self.group.write_in(conn, [row], actor=actor)
        return stored.accepted

    async def _commit(
        self, accepted: list[tuple[int, ResultSubmission, CheckedResult]], by: Submitter
    ) -> list[tuple[int, ResultAccepted]]:
        now = datetime.now(UTC)
        rows = [
            self._new_result(
                sub,
                checked,
                by.actor,
                now,
                None
                if sub.idempotency_key is None
                else store.SubmissionKey(
                    submitted_by=by.actor,
                    task_id=sub.task_id,
                    idempotency_key=sub.idempotency_key,
                    content_sha256=content_sha256(sub),
                ),
            )
            for _, sub, checked in accepted
        ]
        stored = await self.group.commit(rows, actor=by.actor)
        # The replies carry the due dates as counted on the stored calendar when written.
        return [(i, r.accepted) for (i, _, _), r in zip(accepted, stored, strict=True)]

    def _new_result(
        self,
        sub: ResultSubmission,
        checked: CheckedResult,
        submitted_by: str,
        now: datetime,
        key: store.SubmissionKey | None,
    ) -> store.NewResult:
        rid = result_id_of(sub.task_id)
        deliveries = build_deliveries(
            sub,
            checked,
            categories=self.categories,
            accepted_at=now,
            platforms=self.platforms,
            disclosing=self.disclosing,
        )
        items = [
            {
                **it.model_dump(mode="json"),
                "category_name": self.categories.by_code[it.category].name,
            }
            for it in normalised_items(sub, checked, self.categories)
        ]
        return store.NewResult(
            result_id=rid,
            version=checked.version,
            task_id=sub.task_id,
            supersedes=checked.supersedes,
            correction_reason=sub.correction_reason,
            submitted_by=submitted_by,
            check_date=sub.check_date,
            method=checked.method,
            items=items,
            categories=list(checked.category_codes),
            violation=checked.violation,
            confirmations=[c.model_dump(mode="json") for c in sub.confirmations],
            attachments=[
                a.model_dump(mode="json", exclude={"content_base64"}) for a in sub.attachments
            ],
            accepted_at=now,
            deliveries=deliveries,
            follow_up=None if sub.follow_up is None else sub.follow_up.model_dump(mode="json"),
            representative=None
            if sub.representative is None
            else sub.representative.model_dump(mode="json"),
            method_record=sub.method_record.model_dump(mode="json"),
            key=key,
        )


def refused(index: int, sub: ResultSubmission, exc: DomainError) -> SubmissionOutcome:
    """The outcome line of a refused submission (the error in the HTTP error's shape)."""
    return SubmissionOutcome(
        index=index,
        task_id=sub.task_id,
        error={
            "code": exc.code,
            "message": exc.message,
            "status": exc.status,
            "details": exc.details,
        },
    )
