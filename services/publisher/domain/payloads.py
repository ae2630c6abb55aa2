"""What each destination receives for one accepted result version (pure)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Literal

from contracts import subjects
from contracts.publisher import (
    CreditFeedback,
    Finding,
    FindingKind,
    ItemResult,
    LicensingFeedback,
    PublishedItem,
    ReferralCreated,
    ResultPublished,
    ResultSubmission,
)
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.delivery import Destination, destinations_for, idempotency_key
from services.publisher.domain.platforms import result_record, result_rows
from services.publisher.domain.validation import CheckedResult

_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")

Delivery = tuple[str, str, str | None, dict[str, Any]]  # destination, key, subject, body


def result_id_of(task_id: str) -> str:
    """A task has one result (in versions); its id is derived so a retry cannot fork it."""
    return f"R-{task_id}"


def subject_token(value: str) -> str:
    """A subject token for a region or department code; unusual codes become a stable hash."""
    if _TOKEN.match(value):
        return value
    return "h" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def normalised_items(
    sub: ResultSubmission, checked: CheckedResult, categories: CategoryTable
) -> list[ItemResult]:
    """The submitted items with their categories as codes."""
    return [
        item.model_copy(update={"category": code})
        for item, code in zip(sub.items, checked.category_codes, strict=True)
    ]


def build_deliveries(
    sub: ResultSubmission,
    checked: CheckedResult,
    *,
    categories: CategoryTable,
    accepted_at: datetime,
    platforms: Sequence[str] = (),
    disclosing: Collection[str] = frozenset(),
) -> list[Delivery]:
    """One outbox row per destination, each with its idempotency key and body; and one per
    outside platform taking results (`platforms`, their ids), carrying spotcheck's record
    (those of `disclosing` marked as disclosures: the deadline waits for them)."""
    task = checked.task
    rid = result_id_of(task.task_id)
    items = normalised_items(sub, checked, categories)
    published = ResultPublished(
        result_id=rid,
        version=checked.version,
        supersedes=checked.supersedes,
        correction_reason=sub.correction_reason,
        task_id=task.task_id,
        draw_id=task.draw_id,
        plan_id=task.plan_id,
        uscc=task.uscc,
        entity_name=task.entity_name,
        region_code=task.region_code,
        departments=list(task.departments),
        items=[
            PublishedItem(
                item_code=i.item_code,
                category=i.category,
                category_name=categories.by_code[i.category].name,
                problems=i.problems,
            )
            for i in items
        ],
        method=checked.method,
        check_date=sub.check_date,
        published_at=accepted_at,
        violation=checked.violation,
    )
    out: list[Delivery] = []
    for dest in destinations_for(
        referral=checked.referral,
        credit_feedback=checked.credit_feedback,
        licensing_feedback=checked.licensing_feedback,
    ):
        key = idempotency_key(rid, checked.version, dest)
        subject: str | None
        body: dict[str, Any]
        if dest is Destination.DISCLOSURE:
            subject, body = None, published.model_dump(mode="json")
        elif dest is Destination.STREAM:
            subject = subjects.event(
                "publisher",
                "result.published",
                subject_token(task.region_code),
                subject_token(task.lead_department),
            )
            body = published.model_dump(mode="json")
        elif dest is Destination.CREDIT:
            subject = subjects.event("publisher", "credit.feedback")
            body = CreditFeedback(
                result_id=rid,
                version=checked.version,
                uscc=task.uscc,
                categories=list(checked.category_codes),
                violation=checked.violation,
                check_date=sub.check_date,
            ).model_dump(mode="json")
        elif dest is Destination.REFERRAL:
            subject = subjects.event("publisher", "referral.created")
            body = ReferralCreated(
                referral_id=f"{rid}:v{checked.version}",
                result_id=rid,
                version=checked.version,
                uscc=task.uscc,
                entity_name=task.entity_name,
                departments=list(task.departments),
                # The items whose category is referred; when the inspectors asked to refer
                # (follow_up.refer) a violation that is not referred by its category alone,
                # the violations.
                items=[i for i in items if categories.by_code[i.category].referral]
                or [i for i in items if categories.by_code[i.category].violation],
                check_date=sub.check_date,
                follow_up=sub.follow_up,
                to=referred_to(sub),
            ).model_dump(mode="json", exclude_none=True)
        else:
            subject = subjects.event("publisher", "licensing.feedback")
            body = LicensingFeedback(
                result_id=rid,
                version=checked.version,
                uscc=task.uscc,
                entity_name=task.entity_name,
                departments=list(task.departments),
                items=[
                    i
                    for i in items
                    if i.rooted_at_approval or categories.by_code[i.category].licensing_feedback
                ],
                check_date=sub.check_date,
            ).model_dump(mode="json")
        out.append((dest.value, key, subject, body))
    out += finding_deliveries(sub, checked, items, categories=categories)
    if platforms:
        record = result_record(published, task, categories)
        out += result_rows(
            record,
            result_id=rid,
            version=checked.version,
            platforms=platforms,
            disclosing=disclosing,
        )
    return out


def referred_to(sub: ResultSubmission) -> Literal["case_handling", "judicial"]:
    """The body a referral goes to: the judicial organs when the inspectors named them."""
    f = sub.follow_up
    return "judicial" if f is not None and f.refer_to == "judicial" else "case_handling"


def finding_kinds(item: ItemResult, categories: CategoryTable) -> list[FindingKind]:
    """Why other agencies hear of this item's finding: its category (the table's
    `licensing_feedback`, `joint_punishment`) or a problem rooted at approval."""
    cat = categories.by_code[item.category]
    kinds = []
    if cat.licensing_feedback or item.rooted_at_approval:
        kinds.append(FindingKind.LICENSING_FEEDBACK)
    if cat.joint_punishment:
        kinds.append(FindingKind.JOINT_PUNISHMENT)
    return kinds


_FINDING_DESTINATION = {
    FindingKind.LICENSING_FEEDBACK: Destination.LICENSING_FINDING,
    FindingKind.JOINT_PUNISHMENT: Destination.JOINT_PUNISHMENT,
}


def finding_deliveries(
    sub: ResultSubmission,
    checked: CheckedResult,
    items: list[ItemResult],
    *,
    categories: CategoryTable,
) -> list[Delivery]:
    """One outbox row per finding and kind: the entity, the item with the legal basis the
    catalogue names for it, the category."""
    task = checked.task
    rid = result_id_of(task.task_id)
    out: list[Delivery] = []
    for item in items:
        for kind in finding_kinds(item, categories):
            dest = _FINDING_DESTINATION[kind]
            body = Finding(
                kind=kind,
                result_id=rid,
                version=checked.version,
                task_id=task.task_id,
                uscc=task.uscc,
                entity_name=task.entity_name,
                region_code=task.region_code,
                departments=list(task.departments),
                item_code=item.item_code,
                item_name=task.item_names.get(item.item_code, ""),
                category=item.category,
                category_name=categories.by_code[item.category].name,
                problems=item.problems,
                rooted_at_approval=item.rooted_at_approval,
                legal_basis=task.legal_bases.get(item.item_code, ""),
                check_date=sub.check_date,
            )
            out.append(
                (
                    dest.value,
                    idempotency_key(rid, checked.version, dest, item_code=item.item_code),
                    subjects.event("publisher", f"finding.{kind.value}"),
                    body.model_dump(mode="json"),
                )
            )
    return out
