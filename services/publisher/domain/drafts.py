"""Each member of the team confirms a result with their own sign-in (掌上查).

An inspector's submission confirms for the submitter alone; until every other member of the
team has confirmed it, it is a draft. This module is the pure part of that: the canonical
content a member confirms (and its SHA-256, which the confirmation must name), who is still
awaited, the confirmations a finished draft hands to intake, and the checks of a confirmation
or a return. The caller loads the draft and the task holding the task's row lock; nothing here
does I/O.

The same content hash serves the idempotency keys of the phone's offline queue: a repeat with
the same key must carry the same content (the submitter's own confirmation time may differ:
it is not content).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.publisher import Confirmation, DraftState, ResultDraft, ResultSubmission
from services.kit.errors import Conflict, Invalid
from services.publisher.domain.result_parts import reason
from services.publisher.domain.task_list import not_on_team

# Not content: who confirmed and when, and the offline queue's key; inline evidence is content
# through its SHA-256 (and size), which stay.
_NOT_CONTENT = {"confirmations", "idempotency_key"}


def canonical(sub: ResultSubmission) -> dict[str, Any]:
    """The submission as members confirm it: JSON values, without confirmations, the
    idempotency key and inline attachment content."""
    body = sub.model_dump(mode="json", exclude=_NOT_CONTENT)
    body["attachments"] = [
        {k: v for k, v in a.items() if k != "content_base64"} for a in body["attachments"]
    ]
    return body


def content_sha256(sub: ResultSubmission) -> str:
    """Hex SHA-256 of the canonical submission: keys sorted, no whitespace, UTF-8 (see
    `contracts.publisher.ResultDraft`)."""
    text = json.dumps(canonical(sub), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def own_confirmation(sub: ResultSubmission, inspector_id: str, *, now: datetime) -> Confirmation:
    """The submitter's confirmation: the one in the body (its time), else implied now."""
    for conf in sub.confirmations:
        if conf.inspector_id == inspector_id:
            return conf
    return Confirmation(inspector_id=inspector_id, confirmed_at=now)


def awaiting(team: Sequence[str], confirmed: Sequence[Confirmation]) -> list[str]:
    """Members of the team who have not confirmed, in the team's order."""
    done = {c.inspector_id for c in confirmed}
    return [m for m in team if m not in done]


@dataclass(frozen=True, slots=True)
class StoredDraft:
    """A draft as stored: the canonical submission and the confirmations so far (the
    submitter's first), with its state."""

    draft_id: str
    task_id: str
    submission: dict[str, Any]
    content_sha256: str
    submitted_by: str
    confirmations: tuple[Confirmation, ...]
    created_at: datetime
    state: DraftState = DraftState.AWAITING
    closed_at: datetime | None = None
    closed_by: str | None = None
    reason: str | None = None
    result_id: str | None = None
    version: int | None = None

    def confirmed(self, inspector_id: str) -> bool:
        """Whether this member's confirmation is in (the submitter's always is)."""
        return any(c.inspector_id == inspector_id for c in self.confirmations)

    def view(self, team: Sequence[str], *, full: bool = False) -> ResultDraft:
        """The draft as members read it (`full`: with its submission)."""
        return ResultDraft(
            draft_id=self.draft_id,
            task_id=self.task_id,
            content_sha256=self.content_sha256,
            submitted_by=self.submitted_by,
            confirmed_by=list(self.confirmations),
            awaiting=awaiting(team, self.confirmations)
            if self.state is DraftState.AWAITING
            else [],
            created_at=self.created_at,
            state=self.state,
            closed_at=self.closed_at,
            closed_by=self.closed_by,
            reason=self.reason,
            result_id=self.result_id,
            version=self.version,
            submission=ResultSubmission.model_validate(self.submission) if full else None,
        )

    def finished(self, confirmations: Sequence[Confirmation]) -> ResultSubmission:
        """The submission intake checks once everyone has confirmed: the canonical content
        with every member's own confirmation, each at its own time."""
        return ResultSubmission.model_validate(
            {**self.submission, "confirmations": [c.model_dump() for c in confirmations]}
        )


def check_member(task_id: str, team: Sequence[str], inspector_id: str) -> None:
    """Only a member of the task's team may confirm or return its draft (403 otherwise)."""
    if inspector_id not in team:
        raise not_on_team(task_id, inspector_id)


def check_open(draft: StoredDraft | None, *, task_id: str, draft_id: str) -> StoredDraft:
    """The draft named is the task's current one and still awaits confirmations; otherwise a
    conflict that says what happened to it (the phone reads the task again)."""
    if draft is None or draft.draft_id != draft_id:
        raise Conflict(
            f"draft {draft_id} is not the draft of task {task_id} awaiting confirmation",
            code="draft_not_current",
            details=[
                reason(
                    ["draft_id"],
                    f"draft {draft_id} is not the draft of task {task_id} awaiting "
                    "confirmation; read the task again",
                    "draft_not_current",
                    "该待确认结果已不存在或已被新提交替换，请刷新后查看",
                )
            ],
        )
    if draft.state is not DraftState.AWAITING:
        raise Conflict(
            f"draft {draft_id} was {draft.state.value}",
            code="draft_closed",
            details=[
                reason(
                    ["draft_id"],
                    f"draft {draft_id} was {draft.state.value}"
                    + (f": {draft.reason}" if draft.reason else ""),
                    "draft_closed",
                    {
                        DraftState.ACCEPTED: "该结果已确认",
                        DraftState.RETURNED: "该待确认结果已被退回",
                        DraftState.REPLACED: "该待确认结果已被替换",
                    }.get(draft.state, "该待确认结果已关闭"),
                )
            ],
        )
    return draft


def check_content(draft: StoredDraft, content_sha256: str) -> None:
    """A member confirms exactly the content they read (409 when it is not the draft's)."""
    if content_sha256 != draft.content_sha256:
        raise Conflict(
            "the content confirmed is not the draft's: read it again before confirming",
            code="draft_content_mismatch",
            details=[
                reason(
                    ["content_sha256"],
                    f"content_sha256 {content_sha256} is not the draft's ({draft.content_sha256})",
                    "draft_content_mismatch",
                    "确认的内容与待确认结果不一致，请重新查看后再确认",
                )
            ],
        )


def check_return_reason(text: str) -> str:
    """A draft is sent back with a reason."""
    if not text.strip():
        raise Invalid(
            "a returned draft needs a reason",
            code="draft_return_refused",
            details=[reason(["reason"], "give a reason", "reason_missing", "退回须说明理由")],
        )
    return text.strip()


def key_reused(key: str) -> Conflict:
    """The same idempotency key came with other content."""
    return Conflict(
        f"idempotency key {key!r} was used for a different submission",
        code="idempotency_key_reused",
        details=[
            reason(
                ["idempotency_key"],
                f"idempotency key {key!r} was used for a different submission of this task",
                "idempotency_key_reused",
                "该幂等键已用于内容不同的提交，请使用新的幂等键",
            )
        ],
    )
