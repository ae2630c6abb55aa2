"""Joint plans (联合抽查, 能联尽联): a draft the lead department starts and the invited ones join.

Pure functions: which departments a draft has, which of a department's items are refused (with
the same reasons `POST /plans` gives, in Chinese too), and the `PlanSubmission` a complete draft
becomes — which then goes through the ordinary submission.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.planner import (
    JointPlanDraft,
    JointPlanItem,
    JointPlanJoined,
    JointPlanMember,
    JointPlanStart,
    JointPlanStarted,
    PlanItemEntry,
    PlanSubmission,
)
from services.planner.domain.plan import PlanInvalid, Reason, validate_plan
from services.planner.domain.ruleset import RuleSet

HEADER_FIELDS = ("title", "scope", "period", "batches", "filed_on", "entered_on")


def draft_departments(lead: str, invited: list[str]) -> list[str]:
    """The lead first, then the others in the order given (the lead is added when left out)."""
    return [lead, *[d for d in invited if d != lead]]


def entry_json(entry: PlanItemEntry) -> dict[str, Any]:
    """An item entry as stored: the ratio in basis points as a string ("300bp"), so that it
    reads back exactly (a bare integer is not a ratio)."""
    out = entry.model_dump(mode="json", exclude_none=True)
    if entry.ratio is not None:
        out["ratio"] = f"{entry.ratio}bp"
    return out


def header_of(start: JointPlanStart) -> dict[str, Any]:
    """What every department of the draft shares, as stored."""
    dumped = start.model_dump(mode="json")
    return {k: dumped[k] for k in HEADER_FIELDS}


def assemble(
    *,
    plan_id: str,
    year: int,
    lead: str,
    departments: list[str],
    header: dict[str, Any],
    items: dict[str, list[dict[str, Any]]],
) -> PlanSubmission:
    """The plan the draft stands for: the shared part and every joined department's items,
    in the draft's department order."""
    entries = [e for d in departments for e in items.get(d, [])]
    return PlanSubmission.model_validate(
        {
            **header,
            "plan_id": plan_id,
            "year": year,
            "departments": departments,
            "lead_department": lead,
            "items": entries,
        }
    )


def check_start(start: JointPlanStart, lead: str, ruleset: RuleSet) -> list[str]:
    """Refuse a draft that could never be submitted (`PlanInvalid`, every reason); returns
    its departments."""
    departments = draft_departments(lead, start.departments)
    reasons: list[Reason] = []
    if len(departments) < 2:
        reasons.append(
            Reason(
                "departments",
                "a joint plan invites at least one other department",
                "联合抽查须邀请至少一个其他部门",
            )
        )
    if len(set(start.departments)) != len(start.departments):
        reasons.append(Reason("departments", "a department is listed twice", "部门重复"))
    plan = assemble(
        plan_id=start.plan_id,
        year=start.year,
        lead=lead,
        departments=departments,
        header=header_of(start),
        items={lead: [entry_json(e) for e in start.items]},
    )
    reasons += [r for r in validate_plan(plan, ruleset) if r.loc != "departments"]
    reasons += _own_items(start.items, lead, ruleset)
    if reasons:
        raise PlanInvalid(reasons)
    return departments


def check_join(
    items: list[PlanItemEntry],
    *,
    department: str,
    plan: PlanSubmission,
    ruleset: RuleSet,
) -> None:
    """Refuse a department's items as `POST /plans` would refuse them in this plan, and any
    item of another department (`PlanInvalid`, every reason, locations `items[i]…`).

    `plan` is the draft with these items only."""
    reasons = [r for r in validate_plan(plan, ruleset) if r.loc.startswith("items")]
    reasons += _own_items(items, department, ruleset)
    if reasons:
        raise PlanInvalid(reasons)


def _own_items(items: list[PlanItemEntry], department: str, ruleset: RuleSet) -> list[Reason]:
    out = []
    for i, entry in enumerate(items):
        item = ruleset.items.get(entry.item)
        if item is not None and item.department != department:
            out.append(
                Reason(
                    f"items[{i}].item",
                    f"item {entry.item} belongs to {item.department}, not to {department}",
                    f"事项{entry.item}属于{item.department}，不是本部门（{department}）的事项",
                )
            )
    return out


def draft_view(
    *,
    plan_id: str,
    year: int,
    lead: str,
    departments: list[str],
    header: dict[str, Any],
    state: str,
    plan_status: str | None,
    joined: dict[str, tuple[list[dict[str, Any]], str, Any]],
    started_by: str,
    created_at: Any,
    submitted_by: str | None,
    submitted_at: Any,
) -> JointPlanDraft:
    """A draft as the API shows it: every department, joined (已加入) or not (待加入)."""
    members = []
    for d in departments:
        got = joined.get(d)
        members.append(
            JointPlanMember(
                department=d,
                lead=d == lead,
                joined=got is not None,
                items=[_shown(PlanItemEntry.model_validate(e)) for e in got[0]] if got else [],
                joined_by=got[1] if got else None,
                joined_at=got[2] if got else None,
            )
        )
    return JointPlanDraft.model_validate(
        {
            **header,
            "plan_id": plan_id,
            "year": year,
            "lead_department": lead,
            "departments": departments,
            "state": state,
            "plan_status": plan_status,
            "members": members,
            "waiting": [m.department for m in members if not m.joined],
            "started_by": started_by,
            "created_at": created_at,
            "submitted_by": submitted_by,
            "submitted_at": submitted_at,
        }
    )


def started_event(
    start: JointPlanStart, *, lead: str, departments: list[str], by: str, at: datetime
) -> JointPlanStarted:
    """`planner.joint.started`: the draft as started, the lead's items as the draft shows them."""
    return JointPlanStarted(
        plan_id=start.plan_id,
        title=start.title,
        year=start.year,
        lead_department=lead,
        departments=departments,
        invited=[d for d in departments if d != lead],
        scope=start.scope,
        period=start.period,
        items=[_shown(e) for e in start.items],
        started_by=by,
        started_at=at,
    )


def joined_event(
    plan_id: str,
    *,
    department: str,
    items: list[PlanItemEntry],
    departments: list[str],
    joined_before: list[str],
    by: str,
    at: datetime,
) -> JointPlanJoined:
    """`planner.joint.joined`: `department` joined with `items`; `joined_before` are the
    departments that had joined before this (the lead's among them)."""
    joined = {*joined_before, department}
    return JointPlanJoined(
        plan_id=plan_id,
        department=department,
        items=[_shown(e) for e in items],
        rejoined=department in joined_before,
        waiting=[d for d in departments if d not in joined],
        joined_by=by,
        joined_at=at,
    )


def _shown(entry: PlanItemEntry) -> JointPlanItem:
    return JointPlanItem(
        item=entry.item,
        ratio_bp=entry.ratio,
        count=entry.count,
        scope=entry.scope,
        period=entry.period,
    )
