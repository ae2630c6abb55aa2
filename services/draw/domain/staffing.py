"""From drafts to staffed task rows: team inputs, `assign_teams`, bodies and events (no I/O).

The caller pauses the cyclic collector around it (services/draw/gcpause.py).

A province draw has ~250k tasks, so this path builds no pydantic model per task: the
`TaskAssigned` bodies are plain JSON values with exactly the contract's fields (the unit tests
compare them with `TaskAssigned` itself), serialised once and used for both the stored row and
the event. Per-task inputs that repeat (expertise needed per item set, cross-region sets per
region, items and team members as JSON) are made once and shared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts import subjects
from contracts.draw import TaskItem
from contracts.planner import PlanApproved
from contracts.registry import EntityRecord, InspectorRecord
from services.draw.domain import teams
from services.draw.domain.tasks import TaskDraft
from services.kit.envelope import event_ids


@dataclass(frozen=True, slots=True)
class StoredTask:
    """A stored task body (the `TaskAssigned` JSON value) with the expertise its items need:
    what a task absorbed from an earlier draw brings along."""

    body: dict[str, Any]
    expertise: dict[str, list[str]]


@dataclass(slots=True)
class Staffed:
    """Rows for `store.insert_tasks`, team members, outbox events, and the unstaffed count."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    members: list[tuple[str, str]] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    unstaffed: int = 0


def item_tables(
    plan: PlanApproved, foreign: Mapping[str, StoredTask]
) -> tuple[dict[str, TaskItem], dict[str, set[str]]]:
    """Items by code (this plan's and absorbed tasks') and the expertise each needs."""
    items: dict[str, TaskItem] = {}
    expertise: dict[str, set[str]] = {}
    for f in foreign.values():
        for i in f.body["items"]:
            items[i["code"]] = TaskItem.model_validate(i)
        for code, tags in f.expertise.items():
            expertise.setdefault(code, set()).update(tags)
    for pi in plan.items:
        items[pi.code] = TaskItem(
            code=pi.code, name=pi.name, department=pi.department, legal_basis=pi.legal_basis
        )
        expertise.setdefault(pi.code, set()).update(pi.expertise)
    return items, expertise


def _json(value: Any) -> str:
    # The form of `Contract.model_dump_json()` and of store.dumps: compact, UTF-8 as is.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def staff(
    *,
    seed: str,
    draw_id: str,
    plan: PlanApproved,
    drafts: Sequence[TaskDraft],
    entities: Mapping[str, EntityRecord],
    roster: Sequence[InspectorRecord],
    loads: Mapping[str, int],
    last: Mapping[str, frozenset[str]],
    foreign: Mapping[str, StoredTask],
) -> Staffed:
    """Staff the drafts (DESIGN §6, docs/draw-spec.md §7) and make their rows and events."""
    items, expertise = item_tables(plan, foreign)
    served = {r for p in roster for r in p.region_codes}
    frozen_expertise = {code: frozenset(tags) for code, tags in expertise.items()}
    needs_of: dict[tuple[str, ...], dict[str, frozenset[str]]] = {}
    regions_of: dict[str, tuple[str, ...]] = {}
    no_one: frozenset[str] = frozenset()
    team_tasks: list[teams.TeamTask] = []
    region_of: list[str] = []
    for t in drafts:
        # The registry's region is authoritative; the USCC's own region digits are the
        # fallback for an entity the registry no longer returns.
        e = entities.get(t.uscc)
        region = e.region_code if e is not None else t.uscc[2:8]
        region_of.append(region)
        need = needs_of.get(t.item_codes)
        if need is None:
            need = {}
            for code in t.item_codes:
                dep = items[code].department if code in items else None
                if dep is not None:
                    need[dep] = need.get(dep, no_one) | frozen_expertise.get(code, no_one)
            needs_of[t.item_codes] = need
        regions = regions_of.get(region)
        if regions is None:
            regions = teams.cross_region_codes(region, served) if plan.cross_region else (region,)
            regions_of[region] = regions
        team_tasks.append(
            teams.TeamTask(
                t.task_id,
                t.uscc,
                regions,
                t.departments,
                t.period_end,
                need,
                last.get(t.uscc, no_one),
            )
        )
    people = teams.from_roster(roster, loads)
    assignment = teams.assign_teams(seed, team_tasks, people)
    reasons = {u.task_id: f"{u.constraint.value}: {u.detail}" for u in assignment.unstaffed}
    info = {p.inspector_id: p for p in roster}
    member_json: dict[str, dict[str, str]] = {}
    item_json = {code: i.model_dump(mode="json") for code, i in items.items()}
    expertise_json = {code: sorted(tags) for code, tags in expertise.items()}
    assigned = subjects.event("draw", "task.assigned")
    out = Staffed(unstaffed=len(reasons))
    ids = event_ids("task.assigned", [t.task_id for t in drafts])
    for seq, t in enumerate(drafts):
        team = assignment.teams.get(t.task_id, ())
        for i in team:
            if i not in member_json:
                p = info[i]
                member_json[i] = {"inspector_id": i, "name": p.name, "department": p.department}
        e = entities.get(t.uscc)
        reason = reasons.get(t.task_id)
        # Exactly the fields of contracts.draw.TaskAssigned, in its order.
        body = {
            "task_id": t.task_id,
            "draw_id": draw_id,
            "plan_id": plan.plan_id,
            "uscc": t.uscc,
            "entity_name": e.name if e is not None else "",
            "region_code": region_of[seq],
            "departments": list(t.departments),
            "lead_department": plan.lead_department
            if plan.lead_department in t.departments
            else t.departments[0],
            "items": [item_json[c] for c in t.item_codes if c in item_json],
            "methods": list(t.methods),
            "batch": t.batch,
            "period_start": t.period_start.isoformat(),
            "period_end": t.period_end.isoformat(),
            "team": [member_json[i] for i in team],
            "unstaffed_reason": reason,
            "joint": t.joint,
            "merged_from": list(t.merged_from),
            "industry_code": e.industry_code if e is not None else None,
            "risk_class": e.risk_class if e is not None else None,
            "kind": "random",
            "trigger": None,
        }
        text = _json(body)
        out.rows.append(
            (
                t.task_id,
                draw_id,
                seq,
                plan.plan_id,
                t.uscc,
                "assigned" if team else "unstaffed",
                t.period_start,
                t.period_end,
                text,
                {c: expertise_json.get(c, []) for c in t.item_codes},
                reason,
            )
        )
        out.members.extend((t.task_id, i) for i in team)
        out.events.append((ids[seq], assigned, text))
    return out
