"""What an inspector records on site beyond the categories (掌上查), checked one part at a time:
the checklist answers of each item, the follow-up (责令整改, 移送), the representative's
confirmation.

Pure, like `result_parts.py`: each function returns every reason it finds, in the one reason
shape (`reason(...)`: loc, msg, type, msg_zh), so the phone can show each next to its field.
"""

from __future__ import annotations

from typing import Any

from contracts.publisher import ResultSubmission
from services.publisher.domain.result_parts import reason


def check_answers(sub: ResultSubmission) -> list[dict[str, Any]]:
    """Each question of an item's checklist is answered once."""
    reasons: list[dict[str, Any]] = []
    for i, item in enumerate(sub.items):
        seen: set[str] = set()
        for j, answer in enumerate(item.answers):
            if answer.question_id in seen:
                reasons.append(
                    reason(
                        ["items", i, "answers", j, "question_id"],
                        f"question {answer.question_id} of item {item.item_code} is answered twice",
                        "answer_duplicate",
                        "同一检查项重复作答",
                    )
                )
            seen.add(answer.question_id)
    return reasons


def check_follow_up(sub: ResultSubmission, *, violation: bool | None) -> list[dict[str, Any]]:
    """An order to correct has a deadline after the check and says what to correct; a referral
    (移送) needs a violation among the items' categories.

    `violation` is None when some category is unknown (that is refused on its own): the
    referral is then not judged.
    """
    f = sub.follow_up
    if f is None:
        return []
    reasons: list[dict[str, Any]] = []
    if f.rectify_by is not None and f.rectify_by <= sub.check_date:
        reasons.append(
            reason(
                ["follow_up", "rectify_by"],
                f"the deadline to correct ({f.rectify_by}) must be after the check date "
                f"({sub.check_date})",
                "rectify_by_not_after_check",
                "责令整改期限须晚于检查日期",
            )
        )
    if f.rectify_by is not None and not f.rectification.strip():
        reasons.append(
            reason(
                ["follow_up", "rectification"],
                "an order to correct must say what is to be corrected",
                "rectification_missing",
                "责令整改须写明整改内容",
            )
        )
    if f.referred and violation is False:
        reasons.append(
            reason(
                ["follow_up", "refer" if f.refer_to is None else "refer_to"],
                "only a result with a violation may be referred to case handling: no item's "
                "category is a violation",
                "refer_without_violation",
                "未发现违法违规问题，不能移送案件办理",
            )
        )
    return reasons


def check_representative(sub: ResultSubmission) -> list[dict[str, Any]]:
    """The representative's signature, when given, is one of this submission's attachments."""
    rep = sub.representative
    if rep is None:
        return []
    reasons: list[dict[str, Any]] = []
    if not rep.name.strip():
        reasons.append(
            reason(
                ["representative", "name"],
                "the representative's name is empty",
                "representative_name_missing",
                "须填写被检查对象确认人姓名",
            )
        )
    if rep.signature_sha256 is not None and rep.signature_sha256 not in {
        a.sha256 for a in sub.attachments
    }:
        reasons.append(
            reason(
                ["representative", "signature_sha256"],
                "the signature must be one of this result's attachments",
                "signature_not_attached",
                "签名须作为本次结果的附件上传",
            )
        )
    return reasons
