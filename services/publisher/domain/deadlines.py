"""Publication deadlines (企业信息公示暂行条例 Art. 6): public within 20 working days.

The last day to publish is the 20th working day after the check date; the check date itself is
not counted. Working days follow the Chinese calendar with its adjusted working days (调休: a
Saturday or Sunday that is a working day, a weekday that is a holiday), from the package
`chinese-calendar`, which knows a fixed range of years. A date outside that range is a clear
error, never a guess: the State Council publishes each year's holidays only in the preceding
November or December, and the package must be upgraded then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache

import chinese_calendar

from services.kit.errors import Invalid

WORKING_DAYS_TO_PUBLISH = 20
# A result is "at risk" when this many working days or fewer are left before its last day.
AT_RISK_WORKING_DAYS = 5


@cache
def known_years() -> tuple[int, int]:
    """First and last year the installed holiday calendar covers (read once: it is data)."""
    days = chinese_calendar.holidays.keys()
    return min(days).year, max(days).year


def _check_known(day: date) -> None:
    first, last = known_years()
    if not first <= day.year <= last:
        raise Invalid(
            f"the holiday calendar knows only the years {first}-{last}, not {day.year}; "
            "upgrade the package chinese-calendar once the State Council has published "
            f"the holidays of {day.year}",
            code="calendar_unknown",
            details=[
                {
                    "loc": ["date"],
                    "msg": f"year {day.year} is not in the calendar",
                    "type": "calendar_unknown",
                    "input": day.isoformat(),
                }
            ],
        )


def is_working_day(day: date) -> bool:
    """Whether `day` is a working day, including adjusted working days (调休上班)."""
    _check_known(day)
    return bool(chinese_calendar.is_workday(day))


@cache
def due_date_cached(check_date: date) -> date:
    """`due_date`, remembered: many results share a check date."""
    return add_working_days(check_date, WORKING_DAYS_TO_PUBLISH)


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (`start` itself is not counted); n ≥ 1."""
    if n < 1:
        raise ValueError("n must be at least 1")
    day = start
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def due_date(check_date: date) -> date:
    """The last day on which a result checked on `check_date` may be made public."""
    return due_date_cached(check_date)


def working_days_between(after: date, until: date) -> int:
    """Working days in (after, until]; negative when `until` is before `after`."""
    if until == after:
        return 0
    sign = 1
    if until < after:
        after, until, sign = until, after, -1
    count = 0
    day = after
    while day < until:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return sign * count


class DeadlineState(StrEnum):
    """Where a result stands against its publication deadline."""

    ON_TIME = "on_time"  # not yet public, plenty of time left
    AT_RISK = "at_risk"  # not yet public, AT_RISK_WORKING_DAYS or fewer left
    OVERDUE = "overdue"  # not yet public, the last day has passed
    PUBLISHED = "published"  # public on or before its last day
    PUBLISHED_LATE = "published_late"  # public, but after its last day


@dataclass(frozen=True, slots=True)
class Deadline:
    """A result's deadline as seen on a given day."""

    check_date: date
    due: date
    state: DeadlineState
    working_days_left: int  # working days in (today, due]; negative when overdue


def deadline(check_date: date, *, today: date, published_on: date | None = None) -> Deadline:
    """Classify a result against its deadline on `today` (or by its publication day)."""
    due = due_date(check_date)
    if published_on is not None:
        state = DeadlineState.PUBLISHED if published_on <= due else DeadlineState.PUBLISHED_LATE
        return Deadline(check_date, due, state, working_days_between(published_on, due))
    left = working_days_between(today, due)
    if today > due:
        state = DeadlineState.OVERDUE
    elif left <= AT_RISK_WORKING_DAYS:
        state = DeadlineState.AT_RISK
    else:
        state = DeadlineState.ON_TIME
    return Deadline(check_date, due, state, left)
