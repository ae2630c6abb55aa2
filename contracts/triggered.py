"""Triggered inspections (触发检查): a task opened for one entity on a trigger, not drawn.

The notice exempts A-class entities from proactive on-site checks "除投诉举报、大数据监测发现问题、
转办交办案件线索及法律法规另有规定外": these checks happen on a trigger. Each is opened by one draw
officer with its trigger and evidence, approved by a second, named draw officer, and staffed by
the same team rules as a draw's tasks, with a seed committed before the approval (docs/draw-spec.md
§7b). Its `task.assigned` says `kind = "triggered"`; every statistic counts it apart.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from contracts.base import Contract
from contracts.draw import TaskItem, TeamMember


class Trigger(StrEnum):
    """Why an entity is checked outside the random draw: the notice's exceptions, a check a
    superior authority deployed, and the re-check of an order to correct. Codes and labels:
    complaint 投诉举报, big_data 大数据监测, referral 转办交办, statutory 法律法规规定,
    superior 上级部署, recheck 责令整改复查 (its evidence reference names the result whose order
    it re-checks; the re-check's outcome is recorded on that result with this task's id)."""

    COMPLAINT = "complaint"
    BIG_DATA = "big_data"
    REFERRAL = "referral"
    STATUTORY = "statutory"
    SUPERIOR = "superior"
    RECHECK = "recheck"


TRIGGER_LABELS: dict[str, str] = {
    Trigger.COMPLAINT: "投诉举报",
    Trigger.BIG_DATA: "大数据监测",
    Trigger.REFERRAL: "转办交办",
    Trigger.STATUTORY: "法律法规规定",
    Trigger.SUPERIOR: "上级部署",
    Trigger.RECHECK: "责令整改复查",
}

TASK_KIND_LABELS: dict[str, str] = {"random": "随机抽查", "triggered": "触发检查"}


class TriggeredState(StrEnum):
    """Where a triggered task stands: awaiting its approver, then staffed or not."""

    AWAITING_APPROVAL = "awaiting_approval"
    ASSIGNED = "assigned"
    UNSTAFFED = "unstaffed"


class TriggeredOpen(Contract):
    """`POST /triggered`: open a triggered task for one entity.

    `items` are item codes of the active item catalogue (清单之外无检查); `department` leads the
    visit and must be the department of one of them; `approver` is another draw officer, who
    must approve (`POST /triggered/{task_id}/approve`) before a team is drawn.
    """

    uscc: str = Field(min_length=18, max_length=18)
    trigger: Trigger
    evidence_ref: str = Field(min_length=1, max_length=200)
    """Where the trigger is on file (a complaint's number, a monitoring alert's id, a referral's
    document number): kept by the draw service and in its audit trail, never published."""
    items: list[str] = Field(min_length=1, max_length=50)
    department: str
    period_start: date
    period_end: date
    approver: str = Field(min_length=1)


class TriggeredEligible(Contract):
    """An inspector who met every hard constraint when the team was drawn."""

    inspector_id: str
    department: str


class TriggeredTask(Contract):
    """A triggered task as the draw service answers it (`GET /triggered/{task_id}`).

    The seed is the nonce whose SHA-256 (`nonce_sha256`) was published when the task was
    opened; it is shown once the task is approved. With `eligible` anyone can re-derive the
    team: the smallest tickets `sha256(f"{seed}|{task_id}|{inspector_id}")`, first one per
    department (docs/draw-spec.md §7b). `evidence_ref` is set only in answers to draw officers.
    """

    task_id: str
    kind: str = "triggered"
    state: TriggeredState
    uscc: str
    entity_name: str
    region_code: str
    industry_code: str
    risk_class: str | None = None
    trigger: Trigger
    trigger_label: str
    evidence_ref: str | None = None
    items: list[TaskItem]
    departments: list[str]
    lead_department: str
    methods: list[str]
    period_start: date
    period_end: date
    rules_version: str
    opened_by: str
    opened_at: datetime
    approver: str
    approved_at: datetime | None = None
    nonce_sha256: str
    seed: str | None = None
    eligible: list[TriggeredEligible] = []
    team: list[TeamMember] = []
    unstaffed_reason: str | None = None


class TriggeredOpened(Contract):
    """`spotcheck.v1.draw.triggered.opened`: a triggered task was opened and awaits approval.

    `nonce_sha256` commits to the seed its team will be drawn with, before the approval.
    """

    task_id: str
    uscc: str
    entity_name: str
    region_code: str
    industry_code: str
    risk_class: str | None = None
    trigger: Trigger
    evidence_ref: str
    item_codes: list[str]
    department: str
    period_start: date
    period_end: date
    rules_version: str
    opened_by: str
    approver: str
    nonce_sha256: str
    opened_at: datetime
