"""Publisher contracts: result submissions and the result events other agencies read."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from contracts.base import Contract


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


class Confirmation(Contract):
    """An assigned inspector confirms the result."""

    inspector_id: str
    confirmed_at: datetime


class Attachment(Contract):
    """Evidence stored in the object store bucket `EVIDENCE_BUCKET` under its SHA-256.

    Either uploaded first (`POST /attachments`, which answers with sha256 and size) and
    referenced here, or given inline as `content_base64` (batch files); inline content must
    hash to `sha256`.
    """

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    content_type: str = "application/octet-stream"
    content_base64: str | None = None


class ResultSubmission(Contract):
    """What inspectors submit for a task (检查结果).

    `method` is how the check was done: a code (`on_site`, `documents`, `online`,
    `commissioned`) or its Chinese name (实地核查、书面检查、网络监测、委托检验检测); it must be
    one of the task's `methods` (e.g. class-A tasks allow no proactive on-site visit). The
    publisher stores and publishes the code.

    A correction names the version it corrects (`corrects_version`, which must be the latest)
    and gives a reason; it becomes a new version, the old one stays.
    """

    task_id: str
    check_date: date
    method: str
    items: list[ItemResult] = Field(min_length=1)
    confirmations: list[Confirmation]
    attachments: list[Attachment] = []
    corrects_version: int | None = None
    correction_reason: str | None = None


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
    """One line of a batch submission's report: accepted, or refused with every reason."""

    index: int
    task_id: str | None = None
    accepted: ResultAccepted | None = None
    error: dict[str, object] | None = None


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
