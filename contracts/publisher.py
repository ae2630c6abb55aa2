"""Publisher contracts: result submissions and the result events other agencies read."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from contracts.base import Contract


class ItemResult(Contract):
    """The outcome for one item of a task, in a category of the national disclosure system."""

    item_code: str
    category: str
    problems: str = ""


class Confirmation(Contract):
    """An assigned inspector confirms the result."""

    inspector_id: str
    confirmed_at: datetime


class Attachment(Contract):
    """Evidence stored in the object store bucket `EVIDENCE_BUCKET` under its SHA-256."""

    name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    content_type: str = "application/octet-stream"


class ResultSubmission(Contract):
    """What inspectors submit for a task (检查结果)."""

    task_id: str
    check_date: date
    method: str
    items: list[ItemResult] = Field(min_length=1)
    confirmations: list[Confirmation]
    attachments: list[Attachment] = []
    corrects_version: int | None = None


class ResultPublished(Contract):
    """`spotcheck.v1.publisher.result.published.<region>.<dept>`: a public result (结果公告)."""

    result_id: str
    version: int
    task_id: str
    draw_id: str
    plan_id: str
    uscc: str
    entity_name: str
    region_code: str
    departments: list[str]
    items: list[ItemResult]
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
    uscc: str
    entity_name: str
    departments: list[str]
    items: list[ItemResult]
    check_date: date
