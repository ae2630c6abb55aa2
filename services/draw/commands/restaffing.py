"""Re-staffing one task (换人), and re-checking a draw's open tasks against current recusals.

The decision is `domain/restaffing.py`; this reads the task, the registry's current roster and
the draw's counts, then in one transaction (under the draw's row lock, so two restaffings of
one draw never pick against stale counts) swaps the member, keeps the record, appends the
audit entry and queues `draw.task.restaffed` and a new `draw.task.assigned` for the same task.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from contracts import subjects
from contracts.draw import (
    RecusalsChecked,
    RestaffCandidate,
    RestaffRefusal,
    TaskAssigned,
    TaskRestaffed,
    TeamMember,
)
from contracts.planner import PlanApproved
from contracts.registry import InspectorRecord
from services.draw import store
from services.draw.commands.selection import Selection
from services.draw.domain import restaffing, teams
from services.draw.domain.eligibility import TeamTask
from services.kit.envelope import event_id
from services.kit.errors import Conflict, DomainError, NotFound
from services.kit.service import ServiceContext


def _team_task(
    t: store.RestaffTask,
    plan: PlanApproved,
    roster: Sequence[InspectorRecord],
    last: frozenset[str],
) -> TeamTask:
    """The task as team assignment sees it, rebuilt from its body (as `staffing.staff` did)."""
    body = t.body
    need: dict[str, frozenset[str]] = {}
    for item in body["items"]:
        dep = item["department"]
        need[dep] = need.get(dep, frozenset()) | frozenset(t.expertise.get(item["code"], ()))
    region = body["region_code"]
    served = {r for p in roster for r in p.region_codes}
    regions = teams.cross_region_codes(region, served) if plan.cross_region else (region,)
    return TeamTask(
        task_id=t.task_id,
        uscc=t.uscc,
        regions=regions,
        departments=tuple(body["departments"]),
        check_date=t.period_end,
        expertise=need,
        last_inspectors=last,
    )


class Restaffing:
    """Replace one member of one open task; re-check a draw against the roster's recusals."""

    def __init__(self, *, ctx: ServiceContext, selection: Selection) -> None:
        self.ctx = ctx
        self.selection = selection

    async def restaff(
        self,
        task_id: str,
        inspector_id: str,
        reason: str,
        *,
        by: str,
        roster: Sequence[InspectorRecord] | None = None,
    ) -> TaskRestaffed:
        """Replace `inspector_id` on task `task_id` by the seeded rules (docs/draw-spec.md §7a).

        Refused (nothing changed) when the task is not open, the inspector is not on its team,
        the reason is empty, or no other inspector is eligible (the constraint is named).
        """
        async with self.ctx.db.pool.acquire() as conn:
            t = await store.restaff_task(conn, task_id)
        if t is None:
            raise NotFound(f"no task {task_id!r}")
        restaffing.check_request(
            task_id=task_id,
            state=t.state,
            progress=t.progress,
            team=[m["inspector_id"] for m in t.body["team"]],
            inspector_id=inspector_id,
            reason=reason,
        )
        if roster is None:
            roster = await self.selection.roster(list(t.body["departments"]))
        at = datetime.now(UTC)
        async with self.ctx.db.transaction() as conn:
            d = await store.get_draw(conn, t.draw_id, lock=True)
            t = await store.restaff_task(conn, task_id, lock=True)
            assert t is not None  # tasks are never deleted
            members = {m["inspector_id"]: m for m in t.body["team"]}
            text = restaffing.check_request(
                task_id=task_id,
                state=t.state,
                progress=t.progress,
                team=list(members),
                inspector_id=inspector_id,
                reason=reason,
            )
            if d.seed is None:  # an assigned task comes from a seeded draw; kept for safety
                raise Conflict(f"draw {d.draw_id} has no seed", code="not_seeded")
            plan = await store.get_plan(conn, t.plan_id)
            done, removed = await store.removed_from(conn, task_id)
            counts = await store.draw_counts(conn, t.draw_id)
            loads = await store.loads(conn, since=plan.period_start)
            last = await store.last_team_before(conn, t.uscc, t.draw_id)
            people = teams.from_roster(roster, loads)
            r = restaffing.replace_member(
                draw_seed=d.seed,
                n=done + 1,
                task=_team_task(t, plan, roster, last),
                team={i: m["department"] for i, m in members.items()},
                replaced=inspector_id,
                inspectors=people,
                counts=counts,
                removed=removed,
            )
            new = next(p for p in roster if p.inspector_id == r.replacement)
            came = TeamMember(
                inspector_id=new.inspector_id, name=new.name, department=new.department
            )
            left = TeamMember.model_validate(members[inspector_id])
            body = dict(t.body)
            body["team"] = [
                came.model_dump(mode="json") if m["inspector_id"] == inspector_id else m
                for m in t.body["team"]
            ]
            assigned = TaskAssigned.model_validate(body)
            record = TaskRestaffed(
                task_id=task_id,
                draw_id=t.draw_id,
                n=r.n,
                replaced=left,
                replacement=came,
                reason=text,
                seed_input=r.seed_input,
                seed=r.seed,
                candidates=[
                    RestaffCandidate(inspector_id=c.inspector_id, count=c.count)
                    for c in r.candidates
                ],
                by=by,
                at=at,
            )
            await store.swap_member(
                conn,
                task_id,
                replaced=inspector_id,
                replacement=r.replacement,
                body=assigned.model_dump(mode="json"),
            )
            await store.insert_restaffing(conn, record)
            await self.ctx.audit.append(
                conn,
                actor=by,
                action="task.restaffed",
                subject=task_id,
                data={
                    "draw_id": t.draw_id,
                    "n": r.n,
                    "replaced": inspector_id,
                    "replacement": r.replacement,
                    "reason": text,
                    "seed_input": r.seed_input,
                    "candidates": len(r.candidates),
                },
            )
            await self.ctx.outbox.add(
                conn,
                subjects.event("draw", "task.restaffed"),
                record,
                event_id=event_id("task.restaffed", task_id, r.n),
            )
            # The publisher keeps the latest `task.assigned` of a task id: the new team.
            await self.ctx.outbox.add(
                conn,
                subjects.event("draw", "task.assigned"),
                assigned,
                event_id=event_id("task.assigned", task_id, f"r{r.n}"),
            )
        return record

    async def restaff_recused(self, draw_id: str, *, by: str) -> RecusalsChecked:
        """Re-check the draw's open tasks against the roster's recusals now; replace each
        member recused for the task's entity (reason 回避). A member who cannot be replaced
        is listed in `refused` with the constraint; the other tasks go on."""
        async with self.ctx.db.pool.acquire() as conn:
            await store.get_draw(conn, draw_id)  # NotFound for an unknown draw
            open_tasks = await store.open_teams(conn, draw_id)
            departments = await store.draw_departments(conn, draw_id)
        roster = await self.selection.roster(departments)
        recusals = {p.inspector_id: frozenset(p.recusal_usccs) for p in roster}
        restaffed: list[TaskRestaffed] = []
        refused: list[RestaffRefusal] = []
        for task_id, uscc, team in open_tasks:
            for inspector_id in team:
                if uscc not in recusals.get(inspector_id, frozenset()):
                    continue
                try:
                    restaffed.append(
                        await self.restaff(
                            task_id, inspector_id, restaffing.RECUSAL_REASON, by=by, roster=roster
                        )
                    )
                except DomainError as exc:
                    refused.append(
                        RestaffRefusal(
                            task_id=task_id,
                            inspector_id=inspector_id,
                            code=exc.code,
                            reason=exc.message,
                        )
                    )
        out = RecusalsChecked(
            draw_id=draw_id, checked=len(open_tasks), restaffed=restaffed, refused=refused
        )
        async with self.ctx.db.transaction() as conn:
            await self.ctx.audit.append(
                conn,
                actor=by,
                action="draw.recusals.checked",
                subject=draw_id,
                data={
                    "checked": out.checked,
                    "restaffed": [f"{r.task_id}:{r.n}" for r in out.restaffed],
                    "refused": [f"{r.task_id}:{r.inspector_id}" for r in out.refused],
                },
            )
        return out
