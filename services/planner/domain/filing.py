"""A plan's filing as the 监督平台 acknowledges it: which dates hold, what flags follow.

The notice wants each annual plan filed with the government by the end of February and entered
into the platform by 31 March (`plan.filing_flags`). At submission the planner only has the
dates the planner typed (or none); the platform's acknowledgement is the record of when the
plan really arrived, so its date replaces the typed one and the flags are computed again.
An acknowledgement cannot come before the plan was approved (there was nothing to send) nor
after today (a clock or a mapping is wrong).
"""

from __future__ import annotations

from datetime import date

from services.kit.errors import Invalid
from services.planner.domain.plan import dated_flags


def check_ack(*, acknowledged_on: date, approved_on: date, today: date) -> None:
    """Refuse an acknowledgement dated before the plan's approval or after today."""
    if acknowledged_on < approved_on:
        raise Invalid(
            f"acknowledged_on {acknowledged_on} is before the plan was approved ({approved_on})"
            f" / 回执日期 {acknowledged_on} 早于计划批准日期 {approved_on}",
            code="ack_before_approval",
            details=[{"loc": ["body", "acknowledged_on"], "msg": "before the plan's approval"}],
        )
    if acknowledged_on > today:
        raise Invalid(
            f"acknowledged_on {acknowledged_on} is after today ({today})"
            f" / 回执日期 {acknowledged_on} 晚于今天（{today}）",
            code="ack_in_future",
            details=[{"loc": ["body", "acknowledged_on"], "msg": "after today"}],
        )


def acknowledged_flags(
    *,
    year: int,
    submitted: tuple[date | None, date | None],
    submitted_on: date,
    acknowledged: tuple[date | None, date | None],
) -> tuple[date | None, date, list[str]]:
    """The dates that hold and their flags, `(filed_on, entered_on, flags)`: an acknowledged
    date over the one submitted, and the day of submission when neither gave the entry date.
    `submitted` and `acknowledged` are each `(filed_on, entered_on)`."""
    filed = acknowledged[0] or submitted[0]
    entered = acknowledged[1] or submitted[1] or submitted_on
    return filed, entered, dated_flags(year, filed_on=filed, entered_on=entered)
