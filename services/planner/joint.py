"""Joint plans (联合抽查, #13): the lead department's planner starts a draft, the invited
departments' planners join with their own items (能联尽联), the lead submits it.

Submitting assembles one `PlanSubmission` and hands it to `PlannerCommands.submit`, the very
command `POST /plans` calls: same evaluation, storage, audit and `plan.approved` event. Every
change of a draft is audited in its transaction; a start and each join also put an event in
the outbox there (`planner.joint.started`, `planner.joint.joined`), published before the
answer (or by the relay when NATS is away), so the invited departments' systems learn of a
draft before it is submitted.
"""

from __future__ import annotations

import logging

from contracts import subjects
from contracts.common import Role
from contracts.planner import (
    JointPlanDraft,
    JointPlanJoin,
    JointPlanStart,
    PlanAccepted,
)
from services.kit.audit import AuditTrail
from services.kit.auth import Principal
from services.kit.db import Database
from services.kit.envelope import event_id
from services.kit.errors import Conflict, Forbidden, NotFound
from services.kit.outbox import Outbox
from services.planner.active import ActiveRules
from services.planner.commands import PlannerCommands
from services.planner.domain import joint
from services.planner.domain.plan import PlanInvalid
from services.planner.store import JointDraftRow, JointItemsRow, PlannerStore

log = logging.getLogger("spotcheck.planner")


class JointPlans:
    """Start, join, submit and read joint plan drafts."""

    def __init__(
        self,
        *,
        db: Database,
        audit: AuditTrail,
        outbox: Outbox,
        store: PlannerStore,
        rules: ActiveRules,
        commands: PlannerCommands,
    ) -> None:
        self.db = db
        self.audit = audit
        self.outbox = outbox
        self.store = store
        self.rules = rules
        self.commands = commands

    async def start(self, body: JointPlanStart, *, who: Principal) -> JointPlanDraft:
        """A new open draft led by the caller's department, with its items."""
        lead = _dept(who)
        ruleset, _engine = await self.rules.current()
        departments = joint.check_start(body, lead, ruleset)
        if await self.store.plan_exists(body.plan_id):
            raise Conflict(f"plan {body.plan_id} already exists")
        async with self.db.transaction() as conn:
            started_at = await self.store.add_joint_draft(
                conn,
                plan_id=body.plan_id,
                year=body.year,
                lead=lead,
                departments=departments,
                header=joint.header_of(body),
                items=[joint.entry_json(e) for e in body.items],
                actor=who.sub,
            )
            await self.audit.append(
                conn,
                actor=who.sub,
                action="joint.start",
                subject=body.plan_id,
                data={"lead": lead, "departments": departments, "items": len(body.items)},
            )
            await self.outbox.add(
                conn,
                subjects.event("planner", "joint.started"),
                joint.started_event(
                    body, lead=lead, departments=departments, by=who.sub, at=started_at
                ),
                event_id=event_id("joint.started", body.plan_id),
            )
        await self._flush()
        return await self.show(body.plan_id, who=who)

    async def join(self, plan_id: str, body: JointPlanJoin, *, who: Principal) -> JointPlanDraft:
        """An invited department's items (again: replaced); refused once submitted."""
        dept = _dept(who)
        ruleset, _engine = await self.rules.current()
        async with self.db.transaction() as conn:
            draft = await self._locked(conn, plan_id)
            if dept not in draft.departments:
                raise Forbidden(
                    f"{dept} is not invited to joint plan {plan_id}",
                    details=[
                        _detail(
                            "department", f"{dept} is not invited", f"{dept}未受邀参加本联合抽查"
                        )
                    ],
                )
            # `submitting`: a submission that died between the claim and its end (a crash, a
            # lost connection) may be taken up again; the plan store keeps one plan per id.
            if draft.state not in ("open", "submitting"):
                raise Conflict(
                    f"joint plan {plan_id} is already submitted",
                    details=[
                        _detail(
                            "plan_id", "already submitted", "本联合抽查计划已提交，不能再加入或修改"
                        )
                    ],
                )
            plan = joint.assemble(
                plan_id=plan_id,
                year=draft.year,
                lead=draft.lead_department,
                departments=draft.departments,
                header=draft.header,
                items={dept: [joint.entry_json(e) for e in body.items]},
            )
            joint.check_join(body.items, department=dept, plan=plan, ruleset=ruleset)
            joined_before = await self.store.joined_departments(conn, plan_id)
            joined_at = await self.store.set_joint_items(
                conn,
                plan_id=plan_id,
                department=dept,
                items=[joint.entry_json(e) for e in body.items],
                actor=who.sub,
            )
            entry = await self.audit.append(
                conn,
                actor=who.sub,
                action="joint.join",
                subject=plan_id,
                data={"department": dept, "items": [e.item for e in body.items]},
            )
            # Each join is its own fact (a department may join again): its audit entry's seq
            # tells them apart.
            await self.outbox.add(
                conn,
                subjects.event("planner", "joint.joined"),
                joint.joined_event(
                    plan_id,
                    department=dept,
                    items=body.items,
                    departments=draft.departments,
                    joined_before=joined_before,
                    by=who.sub,
                    at=joined_at,
                ),
                event_id=event_id("joint.joined", plan_id, dept, entry.seq),
            )
        await self._flush()
        return await self.show(plan_id, who=who)

    async def _flush(self) -> None:
        """Publish the events just committed before answering; if NATS is away they stay in
        the outbox for the relay, and the answer still reports the committed change."""
        try:
            await self.outbox.flush()
        except Exception as exc:
            log.warning("events stay in the outbox for the relay: %s", exc)

    async def submit(self, plan_id: str, *, who: Principal) -> PlanAccepted:
        """The lead submits a draft every invited department has joined, through the
        ordinary plan submission; the draft is then `submitted` with the plan's status."""
        dept = _dept(who)
        async with self.db.transaction() as conn:
            draft = await self._locked(conn, plan_id)
            if dept != draft.lead_department:
                raise Forbidden(
                    f"only the lead department {draft.lead_department} submits {plan_id}",
                    details=[
                        _detail(
                            "plan_id",
                            "only the lead department submits",
                            f"只有牵头部门（{draft.lead_department}）可以提交",
                        )
                    ],
                )
            # `submitting`: a submission that died between the claim and its end (a crash, a
            # lost connection) may be taken up again; the plan store keeps one plan per id.
            if draft.state not in ("open", "submitting"):
                raise Conflict(
                    f"joint plan {plan_id} is already submitted",
                    details=[_detail("plan_id", "already submitted", "本联合抽查计划已提交")],
                )
            items = await self._items(plan_id)
            waiting = [d for d in draft.departments if d not in items]
            if waiting:
                names = "、".join(waiting)
                raise Conflict(
                    f"not every department has joined: waiting for {', '.join(waiting)}",
                    code="not_joined",
                    details=[
                        _detail(
                            "departments",
                            f"waiting for {', '.join(waiting)}",
                            f"尚未加入的部门：{names}",
                        )
                    ],
                )
            # Claimed: a second submission now finds it not open; joins are refused.
            await self.store.set_joint_state(conn, plan_id=plan_id, state="submitting")
        plan = joint.assemble(
            plan_id=plan_id,
            year=draft.year,
            lead=draft.lead_department,
            departments=draft.departments,
            header=draft.header,
            items={d: r.items for d, r in items.items()},
        )
        try:
            accepted = await self.commands.submit(plan, actor=who.sub)
        except PlanInvalid:
            await self._submitted(plan_id, "rejected", who)
            raise
        except BaseException:
            stored = await self.store.get_plan(plan_id)
            if stored is not None:
                # Another submission of this draft stored the plan (a retry after a crash
                # racing the original): the draft is submitted with that plan's status.
                await self._submitted(plan_id, str(stored["status"]), who)
            else:
                async with self.db.transaction() as conn:  # nothing stored: open again
                    await self.store.set_joint_state(conn, plan_id=plan_id, state="open")
            raise
        await self._submitted(plan_id, accepted.status, who)
        return accepted

    async def _submitted(self, plan_id: str, status: str, who: Principal) -> None:
        async with self.db.transaction() as conn:
            await self.store.set_joint_state(
                conn, plan_id=plan_id, state="submitted", plan_status=status, actor=who.sub
            )
            await self.audit.append(
                conn,
                actor=who.sub,
                action="joint.submit",
                subject=plan_id,
                data={"plan_status": status},
            )

    async def show(self, plan_id: str, *, who: Principal) -> JointPlanDraft:
        """One draft; a planner sees it when their department leads it or is invited."""
        found = await self.store.joint_drafts(plan_id=plan_id, department=None, year=None, limit=1)
        if not found:
            raise NotFound(
                f"no joint plan {plan_id}",
                details=[_detail("plan_id", "no such joint plan", f"没有联合抽查计划 {plan_id}")],
            )
        draft, items = found[0]
        if who.role is Role.PLANNER and who.dept not in draft.departments:
            raise Forbidden(
                f"{who.dept} takes no part in joint plan {plan_id}",
                details=[_detail("plan_id", "not a department of it", "本部门未参加此联合抽查")],
            )
        return _view(draft, items)

    async def drafts(
        self, *, who: Principal, department: str | None, year: int | None, limit: int
    ) -> list[JointPlanDraft]:
        """Drafts newest first; a planner's are those their department leads or is invited to."""
        if who.role is Role.PLANNER:
            department = who.dept
        found = await self.store.joint_drafts(department=department, year=year, limit=limit)
        return [_view(d, i) for d, i in found]

    async def _locked(self, conn: object, plan_id: str) -> JointDraftRow:
        draft = await self.store.lock_joint_draft(conn, plan_id)
        if draft is None:
            raise NotFound(
                f"no joint plan {plan_id}",
                details=[_detail("plan_id", "no such joint plan", f"没有联合抽查计划 {plan_id}")],
            )
        return draft

    async def _items(self, plan_id: str) -> dict[str, JointItemsRow]:
        found = await self.store.joint_drafts(plan_id=plan_id, department=None, year=None, limit=1)
        return {r.department: r for r in found[0][1]} if found else {}


def _dept(who: Principal) -> str:
    if who.dept is None:  # the kit refuses a planner's token without one; kept for mypy
        raise Forbidden("a planner's token names a department", code="department_missing")
    return who.dept


def _detail(field: str, msg: str, msg_zh: str) -> dict[str, object]:
    return {"loc": ["body", field], "msg": msg, "msg_zh": msg_zh, "type": "joint_plan"}


def _view(draft: JointDraftRow, items: list[JointItemsRow]) -> JointPlanDraft:
    return joint.draft_view(
        plan_id=draft.plan_id,
        year=draft.year,
        lead=draft.lead_department,
        departments=draft.departments,
        header=draft.header,
        state=draft.state,
        plan_status=draft.plan_status,
        joined={r.department: (r.items, r.joined_by, r.joined_at) for r in items},
        started_by=draft.started_by,
        created_at=draft.created_at,
        submitted_by=draft.submitted_by,
        submitted_at=draft.submitted_at,
    )
