"""Checking a result submission against the publisher's own copy of its task.

Pure: the caller loads the task, the latest version and the category table, and this module
says yes (with the normalised result) or no with every reason at once, so an inspector can fix
a submission in one go. Nothing is stored unless everything passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from contracts.publisher import ResultSubmission
from contracts.rules import Method
from services.kit.errors import Conflict, Invalid
from services.publisher.domain import methods as check_methods
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.commissions import CommissionFacts, check_against_reports
from services.publisher.domain.method_record import check_method_record
from services.publisher.domain.on_site import (
    check_answers,
    check_follow_up,
    check_representative,
)
from services.publisher.domain.result_parts import (
    check_attachments,
    check_confirmations,
    check_items,
    check_own_confirmations,
    reason,
)

DEFAULT_MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
CANCEL_REASONS_ZH = {
    "deregistered": "主体已注销",
    "revoked": "主体被吊销或撤销",
    "closed": "已关闭停业或正在组织清算",
    "moved_out": "已迁出本辖区",
    "other": "其他原因",
}


@dataclass(frozen=True, slots=True)
class TaskView:
    """What the publisher keeps of a task (from `task.assigned`): enough to check results."""

    task_id: str
    draw_id: str
    plan_id: str
    uscc: str
    entity_name: str
    region_code: str
    departments: tuple[str, ...]
    lead_department: str
    item_codes: tuple[str, ...]
    team: tuple[str, ...]  # inspector ids
    period_start: date
    period_end: date
    # Set when a later visit absorbed this task (进一次门、查多项事): results go there.
    merged_into: str | None = None
    # The check methods the task allows (codes of contracts.rules.Method); empty for tasks
    # received before methods were kept, which no method can be checked against.
    methods: tuple[str, ...] = ()
    # When and by whom the visit was marked begun (POST /tasks/{id}/start).
    started_at: datetime | None = None
    started_by: str | None = None
    # Set when a redraw superseded the task's draw: the redraw's tasks replace it.
    draw_superseded_by: str | None = None
    # Set when the task was called off (取消任务, `CancelReason`): no visit, no result.
    cancel_reason: str | None = None
    # Items handed to outside bodies (委托检验检测): their results wait for the reports.
    commissions: tuple[CommissionFacts, ...] = ()
    # Item code -> name, and -> legal basis as the task's plan carries it from the item
    # catalogue ("" when the plan predates it): named in the events of a finding.
    item_names: dict[str, str] = field(default_factory=dict)
    legal_bases: dict[str, str] = field(default_factory=dict)
    # Drawn (`random`) or opened on a trigger (`triggered`, `trigger` naming why): the check
    # type the outside platforms are told (domain/platforms.py).
    kind: str = "random"
    trigger: str | None = None


@dataclass(frozen=True, slots=True)
class CheckedResult:
    """A submission that passed every check, with its category codes resolved. Its due date
    is not here: it is counted once, on the stored holiday calendar, when the result is written
    (`Calendars.stamp`)."""

    task: TaskView
    version: int
    supersedes: int | None
    method: str  # the method's code, whatever name was submitted
    category_codes: tuple[str, ...]  # per item, in submission order
    violation: bool
    referral: bool
    credit_feedback: bool
    licensing_feedback: bool


def check_submission(
    sub: ResultSubmission,
    *,
    task: TaskView | None,
    categories: CategoryTable,
    submitted_by: str | None,
    latest_version: int | None,
    today: date,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    submitter_dept: str | None = None,
    draft: bool = False,
) -> CheckedResult:
    """Check a submission; raise `Invalid` (or `Conflict` for version clashes) with all reasons.

    `submitted_by` is the inspector submitting (must be on the team); department staff who
    enter results for their inspectors (谁检查、谁录入) give `submitter_dept` instead, which
    must be one of the task's departments.

    `draft`: an inspector's own submission (掌上查) before the other members confirmed it. Its
    confirmations may only be the submitter's own (`confirmation_not_own` otherwise); the team's
    are checked when the last member confirms and the whole is checked again without `draft`.
    """
    reasons: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []

    reasons += _who_may_act(
        sub.task_id,
        task,
        inspector=submitted_by,
        dept=submitter_dept,
        loc="submitted_by",
        then=("submit the result for that task", "请对该任务录入结果"),
        recorded=latest_version is not None,
    )
    if draft and submitted_by is not None:
        reasons += check_own_confirmations(sub, submitted_by)
    if task is not None and task.merged_into is None:
        if not draft:
            reasons += check_confirmations(sub, task)
        reasons += check_items(sub, task)
        reasons += check_against_reports(sub, task.commissions, categories)
        if not task.period_start <= sub.check_date <= task.period_end:
            reasons.append(
                reason(
                    ["check_date"],
                    f"check date {sub.check_date} is outside the task's period "
                    f"{task.period_start}..{task.period_end}",
                    "check_date_outside_period",
                    "检查日期不在任务期限内",
                )
            )
    method = check_methods.resolve(sub.method)
    method_reasons = _check_method(sub, method, task)
    # What a method requires is asked only of a method the task allows: a wrong method is
    # mended first, and its own reason says how.
    reports = task is not None and any(c.conclusion is not None for c in task.commissions)
    reasons += method_reasons or check_method_record(sub, method, reports_on_file=reports)
    if sub.check_date > today:
        reasons.append(
            reason(
                ["check_date"],
                f"check date {sub.check_date} is in the future",
                "check_date_future",
                "检查日期晚于今天",
            )
        )

    codes: list[str] = []
    for i, item in enumerate(sub.items):
        cat = categories.resolve(item.category)
        if cat is None:
            reasons.append(
                reason(
                    ["items", i, "category"],
                    f"unknown result category {item.category!r}",
                    "category_unknown",
                    "检查结果类别不在国家公示系统标准清单内",
                )
            )
        else:
            codes.append(cat.code)

    known = len(codes) == len(sub.items)
    violation = categories.any_violation(codes)
    reasons += check_answers(sub)
    reasons += check_follow_up(sub, violation=violation if known else None)
    reasons += check_representative(sub)
    reasons += check_attachments(sub, max_attachment_bytes)

    if sub.corrects_version is None:
        if latest_version is not None:
            conflicts.append(
                reason(
                    ["corrects_version"],
                    f"task {sub.task_id} already has result version {latest_version}; "
                    "submit a correction naming that version",
                    "result_exists",
                    "该任务已有检查结果，更正须提交新版本",
                )
            )
    else:
        if not (sub.correction_reason or "").strip():
            reasons.append(
                reason(
                    ["correction_reason"],
                    "a correction needs a reason",
                    "correction_reason_missing",
                    "更正须说明理由",
                )
            )
        if latest_version is None:
            reasons.append(
                reason(
                    ["corrects_version"],
                    "there is no result to correct",
                    "nothing_to_correct",
                    "没有可更正的检查结果",
                )
            )
        elif sub.corrects_version != latest_version:
            conflicts.append(
                reason(
                    ["corrects_version"],
                    f"version {sub.corrects_version} is not the latest ({latest_version})",
                    "stale_version",
                    "更正的不是最新版本",
                )
            )

    if reasons:
        raise Invalid(
            f"result for task {sub.task_id} refused: {len(reasons + conflicts)} reason(s)",
            code="result_refused",
            details=reasons + conflicts,
        )
    if conflicts:
        raise Conflict(conflicts[0]["msg"], code="result_version_conflict", details=conflicts)
    assert task is not None and method is not None  # reasons above
    return CheckedResult(
        task=task,
        version=(latest_version or 0) + 1,
        supersedes=latest_version,
        method=method.value,
        category_codes=tuple(codes),
        violation=violation,
        # The inspectors may refer a violation whose category alone is not referred (e.g. E
        # 发现问题已责令改正): 移送 when they ask for it.
        referral=categories.needs_referral(codes)
        or (sub.follow_up is not None and sub.follow_up.referred),
        credit_feedback=categories.needs_credit_feedback(codes),
        licensing_feedback=categories.needs_licensing_feedback(codes)
        or any(item.rooted_at_approval for item in sub.items),
    )


def _check_method(
    sub: ResultSubmission, method: Method | None, task: TaskView | None
) -> list[dict[str, Any]]:
    """The method must be a known one and one the task allows (the rules' `forbid_method`,
    e.g. 无事不扰: no proactive on-site visit to a class-A entity, shaped the task's list)."""
    if method is None:
        return [
            reason(
                ["method"],
                f"unknown check method {sub.method!r}: give one of "
                f"{', '.join(m.value for m in Method)} "
                "(or 实地核查、书面检查、网络监测、委托检验检测)",
                "method_unknown",
                "检查方式不在标准清单内（实地核查、书面检查、网络监测、委托检验检测）",
            )
        ]
    if task is None or task.merged_into is not None or not task.methods:
        return []
    if method.value in task.methods:
        return []
    allowed, allowed_zh = check_methods.describe(task.methods)
    why, why_zh = "", ""
    if method is Method.ON_SITE:
        why = "; the rules allow no proactive on-site visit to this entity (e.g. class A)"
        why_zh = "；按规则不主动实施现场检查（如A类主体“无事不扰”）"
    return [
        reason(
            ["method"],
            f"method {method.value} is not allowed for task {task.task_id} "
            f"(allowed: {allowed}){why}",
            "method_not_allowed",
            f"该任务不允许采用{check_methods.NAMES_ZH[method]}方式（允许：{allowed_zh}）{why_zh}",
        )
    ]


def check_start(
    task_id: str,
    task: TaskView | None,
    *,
    started_by: str | None,
    starter_dept: str | None = None,
) -> TaskView:
    """May this person mark the task's visit begun? The same people as may record its result:
    an inspector of its team, or staff of one of its departments; never a merged task.
    Raises `Invalid` with every reason, in the result's error shape."""
    reasons = _who_may_act(
        task_id,
        task,
        inspector=started_by,
        dept=starter_dept,
        loc="started_by",
        then=("start that task", "请开始该任务"),
    )
    if reasons:
        raise Invalid(
            f"task {task_id} cannot be started: {len(reasons)} reason(s)",
            code="start_refused",
            details=reasons,
        )
    assert task is not None
    return task


def check_actor(
    task_id: str,
    task: TaskView | None,
    *,
    inspector: str | None,
    dept: str | None,
    then: tuple[str, str],
) -> list[dict[str, Any]]:
    """Who may act on a task besides recording its result (commission an item, …): the same
    people as may record it; `then` says, in English and Chinese, what to do on the task that
    absorbed it when it was merged."""
    return _who_may_act(task_id, task, inspector=inspector, dept=dept, loc="by", then=then)


def _who_may_act(
    task_id: str,
    task: TaskView | None,
    *,
    inspector: str | None,
    dept: str | None,
    loc: str,
    then: tuple[str, str],
    recorded: bool = False,
) -> list[dict[str, Any]]:
    """Who may act on a task (record its result, start its visit): the task exists and was not
    merged into another (`then` says what to do there instead), its draw was not superseded by
    a redraw (unless a result is already `recorded`: that may be corrected), it has a team, and
    the actor is one of its inspectors (`inspector`) or staff of one of its departments
    (`dept`)."""
    if task is None:
        return [
            reason(["task_id"], f"task {task_id} does not exist", "task_unknown", "抽查任务不存在")
        ]
    if task.merged_into is not None:
        return [
            reason(
                ["task_id"],
                f"task {task.task_id} was merged into task {task.merged_into}; {then[0]}",
                "task_merged",
                f"该任务已并入任务 {task.merged_into}（进一次门、查多项事），{then[1]}",
            )
        ]
    if task.cancel_reason is not None:
        return [
            reason(
                ["task_id"],
                f"task {task.task_id} was cancelled ({task.cancel_reason})",
                "task_cancelled",
                f"该任务已取消（{CANCEL_REASONS_ZH.get(task.cancel_reason, task.cancel_reason)}）",
            )
        ]
    if task.draw_superseded_by is not None and not recorded:
        # A result already recorded may still be corrected; nothing new starts on it.
        return [
            reason(
                ["task_id"],
                f"the draw of task {task.task_id} was superseded by redraw"
                f" {task.draw_superseded_by}: its tasks replace this one",
                "draw_superseded",
                f"该任务所在的抽取已被重新抽取（{task.draw_superseded_by}）取代，请按新抽取的任务检查",
            )
        ]
    reasons: list[dict[str, Any]] = []
    if not task.team:
        reasons.append(
            reason(
                ["task_id"],
                f"task {task.task_id} has no team",
                "task_unstaffed",
                "任务未分派检查人员",
            )
        )
    if inspector is not None and inspector not in task.team:
        reasons.append(
            reason(
                [loc],
                f"inspector {inspector} is not on the task's team",
                "inspector_not_on_team",
                "提交人不是该任务的检查人员",
            )
        )
    if dept is not None and dept not in task.departments:
        reasons.append(
            reason(
                ["task_id"],
                f"department {dept} is not on task {task.task_id}",
                "department_not_on_task",
                "录入部门不是该任务的检查部门",
            )
        )
    return reasons
