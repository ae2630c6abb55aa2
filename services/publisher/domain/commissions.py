"""Commissioned items (委托检验检测、财务审计): who may hand an item to an outside body, what its
report must be, and how the item's result must agree with the report.

Pure, in the one reason shape (`reason(...)`): each function returns every reason it finds.
The rule that ties a result to a report: an item whose commission has not reported yet takes
no result (it waits), and once reported its category must be one the conclusion allows — a
conforming report allows only 未发现问题, a nonconforming one only the categories of a finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.publisher import (
    AttachmentKind,
    CommissionConclusion,
    CommissionOpening,
    CommissionReporting,
    ResultSubmission,
)
from contracts.rules import Method
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.result_parts import reason

NO_PROBLEM = "1"
# A finding of a report is about the goods or the books: not "cannot be reached at the
# registered address" (6) nor "refused to cooperate" (8), which describe the visit.
_NOT_A_REPORTS_FINDING = frozenset({"6", "8"})
CONCLUSIONS_ZH = {
    CommissionConclusion.CONFORMING: "合格（未发现问题）",
    CommissionConclusion.NONCONFORMING: "不合格（发现问题）",
}


@dataclass(frozen=True, slots=True)
class CommissionFacts:
    """What a result's check needs of one commission of its task."""

    commission_id: str
    item_code: str
    body_name: str
    conclusion: CommissionConclusion | None
    allowed_categories: tuple[str, ...]


def allowed_categories(conclusion: CommissionConclusion, categories: CategoryTable) -> list[str]:
    """The result categories a report's conclusion allows for its item."""
    if conclusion is CommissionConclusion.CONFORMING:
        return [NO_PROBLEM]
    return [
        c.code for c in categories.all() if c.violation and c.code not in _NOT_A_REPORTS_FINDING
    ]


def check_opening(
    opening: CommissionOpening,
    *,
    item_codes: Sequence[str],
    methods: Sequence[str],
    open_items: Sequence[str],
    today: date,
) -> list[dict[str, Any]]:
    """An item of the task, which the task allows to be commissioned, not already waiting for
    another report, commissioned no later than today."""
    reasons: list[dict[str, Any]] = []
    if opening.item_code not in item_codes:
        reasons.append(
            reason(
                ["item_code"],
                f"item {opening.item_code} is not an item of the task",
                "item_not_on_task",
                "该事项不是本任务的检查事项",
            )
        )
    elif opening.item_code in open_items:
        reasons.append(
            reason(
                ["item_code"],
                f"item {opening.item_code} already waits for a commissioned report",
                "commission_open",
                "该事项已委托，正在等待报告",
            )
        )
    if methods and Method.COMMISSIONED.value not in methods:
        reasons.append(
            reason(
                ["kind"],
                f"the task does not allow commissioned checks (allowed: {', '.join(methods)})",
                "method_not_allowed",
                "该任务不允许采用委托检验检测方式",
            )
        )
    if opening.commissioned_on > today:
        reasons.append(
            reason(
                ["commissioned_on"],
                f"commissioned on {opening.commissioned_on}, after today",
                "commissioned_on_future",
                "委托日期晚于今天",
            )
        )
    return reasons


def check_reporting(
    reporting: CommissionReporting, *, commissioned_on: date, reported: bool, today: date
) -> list[dict[str, Any]]:
    """A report once, dated between the commission and today, attached as a report."""
    reasons: list[dict[str, Any]] = []
    if reported:
        reasons.append(
            reason(
                ["report"],
                "the commission has its report already",
                "commission_reported",
                "该委托已返回报告",
            )
        )
    if not commissioned_on <= reporting.reported_on <= today:
        reasons.append(
            reason(
                ["reported_on"],
                f"report dated {reporting.reported_on}: not between the commission "
                f"({commissioned_on}) and today",
                "reported_on_outside",
                "报告日期须在委托日期之后、今天之前",
            )
        )
    if reporting.report.kind is not AttachmentKind.REPORT:
        reasons.append(
            reason(
                ["report", "kind"],
                "the report's attachment must be of kind 'report'",
                "report_kind",
                "报告附件类型须为报告",
            )
        )
    return reasons


def check_against_reports(
    sub: ResultSubmission,
    commissions: Sequence[CommissionFacts],
    categories: CategoryTable,
) -> list[dict[str, Any]]:
    """Each commissioned item of the result: its report has come, and its category is one the
    report's conclusion allows."""
    reasons: list[dict[str, Any]] = []
    for i, item in enumerate(sub.items):
        mine = [c for c in commissions if c.item_code == item.item_code]
        waiting = [c for c in mine if c.conclusion is None]
        if waiting:
            reasons.append(
                reason(
                    ["items", i, "category"],
                    f"item {item.item_code} waits for the report of {waiting[0].body_name} "
                    f"(commission {waiting[0].commission_id})",
                    "commission_pending",
                    f"该事项已委托{waiting[0].body_name}，须待报告返回后录入结果",
                )
            )
            continue
        if not mine:
            continue
        last = mine[-1]
        cat = categories.resolve(item.category)
        if cat is not None and cat.code not in last.allowed_categories:
            assert last.conclusion is not None
            reasons.append(
                reason(
                    ["items", i, "category"],
                    f"item {item.item_code}: category {cat.code} contradicts the report's "
                    f"conclusion {last.conclusion.value}",
                    "commission_conclusion_mismatch",
                    f"检查结果与{last.body_name}报告结论“{CONCLUSIONS_ZH[last.conclusion]}”不符",
                )
            )
    return reasons
