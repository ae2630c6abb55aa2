"""What a task's result led to, in the words 掌上查 shows (pure): 已移送 / 已受理（案号） /
办结（结果） for each referral, and the order to correct with its re-check (责令整改、复查).

The publisher's `GET /tasks/{task_id}` carries the facts (`follow_up`); this only words them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.web.domain.writing import day

RECEIVERS = {"case_handling": "案件办理机构", "judicial": "司法机关"}


@dataclass(frozen=True, slots=True)
class FollowUpLine:
    """One line of the task's 后续处置: what it is, where it stands, and in what tone."""

    label: str
    text: str
    tone: str = ""  # "good", "overdue" or "" (the chips' classes)


def referral_line(ref: dict[str, Any]) -> FollowUpLine:
    """A referral as the task shows it: 办结（结果） › 已受理（案号） › 已移送."""
    to = RECEIVERS.get(str(ref.get("to")), RECEIVERS["case_handling"])
    label = f"移送{to}（第{ref.get('version', 1)}版结果）"
    if ref.get("status") == "concluded":
        text = f"办结（{ref.get('outcome', '')}"
        if ref.get("penalty"):
            text += f"；处罚：{ref['penalty']}"
        text += f"，{day(ref.get('decided_at'))}）"
        if ref.get("case_number"):
            text += f"，案号{ref['case_number']}"
        return FollowUpLine(label, text, "good")
    if ref.get("status") == "acknowledged":
        text = f"已受理（案号{ref.get('case_number', '')}）"
        if ref.get("receiver"):
            text += f"，受理单位：{ref['receiver']}，{day(ref.get('received_at'))}"
        return FollowUpLine(label, text)
    return FollowUpLine(label, f"已移送{to}，待受理")


def rectification_line(state: dict[str, Any]) -> FollowUpLine | None:
    """The order to correct and its re-check, when the latest result gave one."""
    if not state.get("rectify_by"):
        return None
    label = f"责令整改（期限{day(state['rectify_by'])}）"
    check = state.get("rectification_check")
    if check:
        verdict = "已整改到位" if check.get("rectified") else "未整改到位"
        text = f"复查：{verdict}（{day(check.get('checked_on'))}）"
        if check.get("note"):
            text += f"，{check['note']}"
        return FollowUpLine(label, text, "good" if check.get("rectified") else "overdue")
    if state.get("rectification_overdue"):
        return FollowUpLine(label, "整改期限已过，尚未复查", "overdue")
    return FollowUpLine(label, f"整改中：{state.get('rectification', '')}")


def follow_up_lines(state: dict[str, Any] | None) -> list[FollowUpLine]:
    """Every line of the task's 后续处置 (none: nothing followed the result)."""
    if not state:
        return []
    lines = [referral_line(r) for r in state.get("referrals") or []]
    order = rectification_line(state)
    return lines if order is None else [order, *lines]
