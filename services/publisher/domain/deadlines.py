"""Publication deadlines (企业信息公示暂行条例 Art. 6): public within 20 working days.

The last day to publish is the 20th working day after the check date; the check date itself is
not counted. Working days follow the Chinese calendar with its adjusted working days (调休: a
Saturday or Sunday that is a working day, a weekday that is a holiday): `workdays.Workdays`,
built from the rule set's holiday files over the package `chinese-calendar`'s data. A count
that runs into a year whose holidays are not yet published is still an answer, marked
provisional (weekends and statutory holidays only), never a refusal: an inspector's result is
always accepted, and its deadline is computed again when that year's holiday file arrives.

Every function takes the `Workdays` to count with; left out, the package's data alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from contracts.publisher import DeadlineChange, DeadlinesChanged
from services.publisher.domain.workdays import Workdays, default_workdays

WORKING_DAYS_TO_PUBLISH = 20
# A result is "at risk" when this many working days or fewer are left before its last day.
AT_RISK_WORKING_DAYS = 5


@dataclass(frozen=True, slots=True)
class Due:
    """The last day to publish, and whether a provisional year was counted to reach it."""

    day: date
    provisional: bool


def is_working_day(day: date, *, workdays: Workdays | None = None) -> bool:
    """Whether `day` is a working day, including adjusted working days (调休上班)."""
    return (workdays or default_workdays()).is_working_day(day)


def add_working_days(start: date, n: int, *, workdays: Workdays | None = None) -> date:
    """The n-th working day after `start` (`start` itself is not counted); n ≥ 1."""
    return count_working_days(start, n, workdays=workdays).day


def count_working_days(start: date, n: int, *, workdays: Workdays | None = None) -> Due:
    """The n-th working day after `start`, provisional when a day counted over lies in a year
    with no published schedule; n ≥ 1."""
    if n < 1:
        raise ValueError("n must be at least 1")
    cal = workdays or default_workdays()
    day = start
    counted = 0
    provisional = False
    while counted < n:
        day += timedelta(days=1)
        provisional = provisional or cal.is_provisional(day)
        if cal.is_working_day(day):
            counted += 1
    return Due(day, provisional)


@lru_cache(maxsize=8192)
def _due(check_date: date, workdays: Workdays) -> Due:
    # Many results share a check date; a Workdays is hashed by identity (one per calendar).
    return count_working_days(check_date, WORKING_DAYS_TO_PUBLISH, workdays=workdays)


def publication_due(check_date: date, *, workdays: Workdays | None = None) -> Due:
    """The last day on which a result checked on `check_date` may be made public."""
    return _due(check_date, workdays or default_workdays())


def due_date(check_date: date, *, workdays: Workdays | None = None) -> date:
    """`publication_due(...).day`: the last day to publish (provisional or not)."""
    return publication_due(check_date, workdays=workdays).day


def working_days_between(after: date, until: date, *, workdays: Workdays | None = None) -> int:
    """Working days in (after, until]; negative when `until` is before `after`."""
    if until == after:
        return 0
    cal = workdays or default_workdays()
    sign = 1
    if until < after:
        after, until, sign = until, after, -1
    count = 0
    day = after
    while day < until:
        day += timedelta(days=1)
        if cal.is_working_day(day):
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
    provisional: bool = False  # `due` counts days of a year whose holidays are unpublished


def deadline(
    check_date: date,
    *,
    today: date,
    published_on: date | None = None,
    workdays: Workdays | None = None,
) -> Deadline:
    """Classify a result against its deadline on `today` (or by its publication day)."""
    due = publication_due(check_date, workdays=workdays)
    if published_on is not None:
        state = DeadlineState.PUBLISHED if published_on <= due.day else DeadlineState.PUBLISHED_LATE
        left = working_days_between(published_on, due.day, workdays=workdays)
        return Deadline(check_date, due.day, state, left, due.provisional)
    left = working_days_between(today, due.day, workdays=workdays)
    if today > due.day:
        state = DeadlineState.OVERDUE
    elif left <= AT_RISK_WORKING_DAYS:
        state = DeadlineState.AT_RISK
    else:
        state = DeadlineState.ON_TIME
    return Deadline(check_date, due.day, state, left, due.provisional)


@dataclass(frozen=True, slots=True)
class StoredDeadline:
    """A result version's deadline as stored."""

    result_id: str
    version: int
    task_id: str
    check_date: date
    due: date
    provisional: bool


def restate(rows: Iterable[StoredDeadline], workdays: Workdays) -> list[DeadlineChange]:
    """The stored deadlines that `workdays` counts differently (due date or provisional mark)."""
    out = []
    for r in rows:
        due = publication_due(r.check_date, workdays=workdays)
        if (due.day, due.provisional) != (r.due, r.provisional):
            out.append(
                DeadlineChange(
                    result_id=r.result_id,
                    version=r.version,
                    task_id=r.task_id,
                    check_date=r.check_date,
                    previous_due_date=r.due,
                    previous_provisional=r.provisional,
                    due_date=due.day,
                    provisional=due.provisional,
                )
            )
    return out


CHANGES_PER_EVENT = 500
"""At most this many changes in one `deadline.changed` event (a message stays well under NATS's
1 MB payload limit); a longer list is sent in parts."""


def change_events(
    changes: list[DeadlineChange],
    *,
    rules_version: str,
    years: list[int],
    at: datetime,
    size: int = CHANGES_PER_EVENT,
) -> list[DeadlinesChanged]:
    """The `deadline.changed` events that announce `changes` (none when nothing changed)."""
    chunks = [changes[i : i + size] for i in range(0, len(changes), size)]
    return [
        DeadlinesChanged(
            rules_version=rules_version,
            years=years,
            changes=chunk,
            part=n,
            parts=len(chunks),
            changed_at=at,
        )
        for n, chunk in enumerate(chunks, start=1)
    ]
