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
    """A stratum of the public record (DESIGN §6). `count` is set when the plan gave a count."""

    stratum_id: str
    n: int
    bp: int | None
    k: int
    candidates_sha256: str
    selected: list[str]
    count: int | None = None


class SeedParty(Contract):
    """A party of a commit-reveal seed: its commitment and (once revealed) its secret."""

    party_id: str
    commitment_sha256: str
    secret: str | None = None


class RedrawFacts(Contract):
    """Why and by whom a draw was redrawn: two different draw officers, both named.

    `requested_by` asked for the redraw with the reason; `confirmed_by` (a second officer)
    confirmed it. `confirmed_by` is null only for redraws made before confirmation existed.
    """

    reason: str
    requested_by: str
    confirmed_by: str | None = None
    at: datetime


class DrawRecord(Contract):
    """The public draw record, spec `spotcheck-draw/1`. Fields keep their names forever.

    `redraw` is set on a superseded draw (why it was replaced) and on the draw that replaced
    it (why it exists). A replacement that is itself replaced later says why it was replaced;
    why it existed stays in the record it `supersedes`.
    """

    spec: str = DRAW_SPEC
    draw_id: str
    plan_id: str
    rules_version: str
    seed: str
    seed_source: str
    commitment_sha256: str
    strata: list[RecordStratum]
    supersedes: str | None = None
    superseded_by: str | None = None
    seed_parties: list[SeedParty] | None = None
    redraw: RedrawFacts | None = None


class DrawCompleted(Contract):
    """`spotcheck.v1.draw.completed`: the public record once selection is done."""

    record: DrawRecord
    tasks: int
    unstaffed: int
    completed_at: datetime


class TaskItem(Contract):
    """An item to check on a task, with the legal basis the item catalogue names for it (empty
    in tasks assigned before it was carried)."""

    code: str
    name: str
    department: str
    legal_basis: str = ""


class TeamMember(Contract):
    """An inspector assigned to a task."""

    inspector_id: str
    name: str
    department: str


class TaskAssigned(Contract):
    """`spotcheck.v1.draw.task.assigned`: one visit to one entity, with its items and team.

    An empty team means the task could not be staffed; `unstaffed_reason` says which
    constraint failed. `industry_code` (GB/T 4754-2017, e.g. `C1311`) and `risk_class` are the
    entity's as the registry held them when the draw made the task (for the leaders'
    statistics); null in events made before they were sent, for an entity the registry no
    longer returns, and (`risk_class`) for an entity not classified.
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
    # Open tasks of earlier draws that this visit absorbed (进一次门、查多项事): they take no
    # results of their own any more; results go to this task.
    merged_from: list[str] = []
    industry_code: str | None = None
    risk_class: str | None = None
    # How the entity came to be checked (docs/guide.md, 触发检查): `random` (a draw of a plan)
    # or `triggered` (opened for one entity on a trigger; `draw_id` and `plan_id` are then
    # empty, and `trigger` names why: contracts.triggered.Trigger). Absent in older events:
    # random.
    kind: str = "random"
    trigger: str | None = None


class DrawSeeded(Contract):
    """`spotcheck.v1.draw.seeded`: the seed, given after the commitment, and its source."""

    draw_id: str
    seed: str
    seed_source: str
    entered_by: str
    seeded_at: datetime


class DrawSuperseded(Contract):
    """`spotcheck.v1.draw.superseded`: a redraw replaced this draw; both stay public.

    `by` asked for the redraw, `confirmed_by` (another draw officer) confirmed it.
    """

    draw_id: str
    superseded_by: str
    reason: str
    by: str
    at: datetime
    confirmed_by: str | None = None


# HTTP bodies of the draw service (the CLI and other clients use them).


class StartDraw(Contract):
    """`POST /draws`: start the ceremony of an approved plan."""

    plan_id: str


class SeedBody(Contract):
    """`POST /draws/{id}/seed`: the seed and where it came from (dice, beacon; `demo` only where
    the deployment allows demonstration seeds)."""

    seed: str
    source: str = Field(pattern=r"^(dice|beacon|demo)$")


class PartyRegistration(Contract):
    """`POST /draws/{id}/parties`: a party registers the SHA-256 of its secret."""

    party_id: str
    commitment_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class PartyReveal(Contract):
    """`POST /draws/{id}/parties/{party_id}/reveal`: the secret itself."""

    secret: str


class RedrawBody(Contract):
    """`POST /draws/{id}/redraw`: ask for a redraw; a written reason is required.

    The redraw waits for a second draw officer: `POST /draws/{id}/redraw/confirm`.
    """

    reason: str


class RedrawRequest(Contract):
    """A redraw asked for and not yet confirmed (or cancelled)."""

    reason: str
    requested_by: str
    requested_at: datetime


class DrawSummary(Contract):
    """One line of `GET /draws`."""

    draw_id: str
    plan_id: str
    state: str


class DrawStatus(Contract):
    """The ceremony state of one draw (not the public record)."""

    draw_id: str
    plan_id: str
    state: str
    commitment_sha256: str | None = None
    seed_source: str | None = None
    seed_entered_by: str | None = None
    seeded_at: datetime | None = None
    supersedes: str | None = None
    superseded_by: str | None = None
    redraw_reason: str | None = None
    redraw_by: str | None = None
    redraw_confirmed_by: str | None = None
    redraw_pending: RedrawRequest | None = None
    tasks: int = 0
    unstaffed: int = 0
    parties: list[SeedParty] = []


class StratumTicket(Contract):
    """A company's ticket in one stratum and the stratum's cut-off (largest selected) ticket."""

    stratum_id: str
    ticket: str
    cutoff_ticket: str | None
    selected: bool


class TicketReply(Contract):
    """`GET /draws/{id}/tickets/{uscc}`."""

    draw_id: str
    uscc: str
    seed: str | None
    strata: list[StratumTicket]


class VerifyReply(Contract):
    """`GET /draws/{id}/verify`: the service re-derived the draw from its stored lists."""

    draw_id: str
    ok: bool
    difference: str | None = None


class DrawnRatio(Contract):
    """One risk class (`""`: strata without one) over a year's live draws that have selected:
    strata, candidates on the frozen lists (n) and selections (k), both summed over strata, and
    the distinct entities selected (an entity drawn in two strata counts once)."""

    risk_class: str
    strata: int
    n: int
    k: int
    entities: int


class DrawStats(Contract):
    """`GET /stats/draws?year=&department=`: a year's draws (by their plan's year); a redrawn
    draw counts through the draw that replaced it."""

    year: int
    department: str | None = None
    draws: int
    by_risk_class: list[DrawnRatio]


# Re-staffing one task (docs/draw-spec.md §7a). Appended here: other fields above may grow.


class RestaffBody(Contract):
    """`POST /tasks/{task_id}/restaff`: replace one member of the task's team, with a reason."""

    inspector_id: str
    reason: str


class RestaffCandidate(Contract):
    """An inspector eligible to replace the member, with his or her tasks in the draw."""

    inspector_id: str
    count: int


class TaskRestaffed(Contract):
    """`spotcheck.v1.draw.task.restaffed`: one member of one task replaced (换人).

    Re-derivable: `seed` is the SHA-256 of `seed_input` (`{draw seed}|{task_id}|restaff|{n}`),
    and the replacement is the candidate with the smallest (`count`, ticket
    `sha256(f"{seed}|{task_id}|{inspector_id}")`). The task's new team follows in a
    `task.assigned` for the same task id.
    """

    task_id: str
    draw_id: str
    n: int = Field(ge=1)
    replaced: TeamMember
    replacement: TeamMember
    reason: str
    seed_input: str
    seed: str
    candidates: list[RestaffCandidate]
    by: str
    at: datetime


class RestaffRefusal(Contract):
    """A member in conflict who could not be replaced, and why (the task keeps its team)."""

    task_id: str
    inspector_id: str
    code: str
    reason: str


class RecusalsChecked(Contract):
    """`POST /draws/{draw_id}/restaff-recused`: the draw's open tasks checked against the
    roster's current recusals; each member in conflict replaced (reason 回避) or refused."""

    draw_id: str
    checked: int
    restaffed: list[TaskRestaffed] = []
    refused: list[RestaffRefusal] = []
