"""The parts of a result submission checked one by one: confirmations, items, attachments.

Pure, like `validation.py` that composes them: each returns every reason it finds (in the one
reason shape, `reason(...)`), so an inspector can mend a submission in one go.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from contracts.publisher import ResultSubmission

if TYPE_CHECKING:
    from services.publisher.domain.validation import TaskView

# A result is confirmed by at least two of its team (执法人员不得少于两人).
MIN_CONFIRMATIONS = 2


def reason(loc: list[str | int], msg: str, kind: str, msg_zh: str) -> dict[str, Any]:
    """One reason in the shape of the HTTP error details, with its Chinese text."""
    return {"loc": loc, "msg": msg, "type": kind, "msg_zh": msg_zh}


def check_confirmations(sub: ResultSubmission, task: TaskView) -> list[dict[str, Any]]:
    """Every assigned inspector confirms once, nobody else does, and at least two do."""
    reasons: list[dict[str, Any]] = []
    team = set(task.team)
    found, seen = check_members(
        [conf.inspector_id for conf in sub.confirmations],
        team,
        loc="confirmations",
        attr="inspector_id",
        foreign=(
            lambda v: f"inspector {v} is not on the task's team",
            "inspector_not_on_team",
            "确认人不是该任务的检查人员",
        ),
        twice=(
            lambda v: f"inspector {v} confirmed twice",
            "confirmation_duplicate",
            "同一检查人员重复确认",
        ),
        missing=(
            lambda v: f"assigned inspector {v} has not confirmed",
            "confirmation_missing",
            "缺少检查组成员的确认",
        ),
    )
    reasons += found
    if len(seen & team) < MIN_CONFIRMATIONS:
        reasons.append(
            reason(
                ["confirmations"],
                f"at least {MIN_CONFIRMATIONS} assigned inspectors must confirm, "
                f"got {len(seen & team)}",
                "confirmation_too_few",
                "至少两名检查人员确认",
            )
        )
    return reasons


def check_own_confirmations(sub: ResultSubmission, inspector_id: str) -> list[dict[str, Any]]:
    """An inspector submitting with their own sign-in may confirm only for themselves: each
    other member confirms the draft with theirs (a confirmation in someone else's name would
    let one token speak for the whole team)."""
    reasons: list[dict[str, Any]] = []
    for i, conf in enumerate(sub.confirmations):
        if conf.inspector_id != inspector_id:
            reasons.append(
                reason(
                    ["confirmations", i],
                    f"inspector {inspector_id} cannot confirm for {conf.inspector_id}: each "
                    "member confirms with their own sign-in",
                    "confirmation_not_own",
                    "只能以本人身份确认，其他组员须使用自己的账号确认",
                )
            )
        elif i > 0 and any(c.inspector_id == inspector_id for c in sub.confirmations[:i]):
            reasons.append(
                reason(
                    ["confirmations", i],
                    f"inspector {inspector_id} confirmed twice",
                    "confirmation_duplicate",
                    "同一检查人员重复确认",
                )
            )
    return reasons


def check_items(sub: ResultSubmission, task: TaskView) -> list[dict[str, Any]]:
    reasons, _ = check_members(
        [item.item_code for item in sub.items],
        set(task.item_codes),
        loc="items",
        attr="item_code",
        foreign=(
            lambda v: f"item {v} is not an item of task {task.task_id}",
            "item_not_in_task",
            "检查事项不属于该任务",
        ),
        twice=(lambda v: f"item {v} appears twice", "item_duplicate", "检查事项重复"),
        missing=(
            lambda v: f"item {v} of the task has no result",
            "item_missing",
            "任务的检查事项缺少结果",
        ),
    )
    return reasons


# (English message for a value, reason type, Chinese message)
_Reason = tuple[Callable[[str], str], str, str]


def check_members(
    values: list[str],
    expected: set[str],
    *,
    loc: str,
    attr: str,
    foreign: _Reason,
    twice: _Reason,
    missing: _Reason,
) -> tuple[list[dict[str, Any]], set[str]]:
    """Each value must be expected and given once, and every expected value given: the rule
    for a task's items and for its team's confirmations. Returns the reasons and what was seen.
    """
    reasons: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value not in expected:
            reasons.append(reason([loc, i, attr], foreign[0](value), foreign[1], foreign[2]))
        if value in seen:
            reasons.append(reason([loc, i, attr], twice[0](value), twice[1], twice[2]))
        seen.add(value)
    for value in sorted(expected - seen):
        reasons.append(reason([loc], missing[0](value), missing[1], missing[2]))
    return reasons, seen


def check_attachments(sub: ResultSubmission, limit: int) -> list[dict[str, Any]]:
    reasons: list[dict[str, Any]] = []
    for i, att in enumerate(sub.attachments):
        if att.size > limit:
            reasons.append(
                reason(
                    ["attachments", i, "size"],
                    f"attachment {att.name!r} is {att.size} bytes, over the limit of {limit}",
                    "attachment_too_large",
                    "附件超过大小限制",
                )
            )
            continue
        if att.content_base64 is None:
            continue
        try:
            content = base64.b64decode(att.content_base64, validate=True)
        except (binascii.Error, ValueError):
            reasons.append(
                reason(
                    ["attachments", i, "content_base64"],
                    "not valid base64",
                    "attachment_encoding",
                    "附件编码无效",
                )
            )
            continue
        if len(content) > limit:
            reasons.append(
                reason(
                    ["attachments", i, "size"],
                    f"attachment {att.name!r} is {len(content)} bytes, over the limit of {limit}",
                    "attachment_too_large",
                    "附件超过大小限制",
                )
            )
        elif len(content) != att.size or hashlib.sha256(content).hexdigest() != att.sha256:
            reasons.append(
                reason(
                    ["attachments", i, "sha256"],
                    f"attachment {att.name!r} does not match its size and SHA-256",
                    "attachment_mismatch",
                    "附件与其SHA-256不符",
                )
            )
    return reasons
