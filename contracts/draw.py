"""Draw contracts: commitment, public record, tasks with their teams."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from contracts.base import Contract

DRAW_SPEC = "spotcheck-draw/1"


class CommittedStratum(Contract):
    """A stratum as committed before the seed: n, k and the candidates' hash."""

    stratum_id: str
    n: int
    bp: int | None
    k: int
    candidates_sha256: str


class DrawCommitted(Contract):
    """`spotcheck.v1.draw.committed`: published before any seed exists."""

    draw_id: str
    plan_id: str
    rules_version: str
    snapshot_id: str
    commitment_sha256: str
    strata: list[CommittedStratum]
    committed_at: datetime


class RecordStratum(Contract):
    """A stratum of the public record (DESIGN §6)."""

    stratum_id: str
    n: int
    bp: int | None
    k: int
    candidates_sha256: str
    selected: list[str]


class DrawRecord(Contract):
    """The public draw record, spec `spotcheck-draw/1`. Fields keep their names forever."""

    spec: str = DRAW_SPEC
    draw_id: str
    plan_id: str
    rules_version: str
    seed: str
    seed_source: str
    commitment_sha256: str
    strata: list[RecordStratum]
    supersedes: str | None = None


class DrawCompleted(Contract):
    """`spotcheck.v1.draw.completed`: the public record once selection is done."""

    record: DrawRecord
    tasks: int
    unstaffed: int
    completed_at: datetime


class TaskItem(Contract):
    """An item to check on a task."""

    code: str
    name: str
    department: str


class TeamMember(Contract):
    """An inspector assigned to a task."""

    inspector_id: str
    name: str
    department: str


class TaskAssigned(Contract):
    """`spotcheck.v1.draw.task.assigned`: one visit to one entity, with its items and team.

    An empty team means the task could not be staffed; `unstaffed_reason` says which
    constraint failed.
    """

    task_id: str
    draw_id: str
    plan_id: str
    uscc: str
    entity_name: str
    region_code: str
    departments: list[str]
    lead_department: str
    items: list[TaskItem]
    methods: list[str] = []
    batch: int = Field(ge=1)
    period_start: date
    period_end: date
    team: list[TeamMember] = []
    unstaffed_reason: str | None = None
    joint: bool = False
