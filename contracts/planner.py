"""Planner contracts: approved and rejected plans, rule-set activation, the item catalogue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from contracts.base import Contract
from contracts.holidays import HolidaySchedule
from contracts.registry import STRATUM_ID_PATTERN, EntityFilter
from contracts.rules import (
    CODE_PATTERN,
    AppliesTo,
    Department,
    ExpectedAnswer,
    ItemKind,
    Method,
    Ratio,
)


class PlanItem(Contract):
    """An item of the catalogue as a plan uses it."""

    code: str
    name: str
    department: str
    kind: str
    methods: list[str] = []
    expertise: list[str] = []
    legal_basis: str = ""
    """The catalogue's legal basis (法律依据) of the item; empty in plans approved before it
    was carried. The publisher names it in the events of a finding."""


class ResolvedStratum(Contract):
    """A stratum of an approved plan with its ratio (bp) or count and why."""

    stratum_id: str = Field(pattern=STRATUM_ID_PATTERN)
    item_codes: list[str]
    departments: list[str]
    risk_class: str | None = None
    region_code: str | None = None
    filter: EntityFilter
    bp: int | None = Field(default=None, ge=0, le=10000)
    count: int | None = Field(default=None, ge=0)
    count_cap_bp: int | None = Field(default=None, ge=0, le=10000)
    """For a count stratum: the draw takes at most ceil(n × count_cap_bp / 10000) of its n
    (a general item's cap, applied to the n frozen at draw time)."""
    n_estimate: int | None = None
    """Entities of the stratum by the registry's `rpc.stats` at submission (before the
    frequency window's exclusions); the draw counts the frozen list again."""
    k_estimate: int | None = None
    """k = ceil(n_estimate × bp / 10000) (at most n), or the (capped) count, at most n."""
    methods: list[str] = []
    on_site_required: bool = False
    explanation: list[str] = []
    batches: int = Field(default=1, ge=1)
    batch_size: int | None = None
    frequency_times: int = 1
    frequency_months: int = 12
    fired: list[str] = []
    """Chinese names of the rules that fired, in order."""
    joint_group: str | None = None
    lead_department: str | None = None


class ExcludedStratum(Contract):
    """A stratum the rules took out of the draw, and why (kept for the record, not drawn)."""

    stratum_id: str = Field(pattern=STRATUM_ID_PATTERN)
    item_codes: list[str]
    risk_class: str | None = None
    region_code: str | None = None
    reason: str
    explanation: list[str] = []


class FrequencyExclusion(Contract):
    """A frequency window (抽查频次): an entity checked for one of these items by one of these
    departments at least `times` times since `since` leaves the base of the strata
    `stratum_ids`.

    A check is a task of an earlier draw (assigned, unstaffed, or merged into another: one
    visit counts once) whose period ends on or after `since`. Each stratum's window follows
    its own rule outcome (`ResolvedStratum.frequency_times`/`frequency_months`, `since` being
    that many months before the plan's period start): class A's two-year window is not class
    B's, and class D's "twice a year" takes out only entities already checked twice.
    Plans approved before windows named their strata carry no `stratum_ids` (and `times` 1):
    the draw applies such a window, as it did then, to every stratum with one of its items.
    """

    item_codes: list[str]
    departments: list[str]
    since: date
    times: int = Field(default=1, ge=1)
    stratum_ids: list[str] = []


class PlanApproved(Contract):
    """`spotcheck.v1.planner.plan.approved`: all the draw needs."""

    plan_id: str
    year: int
    title: str
    departments: list[str]
    lead_department: str
    joint: bool = False
    rules_version: str
    period_start: date
    period_end: date
    batches: int = Field(default=1, ge=1)
    items: list[PlanItem]
    strata: list[ResolvedStratum]
    frequency_exclusions: list[FrequencyExclusion] = []
    cross_region: bool = False
    approved_at: datetime
    excluded: list[ExcludedStratum] = []
    flags: list[str] = []
    """E.g. `filed_late` (not filed with the government by end of February), `entered_late`."""
    joint_strata: int = 0
    joint_share_bp: int | None = None
    """能联尽联: share of mergeable strata that were merged into joint strata (basis points)."""


class PlanRejected(Contract):
    """`spotcheck.v1.planner.plan.rejected`: every reason at once."""

    plan_id: str
    reasons: list[dict[str, str | int]]
    rejected_at: datetime


class RulesActivated(Contract):
    """`spotcheck.v1.planner.rules.activated`: a new rule set version is active."""

    version: str
    previous_version: str | None = None
    files: list[str]
    activated_at: datetime
    activated_by: str
    holidays: list[HolidaySchedule] = []
    """The rule set's holiday schedules (`rules/holidays/<year>.yaml`), by year: the publisher
    counts working days with them (and with its package's data for other published years)."""


# ---- plan submission (HTTP body of POST /plans, the YAML of `spotcheck plan submit`) -------


class PlanScope(Contract):
    """Which entities a plan (or one item of it) targets."""

    regions: list[str] = Field(min_length=1)
    """GB/T 2260 county-level codes (6 digits): one stratum per region."""
    entity_types: list[str] = []
    """Entity types (企业、个体工商户、农民专业合作社…); empty: every type the item applies to."""
    industries: list[str] = []
    tags: list[str] = []
    risk_classes: list[str] | None = None
    """Default: every configured risk class."""


class Period(Contract):
    """When the checks of a plan are carried out (both days inclusive)."""

    start: date
    end: date


class PlanItemEntry(Contract):
    """One item of a submitted plan: a base ratio (the B-class, 常规 ratio) or a count."""

    item: str = Field(pattern=CODE_PATTERN)
    ratio: Ratio | None = None
    count: int | None = Field(default=None, ge=0)
    scope: PlanScope | None = None
    period: Period | None = None


class PlanSubmission(Contract):
    """A department's (or several departments') annual sampling plan (抽查计划)."""

    plan_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,48}$")
    title: str = Field(min_length=1)
    year: int = Field(ge=2000, le=2100)
    departments: list[str] = Field(min_length=1)
    lead_department: str | None = None
    scope: PlanScope
    period: Period
    items: list[PlanItemEntry] = Field(min_length=1)
    batches: int = Field(default=1, ge=1, le=12)
    filed_on: date | None = None
    """Filed with the government (报送同级人民政府备案); due by the end of February."""
    entered_on: date | None = None
    """Entered into the platform (录入平台); due by 31 March. Default: the day it is submitted."""


class PlanAccepted(Contract):
    """Reply to a plan submission: the plan id, the rules version used, and any flags."""

    plan_id: str
    status: str
    rules_version: str
    strata: int
    excluded: int
    flags: list[str] = []


# ---- the item catalogue (HTTP replies of GET /items, GET /items/{code}; public) --------------


class CatalogueQuestion(Contract):
    """One question of an item's checklist (检查表), answered on site 是 / 否 / 不适用."""

    id: str
    """Unique within its item (Q1, Q2, …)."""
    question: str
    basis: str | None = None
    """The legal clause the question rests on, when the rule file names one."""
    expects: ExpectedAnswer
    """The compliant answer: `yes` (是) or `no` (否, for questions like 是否存在…的情形)."""


class CatalogueItem(Contract):
    """An item of the active item catalogue (检查事项清单), as the rule files define it.

    `key_supervision` says whether the item is on a key-supervision list (重点监管): entities
    carrying one of `key_supervision_labels` leave its random draw. A key-supervision item
    with no labels is the old form (`key_supervision: true`): every label leaves its draw.
    """

    code: str
    name: str
    department: Department
    kind: ItemKind
    legal_basis: str
    methods: list[Method]
    applies_to: AppliesTo
    expertise: list[str] = []
    key_supervision: bool = False
    key_supervision_labels: list[str] = []
    checklist: list[CatalogueQuestion] = []
    """The questions in the order they are asked on site."""


class ItemCatalogue(Contract):
    """`GET /items`: the item catalogue of the active rule set, in the rule files' order."""

    rules_version: str
    """The active rule set's version (SHA-256 of its files): a new one may change a checklist."""
    items: list[CatalogueItem]


# ---- statistics for the console's leaders' page (GET /stats/plans) --------------------------


class PlannedRatio(Contract):
    """One risk class (`""`: entities without a class) over a year's approved plans: strata,
    the candidates estimated when the plans were approved (n) and the entities planned (k)."""

    risk_class: str
    strata: int
    n: int
    k: int


class LatePlan(Contract):
    """An approved plan with a filing flag: `not_filed`, `filed_late` (报送政府备案 after the end
    of February), `entered_late` (录入平台 after 31 March)."""

    plan_id: str
    title: str
    departments: list[str]
    filed_on: date | None = None
    entered_on: date | None = None
    flags: list[str]


class PlanStats(Contract):
    """`GET /stats/plans?year=&department=`: a year's plans as the planner holds them.

    Joint share (能联尽联): strata run as joint inspections among all strata of the approved
    plans. Random-check share: general items of the active catalogue outside key supervision
    that some approved plan of the year checks, among all such items (the notice's 100%)."""

    year: int
    department: str | None = None
    plans: int
    rejected: int
    joint_plans: int
    strata: int
    joint_strata: int
    general_items: int
    general_items_planned: int
    unplanned_items: list[str]
    late: list[LatePlan]
    by_risk_class: list[PlannedRatio]


# ---- joint plans (联合抽查, 能联尽联): the lead starts a draft, the others join (#13) ---------

PLAN_ID_PATTERN = r"^[A-Za-z0-9_-]{1,48}$"


class JointPlanStart(Contract):
    """`POST /plans/joint`: the lead department's planner starts a joint plan draft.

    The lead is the caller's department; `departments` are the lead's own and the invited
    ones (at least two in all; the lead is added when left out). `items` are the lead's own.
    """

    plan_id: str = Field(pattern=PLAN_ID_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    year: int = Field(ge=2000, le=2100)
    departments: list[str] = Field(min_length=1, max_length=32)
    scope: PlanScope
    period: Period
    items: list[PlanItemEntry] = Field(min_length=1)
    batches: int = Field(default=1, ge=1, le=12)
    filed_on: date | None = None
    entered_on: date | None = None


class JointPlanJoin(Contract):
    """`POST /plans/joint/{plan_id}/join`: an invited department's items (its own only).
    Joining again replaces that department's items."""

    items: list[PlanItemEntry] = Field(min_length=1)


class JointPlanItem(Contract):
    """An item a department brings to a joint plan draft, as the draft shows it: the base
    ratio in basis points (`ratio_bp`, 300 for "3%") or a count."""

    item: str
    ratio_bp: int | None = None
    count: int | None = None
    scope: PlanScope | None = None
    period: Period | None = None


class JointPlanMember(Contract):
    """One department of a joint plan draft: whether it has joined (已加入) and its items."""

    department: str
    lead: bool = False
    joined: bool = False
    items: list[JointPlanItem] = []
    joined_by: str | None = None
    joined_at: datetime | None = None


class JointPlanDraft(Contract):
    """A joint plan draft as `GET /plans/joint` and `GET /plans/joint/{plan_id}` show it.

    `state` is `open` (departments join) until the lead submits it (`submitted`); then
    `plan_status` is the status of the plan the submission stored (approved or rejected).
    """

    plan_id: str
    title: str
    year: int
    lead_department: str
    departments: list[str]
    scope: PlanScope
    period: Period
    batches: int = 1
    filed_on: date | None = None
    entered_on: date | None = None
    state: str
    plan_status: str | None = None
    members: list[JointPlanMember]
    waiting: list[str] = []
    """The invited departments that have not joined yet (待加入)."""
    started_by: str
    created_at: datetime
    submitted_by: str | None = None
    submitted_at: datetime | None = None


class JointPlanStarted(Contract):
    """`spotcheck.v1.planner.joint.started`: a department's planner started a joint plan draft
    and invited the other departments (能联尽联). Nothing is approved yet: the plan itself comes
    as `plan.approved` (or `plan.rejected`) when the lead submits it."""

    plan_id: str
    title: str
    year: int
    lead_department: str
    departments: list[str]
    """Every department of the draft, the lead first."""
    invited: list[str]
    """The departments asked to join (all but the lead)."""
    scope: PlanScope
    period: Period
    items: list[JointPlanItem]
    """The lead's own items."""
    started_by: str
    started_at: datetime


class JointPlanJoined(Contract):
    """`spotcheck.v1.planner.joint.joined`: an invited department joined a joint plan draft with
    its own items, or joined again (its items replaced: the last event is the one that holds)."""

    plan_id: str
    department: str
    items: list[JointPlanItem]
    rejoined: bool = False
    """True when the department had joined before and its items were replaced."""
    waiting: list[str]
    """The invited departments that have still not joined (empty: the lead may submit)."""
    joined_by: str
    joined_at: datetime


# ---- rpc.planner.items: items of the active catalogue by code (the draw's triggered tasks) ---


class ItemsRequest(Contract):
    """`spotcheck.v1.rpc.planner.items`: which of these codes the active catalogue has."""

    codes: list[str] = Field(min_length=1, max_length=200)


class ItemsReply(Contract):
    """The active rule set's version, the items found (in the order asked) and the codes it
    does not have (清单之外无检查: the caller refuses them)."""

    rules_version: str
    items: list[PlanItem]
    unknown: list[str] = []


# ---- the 监督平台's acknowledgement of a plan's filing (issue 19) ----------------------------


class PlanFilingAck(Contract):
    """`POST /plans/{plan_id}/filing`: the platform acknowledged a plan (its receipt).

    `kind` `entered` (录入平台, due 31 March: the plan's `entered_on`) or `filed` (报送同级人民
    政府备案, due end of February: `filed_on`); the flags are recomputed from the date."""

    platform: str = Field(default="jdpt", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    """Which platform acknowledged it (the mapping's name; default 监督平台 `jdpt`)."""
    ack_id: str = Field(min_length=1, max_length=128)
    """The platform's id of its acknowledgement (回执编号): the same ack twice records once."""
    acknowledged_on: date
    kind: Literal["entered", "filed"] = "entered"


class PlanFiling(Contract):
    """A plan's filing as acknowledged: the dates now held, the flags recomputed from them and
    every acknowledgement recorded."""

    plan_id: str
    filed_on: date | None = None
    entered_on: date | None = None
    flags: list[str]
    acks: list[dict[str, str]] = []
    repeated: bool = False
    """True when this acknowledgement had been recorded before (nothing changed)."""


class PlanFilingRequest(PlanFilingAck):
    """`spotcheck.v1.planner.rpc.filing`: a platform adapter (the publisher's, for the
    监督平台) records the platform's receipt of a plan over NATS, as `POST /plans/{id}/filing`
    does over HTTP; answers `PlanFiling`. Safe to repeat: the same ack records once."""

    plan_id: str = Field(pattern=PLAN_ID_PATTERN)
    recorded_by: str = Field(default="platform-adapter", min_length=1, max_length=64)
    """Who relays the receipt (the audit entry's actor)."""
