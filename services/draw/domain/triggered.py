"""Triggered inspections (触发检查): checks of one entity on a trigger, staffed like a draw's tasks.

The notice spares A-class entities proactive on-site checks "除投诉举报、大数据监测发现问题、
转办交办案件线索及法律法规另有规定外"; these exceptions (and a check a superior deployed) are
opened one entity at a time. What this module decides (no I/O):

1. an opening is acceptable (`check_opening`): a trigger (the contract's enum: no check without
   one), a non-blank evidence reference, items that are all in the active catalogue (清单之外无
   检查), a lead department that is one of theirs, an existing operating entity, a period, and
   an approver who is not the opener;
2. only the named approver approves, once (`check_approval`);
3. the team is drawn by the draw's own rules (`teams.assign_teams`, one task) with the seed
   `nonce`, whose SHA-256 was published when the task was opened (`nonce_commitment`); the
   inspectors who met every hard constraint are recorded, so anyone can re-derive the team
   from the seed and that list alone (`rederive_team`, docs/draw-spec.md §7b).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.draw import TaskAssigned, TaskItem, TeamMember
from contracts.planner import ItemsReply, PlanItem
from contracts.registry import ACTIVE_STATUSES, EntityRecord, InspectorRecord
from contracts.triggered import TriggeredOpen, TriggeredState
from services.draw.domain import teams
from services.draw.domain.eligibility import MIN_TEAM, Roster, TeamTask
from services.kit.errors import Conflict, Forbidden, Invalid, NotFound

__all__ = [
    "Checked",
    "Drawn",
    "check_approval",
    "check_opening",
    "draw_team",
    "nonce_commitment",
    "public_eligible",
    "rederive_team",
    "task_body",
]


def _field_error(field: str, msg: str, msg_zh: str, *, code: str) -> Invalid:
    return Invalid(
        msg,
        code=code,
        details=[{"loc": ["body", field], "msg": msg, "msg_zh": msg_zh, "type": code}],
    )


@dataclass(frozen=True, slots=True)
class Checked:
    """An acceptable opening: the catalogue's items, the departments and methods they make."""

    items: tuple[PlanItem, ...]
    departments: tuple[str, ...]
    lead_department: str
    methods: tuple[str, ...]
    evidence_ref: str


def check_opening(
    req: TriggeredOpen,
    *,
    opened_by: str,
    entity: EntityRecord | None,
    catalogue: ItemsReply,
) -> Checked:
    """Refuse an opening that breaks a rule (each error names its field); else its items."""
    evidence = req.evidence_ref.strip()
    if not evidence:
        raise _field_error(
            "evidence_ref",
            "a triggered check needs the reference of its evidence",
            "触发检查须填写线索或依据的编号",
            code="evidence_required",
        )
    if req.approver.strip() == opened_by:
        raise _field_error(
            "approver",
            "the approving officer must be another draw officer than the one who opens",
            "审批人须为开启人以外的另一名抽查工作人员",
            code="second_officer_required",
        )
    if catalogue.unknown:
        codes = ", ".join(catalogue.unknown)
        msg = f"items not in the active item catalogue (rules {catalogue.rules_version[:12]}): "
        raise Invalid(
            msg + codes,
            code="item_not_in_catalogue",
            details=[
                {
                    "loc": ["body", "items", req.items.index(c)],
                    "msg": f"{c} is not an item of the active catalogue",
                    "msg_zh": f"事项 {c} 不在现行检查事项清单中（清单之外无检查）",
                    "type": "item_not_in_catalogue",
                }
                for c in catalogue.unknown
            ],
        )
    departments = tuple(dict.fromkeys(i.department for i in catalogue.items))
    if req.department not in departments:
        raise _field_error(
            "department",
            f"department {req.department} has none of these items ({', '.join(departments)})",
            f"牵头部门 {req.department} 不负责所选任何事项",
            code="department_mismatch",
        )
    if req.period_end < req.period_start:
        raise _field_error(
            "period_end",
            "the period ends before it starts",
            "检查期限的结束日期早于开始日期",
            code="invalid_period",
        )
    if entity is None:
        raise NotFound(
            f"no entity {req.uscc} in the registry",
            code="entity_not_found",
            details=[
                {
                    "loc": ["body", "uscc"],
                    "msg": f"no entity {req.uscc} in the registry",
                    "msg_zh": f"名录库中没有统一社会信用代码为 {req.uscc} 的市场主体",
                    "type": "entity_not_found",
                }
            ],
        )
    if entity.status not in ACTIVE_STATUSES:
        raise _field_error(
            "uscc",
            f"entity {req.uscc} is {entity.status}, not operating",
            f"该市场主体登记状态为“{entity.status}”，不在营业",
            code="entity_not_active",
        )
    methods = tuple(dict.fromkeys(m for i in catalogue.items for m in i.methods))
    return Checked(
        items=tuple(catalogue.items),
        departments=tuple(sorted(departments)),
        lead_department=req.department,
        methods=methods,
        evidence_ref=evidence,
    )


def check_approval(state: TriggeredState, *, approver: str, by: str) -> None:
    """Only the named approver approves, and only a task that awaits approval."""
    if by != approver:
        raise Forbidden(
            f"only the named approving officer ({approver}) approves this task",
            code="approver_required",
        )
    if state is not TriggeredState.AWAITING_APPROVAL:
        raise Conflict(f"the task is {state.value}, not awaiting approval", code="wrong_state")


def nonce_commitment(nonce: str) -> str:
    """What is published when the task opens: the hex SHA-256 of the nonce (its UTF-8)."""
    return hashlib.sha256(nonce.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Drawn:
    """The team (inspector ids in pick order), why not (if unstaffed), and who was eligible."""

    team: tuple[str, ...]
    unstaffed_reason: str | None
    eligible: tuple[tuple[str, str], ...]  # (inspector_id, department), by id


def draw_team(
    *,
    seed: str,
    task_id: str,
    uscc: str,
    region_code: str,
    items: Sequence[PlanItem],
    departments: Sequence[str],
    check_date: date,
    roster: Sequence[InspectorRecord],
    loads: Mapping[str, int],
    last: frozenset[str],
) -> Drawn:
    """Staff one task by the draw's team rules (services/draw/domain/teams.py): the entity's
    region only, the items' expertise, recusals, the last team, capacity; team of 2 or more."""
    need: dict[str, frozenset[str]] = {}
    for i in items:
        need[i.department] = need.get(i.department, frozenset()) | frozenset(i.expertise)
    task = TeamTask(
        task_id, uscc, (region_code,), tuple(departments), check_date, need, last, frozenset()
    )
    people = teams.from_roster(roster, loads)
    assignment = teams.assign_teams(seed, [task], people)
    index = Roster(people)
    blocked = set(index.recused.get(uscc, ())) | {index.pos[i] for i in last if i in index.pos}
    eligible: set[int] = set()
    for dept in task.departments:
        g = index.group(task.regions, dept, check_date, need.get(dept, frozenset()))
        eligible |= g.alive - blocked
    listed = tuple(sorted((index.ids[n], index.people[n].department) for n in eligible))
    if assignment.unstaffed:
        u = assignment.unstaffed[0]
        return Drawn((), f"{u.constraint.value}: {u.detail}", listed)
    return Drawn(assignment.teams[task_id], None, listed)


def rederive_team(
    seed: str,
    task_id: str,
    departments: Sequence[str],
    eligible: Sequence[tuple[str, str]],
    *,
    size: int = MIN_TEAM,
) -> tuple[str, ...]:
    """The team anyone re-derives from the published seed and eligible inspectors.

    Written from docs/draw-spec.md §7 without teams.py (the tests compare the two): with one
    task every count in the run is 0, so each pick is the smallest ticket; first one inspector
    per department (departments sorted), then the smallest tickets of the rest.
    """
    depts = sorted(set(departments))
    size = max(size, len(depts))

    def ticket(iid: str) -> str:
        return teams.team_ticket(seed, task_id, iid)

    team: list[str] = []
    for d in depts:
        ofdept = sorted((i for i, dep in eligible if dep == d), key=ticket)
        if not ofdept:
            return ()
        team.append(ofdept[0])
    rest = sorted((i for i, _ in eligible if i not in team), key=ticket)
    team += rest[: size - len(team)]
    return tuple(team) if len(team) == size else ()


def task_body(
    *,
    task_id: str,
    entity: EntityRecord,
    trigger: str,
    items: Sequence[PlanItem],
    departments: Sequence[str],
    lead_department: str,
    methods: Sequence[str],
    period_start: date,
    period_end: date,
    team: Sequence[str],
    roster: Mapping[str, InspectorRecord],
    unstaffed_reason: str | None,
) -> dict[str, Any]:
    """The task's `TaskAssigned` body: no draw and no plan (empty ids), kind `triggered`."""
    body = TaskAssigned(
        task_id=task_id,
        draw_id="",
        plan_id="",
        uscc=entity.uscc,
        entity_name=entity.name,
        region_code=entity.region_code,
        departments=list(departments),
        lead_department=lead_department,
        items=[
            TaskItem(code=i.code, name=i.name, department=i.department, legal_basis=i.legal_basis)
            for i in items
        ],
        methods=list(methods),
        batch=1,
        period_start=period_start,
        period_end=period_end,
        team=[
            TeamMember(inspector_id=i, name=roster[i].name, department=roster[i].department)
            for i in team
        ],
        unstaffed_reason=unstaffed_reason,
        joint=len(departments) > 1,
        industry_code=entity.industry_code,
        risk_class=entity.risk_class,
        kind="triggered",
        trigger=trigger,
    )
    return body.model_dump(mode="json")


def public_eligible(eligible: Sequence[Any]) -> list[dict[str, str]]:
    """The eligible list as stored and published."""
    return [{"inspector_id": i, "department": d} for i, d in eligible]
