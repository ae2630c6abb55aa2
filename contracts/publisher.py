"""Publisher contracts: result submissions and the result events other agencies read."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from contracts.base import Contract
from contracts.draw import TaskItem


class ChecklistAnswer(Contract):
    """One question of an item's checklist (检查表) answered on site: `yes` 是, `no` 否,
    `na` 不适用, with an optional note."""

    question_id: str = Field(min_length=1, max_length=100)
    answer: Literal["yes", "no", "na"]
    note: str = ""


class ItemResult(Contract):
    """The outcome for one item of a task, in a category of the national disclosure system.

    `category` is the category's code (e.g. "1" 未发现问题) or its Chinese name; the publisher
    stores and publishes the code. `rooted_at_approval` marks a problem whose cause lies in
    registration or approval: it is fed back to licensing (准入审批环节反馈).
    """

    item_code: str
    category: str
    problems: str = ""
    rooted_at_approval: bool = False
    answers: list[ChecklistAnswer] = []
    """The item's checklist as answered on site (掌上查); kept with the result, not published."""


class FollowUp(Contract):
    """What the check leads to (后续处置).

    `rectify_by` is the deadline of an order to correct (责令整改期限), after the check date,
    with `rectification` saying what must be corrected; `refer` hands the case to case
    handling (移送案件办理), allowed only when some item's category is a violation (a
    category that is referred anyway is referred without it). `refer_to` names where it goes:
    `case_handling` (移送案件办理, what `refer: true` alone means) or `judicial` (移送司法机关,
    a suspected crime); giving it refers the result.
    """

    rectify_by: date | None = None
    rectification: str = ""
    refer: bool = False
    refer_to: Literal["case_handling", "judicial"] | None = None

    @property
    def referred(self) -> bool:
        """Whether the inspectors asked to refer the result (either form)."""
        return self.refer or self.refer_to is not None


class RepresentativeConfirmation(Contract):
    """The entity's representative confirms the record of the check on site (被检查对象确认).

    `signature_sha256` names an attachment of the same submission (the signature, uploaded
    with `POST /attachments`).
    """

    name: str = Field(min_length=1, max_length=100)
    confirmed_at: datetime
    signature_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class Confirmation(Contract):
    """An assigned inspector confirms the result."""

    inspector_id: str
    confirmed_at: datetime


class AttachmentKind(StrEnum):
    """What an attachment is to the check: evidence (现场照片等证据), the capture of an online
    check (网络监测截图、页面存档) or the report of a commissioned one (检验检测报告、审计报告)."""

    EVIDENCE = "evidence"
    CAPTURE = "capture"
    REPORT = "report"


class Attachment(Contract):
    """Evidence stored in the object store bucket `EVIDENCE_BUCKET` under its SHA-256.

    Either uploaded first (`POST /attachments`, which answers with sha256 and size) and
    referenced here, or given inline as `content_base64` (batch files); inline content must
    hash to `sha256`. `kind` says what it is to the check method (`MethodRecord`).
    """

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    content_type: str = "application/octet-stream"
    content_base64: str | None = None
    kind: AttachmentKind = AttachmentKind.EVIDENCE


class MethodRecord(Contract):
    """What the check method requires, recorded with the result (检查方式记录).

    - 实地核查 `on_site`: the place (`place`); the date is the result's `check_date`.
    - 书面检查 `documents`: the documents examined (`documents`, one name each).
    - 网络监测 `online`: the URL or the platform monitored (`url`, `platform`) and at least one
      attachment of kind `capture`.
    - 委托检验检测 `commissioned`: at least one attachment of kind `report`.

    Kept with the result for the file and the auditors; not published.
    """

    place: str = Field(default="", max_length=200)
    documents: list[str] = Field(default=[], max_length=50)
    url: str = Field(default="", max_length=2000)
    platform: str = Field(default="", max_length=100)


class ResultSubmission(Contract):
    """What inspectors submit for a task (检查结果).

    `method` is how the check was done: a code (`on_site`, `documents`, `online`,
    `commissioned`) or its Chinese name (实地核查、书面检查、网络监测、委托检验检测); it must be
    one of the task's `methods` (e.g. class-A tasks allow no proactive on-site visit). The
    publisher stores and publishes the code.

    A correction names the version it corrects (`corrects_version`, which must be the latest)
    and gives a reason; it becomes a new version, the old one stays.

    `confirmations`: department staff entering a paper record (谁检查、谁录入) give every team
    member's. An inspector gives at most their own (it is implied when left out): each other
    member confirms with their own sign-in (`POST /tasks/{task_id}/draft/confirm`), and until
    all have, the submission is a `ResultDraft`.

    `method_record`: what the method requires (the place of an on-site check, the documents
    of a documents check, the URL or platform of an online one; its capture and a commissioned
    check's report are attachments of that kind): see `MethodRecord`.

    `idempotency_key` (the phone's offline queue): the same key from the same submitter for the
    same task answers the first outcome again and never records twice; the same key with other
    content is refused (409 `idempotency_key_reused`).
    """

    task_id: str
    check_date: date
    method: str
    items: list[ItemResult] = Field(min_length=1)
    confirmations: list[Confirmation] = []
    attachments: list[Attachment] = []
    corrects_version: int | None = None
    correction_reason: str | None = None
    follow_up: FollowUp | None = None
    representative: RepresentativeConfirmation | None = None
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=100)
    method_record: MethodRecord = MethodRecord()


class ResultAccepted(Contract):
    """Reply to a submission, and event `spotcheck.v1.publisher.result.accepted`.

    The draw reads the event to learn that a task has its result (no later visit may absorb it,
    and its draw can no longer be redrawn).
    """

    result_id: str
    version: int
    task_id: str
    check_date: date
    due_date: date
    due_date_provisional: bool = False
    """True when the 20 working days run into a year whose holidays are not yet published:
    the due date is then counted with weekends and the statutory holidays only, and
    recomputed when that year's holiday file is activated (`publisher.deadline.changed`)."""
    destinations: list[str]
    accepted_at: datetime


class TaskStarted(Contract):
    """`POST /tasks/{task_id}/start` reply, and event `spotcheck.v1.publisher.task.started`.

    An inspector of the team (or staff of one of the task's departments) marks the visit begun
    (掌上查: 开始检查). The first start counts; starting again answers the same facts. The draw
    reads the event: a task in progress is never absorbed by a later visit.
    """

    task_id: str
    draw_id: str
    started_by: str
    started_at: datetime


class SubmissionOutcome(Contract):
    """One line of a batch submission's report: accepted, kept as a draft awaiting the other
    team members' confirmations (an inspector's submission), or refused with every reason.
    `repeated`: an idempotency key seen before; this is the first outcome again."""

    index: int
    task_id: str | None = None
    accepted: ResultAccepted | None = None
    draft: ResultDraft | None = None
    error: dict[str, object] | None = None
    repeated: bool = False


class PublishedItem(Contract):
    """A published item result, with the category's name for readers."""

    item_code: str
    category: str
    category_name: str
    problems: str = ""


class ResultPublished(Contract):
    """`spotcheck.v1.publisher.result.published.<region>.<dept>`: a public result (结果公告).

    A correction is published as a new message with a higher `version` and `supersedes` set
    to the version it replaces; readers keep the highest version per `result_id`.
    """

    result_id: str
    version: int
    supersedes: int | None = None
    correction_reason: str | None = None
    task_id: str
    draw_id: str
    plan_id: str
    uscc: str
    entity_name: str
    region_code: str
    departments: list[str]
    items: list[PublishedItem]
    method: str = ""
    check_date: date
    published_at: datetime
    violation: bool


class CreditFeedback(Contract):
    """`spotcheck.v1.publisher.credit.feedback`: results back to the credit-risk system."""

    result_id: str
    version: int
    uscc: str
    categories: list[str]
    violation: bool
    check_date: date


class ReferralCreated(Contract):
    """`spotcheck.v1.publisher.referral.created`: a violation handed to case handling (移送)."""

    referral_id: str
    result_id: str
    version: int = 1
    uscc: str
    entity_name: str
    departments: list[str]
    items: list[ItemResult]
    check_date: date
    follow_up: FollowUp | None = None
    """The order to correct and the inspectors' request to refer, when they gave one."""
    to: Literal["case_handling", "judicial"] = "case_handling"
    """The receiving body: case handling (移送案件办理) unless the inspectors named the
    judicial organs (`follow_up.refer_to: judicial`, 移送司法机关)."""


class LicensingFeedback(Contract):
    """`spotcheck.v1.publisher.licensing.feedback`: problems rooted at registration/approval."""

    result_id: str
    version: int
    uscc: str
    entity_name: str
    departments: list[str]
    items: list[ItemResult]
    check_date: date


class DeliveryState(StrEnum):
    """States of one outbox delivery."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class Delivery(Contract):
    """One result version's delivery to one destination, as operators see it."""

    id: int
    result_id: str
    version: int
    destination: str
    idempotency_key: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


class DeadlineEntry(Contract):
    """A result not yet public that is at risk or overdue (`spotcheck publisher overdue`)."""

    result_id: str
    version: int
    task_id: str
    uscc: str
    check_date: date
    due_date: date
    state: str
    working_days_left: int
    provisional: bool = False
    """The due date runs into a year whose holidays are not yet published (see
    `ResultAccepted.due_date_provisional`)."""


class DeadlineChange(Contract):
    """One result version whose publication deadline changed with the holiday calendar."""

    result_id: str
    version: int
    task_id: str
    check_date: date
    previous_due_date: date
    previous_provisional: bool
    due_date: date
    provisional: bool


class DeadlinesChanged(Contract):
    """`spotcheck.v1.publisher.deadline.changed`: deadlines recomputed with a new calendar.

    Sent when an activated rule set changes the holiday calendar (typically: the new year's
    holiday file arrives and the provisional deadlines that ran into that year become firm).
    Lists every result version whose due date or provisional mark changed; a long list comes
    in several parts of one change (`part` of `parts`).
    """

    rules_version: str
    years: list[int]
    """Calendar years whose working days changed."""
    changes: list[DeadlineChange]
    part: int = Field(default=1, ge=1)
    parts: int = Field(default=1, ge=1)
    changed_at: datetime


# ---- 掌上查: the inspector's tasks, drafts awaiting confirmation, the check code -------------


class DraftState(StrEnum):
    """States of a result draft."""

    AWAITING = "awaiting"  # some team members have not confirmed yet
    ACCEPTED = "accepted"  # every member confirmed: it is a result version now
    RETURNED = "returned"  # a member sent it back (`reason`); it may be submitted again
    REPLACED = "replaced"  # a newer submission (or a result entered otherwise) took its place


class ResultDraft(Contract):
    """An inspector's result waiting for the other team members' confirmations (待确认).

    Answered with 202 by `POST /results` when an inspector submits and other members of the
    team have not confirmed; not a result yet, no event is sent. Each other member reads it
    (`GET /tasks/{task_id}`) and confirms it with their own sign-in, naming `draft_id` and
    `content_sha256`, so they confirm exactly what they read.

    `content_sha256`: hex SHA-256 of the canonical submission: `submission` as JSON without
    `confirmations`, `idempotency_key` and attachments' `content_base64`, keys sorted, no
    whitespace (`separators=(",", ":")`), non-ASCII characters as themselves, UTF-8.
    `submission` is given in full by `GET /tasks/{task_id}` and the submit reply, and left out
    of task lists.
    """

    draft_id: str
    task_id: str
    content_sha256: str
    submitted_by: str
    confirmed_by: list[Confirmation]
    awaiting: list[str]
    created_at: datetime
    state: DraftState = DraftState.AWAITING
    closed_at: datetime | None = None
    closed_by: str | None = None
    reason: str | None = None
    """Why it was returned, or what replaced it."""
    result_id: str | None = None
    version: int | None = None
    """The result version it became (state `accepted`)."""
    submission: ResultSubmission | None = None


class DraftConfirm(Contract):
    """`POST /tasks/{task_id}/draft/confirm`: a team member confirms the draft they read."""

    draft_id: str
    content_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class DraftReturn(Contract):
    """`POST /tasks/{task_id}/draft/return`: a team member sends the draft back, saying why."""

    draft_id: str
    reason: str = Field(max_length=1000)


class TaskStatus(StrEnum):
    """Where a task stands, as the phone shows it."""

    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"  # the visit was started (开始检查)
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # a draft waits for team members
    RESULT_RECORDED = "result_recorded"  # its latest result version is not public yet
    PUBLISHED = "published"  # its latest result version is public
    MERGED = "merged"  # absorbed by a later visit (`merged_into`): takes no result
    SUPERSEDED = "superseded"  # its draw was redrawn before any result: nothing to do
    CANCELLED = "cancelled"  # called off with a reason before any result (`TaskCancelled`)


class ResultSummary(Contract):
    """The latest version of a task's result, in short."""

    result_id: str
    version: int
    check_date: date
    due_date: date
    published_at: datetime | None = None


class TaskCard(Contract):
    """`GET /tasks`: one task as the inspector's phone lists it (its due date is
    `period_end`; `overdue`: that day has passed and no result is recorded)."""

    task_id: str
    draw_id: str
    plan_id: str
    batch: int
    uscc: str
    entity_name: str
    region_code: str
    departments: list[str]
    lead_department: str
    items: list[TaskItem]
    methods: list[str]
    team: list[str]
    """Inspector ids; names and certificates come from the registry."""
    period_start: date
    period_end: date
    status: TaskStatus
    overdue: bool
    started_at: datetime | None = None
    merged_into: str | None = None
    latest_result: ResultSummary | None = None
    pending_draft: ResultDraft | None = None
    """The draft awaiting confirmation, without its submission."""
    kind: str = "random"
    """`triggered` (触发检查): opened on a trigger, not drawn; `trigger` says which."""
    trigger: str | None = None


class RecordedItem(ItemResult):
    """An item result as stored: its category as the code, with the category's name."""

    category_name: str


class ResultVersion(Contract):
    """One stored version of a task's result, as recorded."""

    result_id: str
    version: int
    supersedes: int | None = None
    correction_reason: str | None = None
    submitted_by: str
    check_date: date
    due_date: date
    due_date_provisional: bool = False
    method: str
    items: list[RecordedItem]
    violation: bool
    confirmations: list[Confirmation]
    attachments: list[Attachment]
    follow_up: FollowUp | None = None
    representative: RepresentativeConfirmation | None = None
    method_record: MethodRecord | None = None
    """None for results recorded before the method's record was asked for."""
    accepted_at: datetime
    published_at: datetime | None = None


class TaskDetail(TaskCard):
    """`GET /tasks/{task_id}`: the card with every result version (oldest first) and the
    pending draft in full (its `submission`), for the member who confirms it."""

    results: list[ResultVersion] = []
    commissions: list[Commission] = []
    """Items handed to outside bodies (委托检验检测、财务审计), with their reports."""
    follow_up: FollowUpState | None = None
    """What the latest result led to since: its referrals' acknowledgements and outcomes and
    the re-check of its order to correct (None: no result yet)."""


class PublicTaskItem(Contract):
    """An item of a public task."""

    code: str
    name: str


class PublicTask(Contract):
    """`GET /public/tasks/{task_id}.json` (检查码): what anyone scanning a task's check code may
    verify — the task, the entity, its items and the inspectors sent (ids; names and
    certificate numbers come from the registry)."""

    task_id: str
    entity_name: str
    uscc: str
    items: list[PublicTaskItem]
    team: list[str]
    period_start: date
    period_end: date
    status: TaskStatus


class ResultCategoryInfo(Contract):
    """One category of the national result table, as forms offer it (`parent` nests the
    detailed categories under their group)."""

    code: str
    name: str
    parent: str | None = None
    violation: bool


class ResultCategoryList(Contract):
    """`GET /public/result-categories.json`: the categories results are recorded in."""

    version: str
    categories: list[ResultCategoryInfo]


SubmissionOutcome.model_rebuild()  # it names ResultDraft, defined after it


# ---- the public site's reads (一公开): paged, filterable, no token ------------------------------


class NoticeProgress(StrEnum):
    """How far a public task has come (任务公告's 进度)."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    RESULT_RECORDED = "result_recorded"
    MERGED = "merged"  # absorbed by a later visit to the same entity (进一次门、查多项事)
    CANCELLED = "cancelled"  # called off before its visit (取消任务)


class TaskNoticeRow(Contract):
    """A task as the public reads it (任务公告): entity, items, authority, period, progress,
    and the draw that chose it (`draw_superseded_by` when that draw was redrawn)."""

    task_id: str
    draw_id: str
    plan_id: str
    plan_title: str | None = None
    plan_year: int | None = None
    uscc: str
    entity_name: str
    region_code: str
    departments: list[str]
    items: list[TaskItem]
    period_start: date
    period_end: date
    progress: NoticeProgress
    merged_into: str | None = None
    draw_superseded_by: str | None = None
    kind: str = "random"
    """`triggered` (触发检查): opened on a trigger, not drawn (no draw, no plan)."""
    trigger: str | None = None
    """A triggered task's trigger code (contracts.triggered.Trigger); its evidence reference is
    never public."""


class TaskNoticePage(Contract):
    """`GET /public/notices/tasks.json`: one page of tasks, newest period first."""

    total: int
    offset: int
    limit: int
    tasks: list[TaskNoticeRow]


class ResultNoticeItem(Contract):
    """An item's published outcome, with the item's and the category's names."""

    item_code: str
    item_name: str
    category: str
    category_name: str
    problems: str = ""


class ResultNoticeVersion(Contract):
    """An earlier published version of a result (更正记录)."""

    version: int
    published_at: datetime
    categories: list[str]
    """The category names of that version."""
    correction_reason: str | None = None


class ResultNoticeRow(Contract):
    """A published result as the public reads it (结果公告): the latest published version, with
    the earlier published ones as its history, and what the check led to (`follow_up`)."""

    result_id: str
    version: int
    task_id: str
    draw_id: str
    plan_id: str
    uscc: str
    entity_name: str
    region_code: str
    departments: list[str]
    check_date: date
    due_date: date
    due_date_provisional: bool = False
    published_at: datetime
    violation: bool
    items: list[ResultNoticeItem]
    follow_up: FollowUp | None = None
    correction_reason: str | None = None
    history: list[ResultNoticeVersion] = []


class ResultNoticePage(Contract):
    """`GET /public/notices/results.json`: one page of published results, newest first."""

    total: int
    offset: int
    limit: int
    results: list[ResultNoticeRow]


class PlanNoticeItem(Contract):
    """An item of an approved plan."""

    code: str
    name: str
    department: str
    kind: str


class PlanNoticeRow(Contract):
    """An approved plan (计划公告) with its items and the draws made for it."""

    plan_id: str
    year: int
    title: str
    departments: list[str]
    approved_at: datetime
    strata: int
    rules_version: str
    items: list[PlanNoticeItem]
    draws: list[str] = []
    """Draw ids of the plan, newest first (a redrawn one stays, marked on its page)."""


class PlanNoticePage(Contract):
    """`GET /public/notices/plans.json`: one page of approved plans, newest first."""

    total: int
    offset: int
    limit: int
    plans: list[PlanNoticeRow]


class CompanyMatch(Contract):
    """A market entity found by the public search, with how often it was drawn."""

    uscc: str
    entity_name: str
    region_code: str
    tasks: int
    results: int
    """Published results (latest versions)."""
    last_period_end: date


class CompanyPage(Contract):
    """`GET /public/companies.json?q=`: entities with public records whose name contains `q`
    or whose USCC starts with it."""

    total: int
    offset: int
    limit: int
    companies: list[CompanyMatch]


class CompanyHistory(Contract):
    """`GET /public/companies/{uscc}.json`: an entity's inspection history (its tasks, newest
    first, and its published results with their corrections and follow-up). Empty lists, not
    404, for an entity never drawn: that is an answer too."""

    uscc: str
    entity_name: str | None = None
    region_code: str | None = None
    tasks: list[TaskNoticeRow]
    results: list[ResultNoticeRow]


class NoticeOption(Contract):
    """A value a public filter offers: its code, name and (for items) department."""

    code: str
    name: str = ""
    department: str = ""


class PublicOverview(Contract):
    """`GET /public/overview.json?year=`: a year's figures (home page) and the values the
    notices' filters offer."""

    year: int
    years: list[int]
    plans: int
    draws: int
    tasks: int
    """The draws' tasks (随机抽查) only."""
    triggered_tasks: int = 0
    """Triggered tasks (触发检查), counted apart."""
    results: int
    violations: int
    departments: list[str]
    regions: list[str]
    items: list[NoticeOption]
    categories: list[NoticeOption]


# ---- statistics for the console's leaders' page (GET /stats/tasks) --------------------------


class TaskTally(Contract):
    """The tasks of one department or one inspector in a year. A task counts once it is live:
    merged tasks (absorbed by a later visit) and the tasks of a redrawn draw without a result
    are left out. Completed: a result is recorded; overdue: the period ended before today and
    no result is recorded; entities: distinct entities with a recorded result."""

    key: str
    tasks: int
    completed: int
    overdue: int
    entities: int


class RegionTally(Contract):
    """Distinct entities with a recorded result in one region (区划代码)."""

    region_code: str
    entities: int


class ItemProblems(Contract):
    """One item's checks in the latest result versions: how many, and how many found a problem
    (a category that counts as a violation)."""

    item_code: str
    item_name: str
    checked: int
    problems: int


class IndustryProblems(Contract):
    """The results recorded for one industry (GB/T 4754-2017 code as the task carries it, e.g.
    `C1311`; `""`: tasks that carry none) — each task's latest result version — and how many
    found a problem (some item's category counts as a violation)."""

    industry_code: str
    results: int
    problems: int


class RiskClassTally(Contract):
    """Distinct entities with a recorded result in one credit risk class, the class the task
    carries (the entity's when the draw made it; `""`: not classified, or a task that carries
    none). An entity whose tasks carry two classes counts in each."""

    risk_class: str
    entities: int


class Timeliness(Contract):
    """Results (each result's first version) against their publication deadline (`due_date`,
    20 working days after the check): published by it, published after it, not yet published
    with the deadline passed, not yet published with time left. Days are China's."""

    results: int
    on_time: int
    late: int
    overdue: int
    pending: int


class TaskStats(Contract):
    """`GET /stats/tasks?year=&region=&department=`: a year's tasks (by the start of their
    period) and results, as the publisher holds them. Industry and risk class are the ones each
    task came with (`task.assigned`)."""

    year: int
    region: str | None = None
    department: str | None = None
    kind: str = "random"
    """Whose figures these are: `random` (the draws' tasks) or `triggered` (触发检查); the two
    are never counted together."""
    tasks: int
    completed: int
    overdue: int
    entities_tasked: int
    entities_checked: int
    by_department: list[TaskTally]
    by_inspector: list[TaskTally]
    by_region: list[RegionTally]
    timeliness: Timeliness
    by_item: list[ItemProblems]
    by_industry: list[IndustryProblems] = []
    by_risk_class: list[RiskClassTally] = []


class CommissionKind(StrEnum):
    """What an outside body is commissioned to do for an item (委托): a test of samples by a
    qualified testing body (委托检验检测) or an audit of the books (委托财务审计)."""

    TEST = "test"
    AUDIT = "audit"


class CommissionConclusion(StrEnum):
    """The returned report's conclusion: conforming (合格 / 未发现问题) or not (不合格 /
    发现问题). The item's result category must agree with it (`Commission.allowed_categories`)."""

    CONFORMING = "conforming"
    NONCONFORMING = "nonconforming"


class CommissionOpening(Contract):
    """`POST /tasks/{task_id}/commissions`: an item of the task handed to a qualified outside
    body. The item's result waits for its report."""

    item_code: str = Field(min_length=1, max_length=50)
    kind: CommissionKind = CommissionKind.TEST
    body_name: str = Field(min_length=1, max_length=100)
    """The body's name (受托机构名称)."""
    qualification_no: str = Field(min_length=1, max_length=64)
    """Its qualification (资质认定证书编号, CMA; for an audit the firm's 执业证书编号)."""
    subject: str = Field(min_length=1, max_length=500)
    """The sample or the engagement (样品名称、规格、批号，或审计事项)."""
    commissioned_on: date


class CommissionReporting(Contract):
    """`POST /commissions/{commission_id}/report`: the body's report (uploaded first through
    `POST /attachments`) and its conclusion."""

    report: Attachment
    conclusion: CommissionConclusion
    reported_on: date
    note: str = Field(default="", max_length=500)


class Commission(Contract):
    """One commissioned item of a task, and the body of events
    `spotcheck.v1.publisher.commission.opened` and `…commission.reported`."""

    commission_id: str
    task_id: str
    item_code: str
    kind: CommissionKind
    body_name: str
    qualification_no: str
    subject: str
    commissioned_on: date
    opened_by: str
    opened_at: datetime
    report: Attachment | None = None
    conclusion: CommissionConclusion | None = None
    reported_on: date | None = None
    reported_by: str | None = None
    note: str = ""
    allowed_categories: list[str] = []
    """The result categories the conclusion allows for the item (empty until reported)."""


class CancelReason(StrEnum):
    """Why a task is called off before its visit (取消任务): the entity is gone from the market
    (注销, 吊销或撤销, 迁出), has closed (已关闭停业或正在组织清算), or another reason, said in a
    note."""

    DEREGISTERED = "deregistered"
    REVOKED = "revoked"
    CLOSED = "closed"
    MOVED_OUT = "moved_out"
    OTHER = "other"


class TaskCancellation(Contract):
    """`POST /tasks/{task_id}/cancel`: why (and, for `other`, a note saying what)."""

    reason: CancelReason
    note: str = Field(default="", max_length=500)


class TaskCancelled(Contract):
    """Reply to a cancellation, and event `spotcheck.v1.publisher.task.cancelled`.

    The task takes no visit and no result any more and is not overdue; the draw stops counting
    it as a visit (frequency windows) and never merges into it."""

    task_id: str
    draw_id: str
    reason: CancelReason
    note: str = ""
    cancelled_by: str
    cancelled_at: datetime


# ---- follow-up after a finding (后续处置): findings, referrals, the re-check of an order ----


class FindingKind(StrEnum):
    """Why a finding is told to other agencies."""

    LICENSING_FEEDBACK = "licensing_feedback"  # 准入审批环节反馈
    JOINT_PUNISHMENT = "joint_punishment"  # 联合惩戒


class Finding(Contract):
    """`spotcheck.v1.publisher.finding.licensing_feedback` and
    `spotcheck.v1.publisher.finding.joint_punishment`: one finding (an item of one result
    version) that registration/approval (准入审批环节反馈: the item's category is fed back, or the
    inspectors marked the problem rooted at approval) or the agencies of joint punishment
    (联合惩戒: the category is one of `result_categories.json`'s `joint_punishment`) act on.

    One message per (result version, item, kind); its id is
    `<result_id>:v<version>:<kind>:<item_code>`. A correction sends its own findings under a
    higher `version`: keep the highest per (`result_id`, `item_code`); a correction with no
    such finding any more sends none, so read `result.published` for the withdrawal."""

    kind: FindingKind
    result_id: str
    version: int
    task_id: str
    uscc: str
    entity_name: str
    region_code: str
    departments: list[str]
    item_code: str
    item_name: str
    category: str
    category_name: str
    problems: str = ""
    rooted_at_approval: bool = False
    legal_basis: str = ""
    """The item's legal basis as the item catalogue names it (empty for tasks of plans
    approved before plans carried it)."""
    check_date: date


class ReferralAcknowledgement(Contract):
    """`POST /referrals/{referral_id}/acknowledgement`: the receiving body took the case
    (已受理), under its case number."""

    receiver: str = Field(min_length=1, max_length=200)
    """The receiving body, e.g. 景德镇市市场监督管理局案件审理科, 景德镇市公安局昌江分局."""
    received_at: datetime
    case_number: str = Field(min_length=1, max_length=100)


class ReferralConclusion(Contract):
    """`POST /referrals/{referral_id}/outcome`: how the case ended (办结)."""

    outcome: str = Field(min_length=1, max_length=1000)
    """E.g. 罚款5000元并责令改正, 不予立案, 不起诉, 判决有罪."""
    decided_at: date
    penalty: str | None = Field(default=None, max_length=1000)
    """The penalty imposed, when there is one (行政处罚决定书文号 and content)."""
    case_number: str | None = Field(default=None, max_length=100)


class ReferralAcknowledged(ReferralAcknowledgement):
    """`cases.v1.referral.acknowledged`, published by case handling or a judicial organ's
    system: the referral of `referral_id` (from `referral.created`) was received."""

    referral_id: str = Field(min_length=1, max_length=200)


class ReferralConcluded(ReferralConclusion):
    """`cases.v1.referral.concluded`, published by the receiving body's system: the case of
    `referral_id` ended. `receiver` names who decided."""

    referral_id: str = Field(min_length=1, max_length=200)
    receiver: str = Field(min_length=1, max_length=200)


class ReferralStatus(StrEnum):
    """Where a referral stands: 已移送, 已受理（案号）, 办结（结果）."""

    REFERRED = "referred"
    ACKNOWLEDGED = "acknowledged"
    CONCLUDED = "concluded"


class ReferralState(Contract):
    """A referral (移送) as the publisher holds it, and the body of the events
    `spotcheck.v1.publisher.referral.acknowledged` / `referral.concluded`."""

    referral_id: str
    result_id: str
    version: int
    task_id: str
    to: Literal["case_handling", "judicial"] = "case_handling"
    status: ReferralStatus
    receiver: str | None = None
    case_number: str | None = None
    received_at: datetime | None = None
    outcome: str | None = None
    decided_at: date | None = None
    penalty: str | None = None
    updated_by: str | None = None
    """Who recorded the last change: a user over HTTP, or `nats:<event id>`."""


class RectificationCheck(Contract):
    """`POST /results/{result_id}/rectification`: the re-check of an order to correct
    (责令整改 复查) — on which day, whether it was corrected, what was seen.

    `recheck_task_id` names the re-check task (复查) once the draw opens them; for now
    optional and not checked against tasks."""

    checked_on: date
    rectified: bool
    note: str = Field(default="", max_length=2000)
    recheck_task_id: str | None = Field(default=None, max_length=100)


class RectificationChecked(RectificationCheck):
    """`spotcheck.v1.publisher.rectification.checked` and the stored re-check: the order of
    result `result_id` (version `version`, due `rectify_by`) re-checked."""

    result_id: str
    version: int
    task_id: str
    uscc: str
    rectify_by: date
    checked_by: str
    recorded_at: datetime


class RectificationEntry(Contract):
    """`GET /rectifications`: an order to correct of a result's latest version, its deadline,
    and its re-check when one is recorded; `overdue`: the deadline passed with none."""

    result_id: str
    version: int
    task_id: str
    uscc: str
    entity_name: str
    departments: list[str]
    rectify_by: date
    rectification: str
    overdue: bool
    check: RectificationChecked | None = None


class FollowUpState(Contract):
    """What a task's latest result led to, on its task (`GET /tasks/{task_id}`)."""

    result_id: str
    version: int
    rectify_by: date | None = None
    rectification: str = ""
    rectification_overdue: bool = False
    rectification_check: RectificationChecked | None = None
    referrals: list[ReferralState] = []
    """Every version's referral, oldest first."""


TaskDetail.model_rebuild()


class PlatformReceipt(Contract):
    """`GET /platforms/receipts`: a platform's receipt of a plan as the publisher read it and
    relayed it to the planner (`applied`), or as the planner refused it (`refused`, with why)."""

    platform: str
    ack_id: str
    plan_id: str
    kind: Literal["entered", "filed"]
    acknowledged_on: date
    source: str
    """The file (or URL) it was read from."""
    line: int
    state: Literal["applied", "refused"]
    reason: str | None = None
    flags: list[str] = []
    """The plan's filing flags after it (applied)."""
    recorded_at: datetime
