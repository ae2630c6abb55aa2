"""Follow-up after a finding (后续处置): a referral's acknowledgement and outcome, the re-check of
an order to correct (pure).

A referral (移送) is made when a result version is accepted (its `referral` delivery,
`referral.created`); the receiving body then says it took the case (已受理, under its case
number) and later how the case ended (办结). Either may arrive twice — a system publishing at
least once, a person pressing twice — so the same fact again is a repeat that changes nothing,
while a different fact over a recorded one is refused (409): a case number or an outcome is
not rewritten silently. An outcome may come without an acknowledgement (a body that only
reports the end); it implies the receipt.

An order to correct (责令整改, `follow_up.rectify_by` of the latest version) is re-checked once
(复查): on or after the check, not in the future; the re-check task (a triggered 复查 task of
the draw, later) is named by `recheck_task_id` when there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from contracts.publisher import (
    RectificationCheck,
    ReferralAcknowledgement,
    ReferralConclusion,
    ReferralStatus,
)
from services.kit.errors import Conflict, Invalid, NotFound
from services.publisher.domain.result_parts import reason

_REFERRAL_ID = re.compile(r"^(?P<result_id>.+):v(?P<version>[1-9][0-9]{0,8})$")


def parse_referral_id(referral_id: str) -> tuple[str, int]:
    """The result version a referral id (`<result_id>:v<version>`, as `referral.created`
    gives it) names; 404 for anything else (no such referral can exist)."""
    m = _REFERRAL_ID.match(referral_id)
    if m is None:
        raise NotFound(f"no referral {referral_id}", code="referral_unknown")
    return m["result_id"], int(m["version"])


@dataclass(frozen=True, slots=True)
class ReferralRecord:
    """What the receiving body said of one referral (a row of `referrals`)."""

    referral_id: str
    result_id: str
    version: int
    receiver: str | None = None
    case_number: str | None = None
    received_at: datetime | None = None
    acknowledged_by: str | None = None
    outcome: str | None = None
    decided_at: date | None = None
    penalty: str | None = None
    concluded_by: str | None = None

    @property
    def status(self) -> ReferralStatus:
        """办结 once an outcome is known, 已受理 once acknowledged, else 已移送."""
        if self.outcome is not None:
            return ReferralStatus.CONCLUDED
        if self.received_at is not None:
            return ReferralStatus.ACKNOWLEDGED
        return ReferralStatus.REFERRED


def acknowledge(
    current: ReferralRecord, ack: ReferralAcknowledgement, *, by: str
) -> ReferralRecord | None:
    """The record with this acknowledgement, or None when it repeats the recorded one; 409 when
    another acknowledgement (receiver, case number or day) was recorded."""
    if current.received_at is not None:
        if (current.receiver, current.case_number, current.received_at) == (
            ack.receiver,
            ack.case_number,
            ack.received_at,
        ):
            return None
        raise Conflict(
            f"referral {current.referral_id} was already acknowledged by {current.receiver} "
            f"under case number {current.case_number}",
            code="referral_already_acknowledged",
            details=[
                reason(
                    ["case_number"],
                    "the referral's acknowledgement is recorded and differs",
                    "referral_already_acknowledged",
                    f"该移送已由{current.receiver}受理（案号{current.case_number}），不能另行登记",
                )
            ],
        )
    return replace(
        current,
        receiver=ack.receiver,
        case_number=ack.case_number,
        received_at=ack.received_at,
        acknowledged_by=by,
    )


def conclude(
    current: ReferralRecord, end: ReferralConclusion, *, receiver: str | None, by: str
) -> ReferralRecord | None:
    """The record with this outcome, or None when it repeats the recorded one; 409 when
    another outcome was recorded, or when its case number is not the acknowledged one."""
    if current.outcome is not None:
        if (current.outcome, current.decided_at, current.penalty) == (
            end.outcome,
            end.decided_at,
            end.penalty,
        ):
            return None
        raise Conflict(
            f"referral {current.referral_id} already has its outcome ({current.outcome})",
            code="referral_already_concluded",
            details=[
                reason(
                    ["outcome"],
                    "the referral's outcome is recorded and differs",
                    "referral_already_concluded",
                    f"该移送已办结（{current.outcome}），不能另行登记结果",
                )
            ],
        )
    if (
        end.case_number is not None
        and current.case_number is not None
        and end.case_number != current.case_number
    ):
        raise Conflict(
            f"case number {end.case_number} is not the one referral {current.referral_id} "
            f"was acknowledged under ({current.case_number})",
            code="referral_case_number_differs",
            details=[
                reason(
                    ["case_number"],
                    "not the acknowledged case number",
                    "referral_case_number_differs",
                    f"案号与受理时登记的案号（{current.case_number}）不一致",
                )
            ],
        )
    return replace(
        current,
        receiver=current.receiver or receiver,
        case_number=current.case_number or end.case_number,
        outcome=end.outcome,
        decided_at=end.decided_at,
        penalty=end.penalty,
        concluded_by=by,
    )


@dataclass(frozen=True, slots=True)
class OrderToCorrect:
    """The order to correct of a result's latest version, as stored."""

    result_id: str
    version: int
    task_id: str
    check_date: date
    rectify_by: date | None


def check_rectification(
    order: OrderToCorrect, check: RectificationCheck, *, today: date
) -> list[dict[str, Any]]:
    """Reasons to refuse this re-check of the order (none: it may be recorded). A result
    with no order to correct is refused as a whole (409, raised)."""
    if order.rectify_by is None:
        raise Conflict(
            f"result {order.result_id} v{order.version} gave no order to correct",
            code="no_rectification_ordered",
            details=[
                reason(
                    ["result_id"],
                    "the latest result version has no follow_up.rectify_by",
                    "no_rectification_ordered",
                    "该检查结果未责令整改，无需复查",
                )
            ],
        )
    reasons = []
    if check.checked_on < order.check_date:
        reasons.append(
            reason(
                ["checked_on"],
                f"the re-check ({check.checked_on}) cannot be before the check "
                f"({order.check_date})",
                "checked_before_check",
                "复查日期不能早于检查日期",
            )
        )
    if check.checked_on > today:
        reasons.append(
            reason(
                ["checked_on"],
                f"the re-check date {check.checked_on} is in the future",
                "checked_in_future",
                "复查日期不能晚于今天",
            )
        )
    if not check.rectified and not check.note.strip():
        reasons.append(
            reason(
                ["note"],
                "a re-check that found the order not carried out says what was seen",
                "note_missing",
                "未整改到位须写明复查情况",
            )
        )
    return reasons


def refuse(reasons: list[dict[str, Any]], what: str) -> None:
    """Raise 422 with every reason, when there are any."""
    if reasons:
        raise Invalid(f"{what} refused", code="invalid", details=reasons)


def rectification_overdue(rectify_by: date | None, *, checked: bool, today: date) -> bool:
    """The deadline to correct has passed and no re-check is recorded."""
    return rectify_by is not None and not checked and rectify_by < today
