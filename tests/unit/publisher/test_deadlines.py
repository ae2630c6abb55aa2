"""Deadline arithmetic: the 20th working day after the check date, Chinese calendar with 调休.

Every expected date below is reasoned out day by day from the package's own data, which the
first tests pin down so that a calendar upgrade that changed them would fail loudly here.
"""

from __future__ import annotations

from datetime import date

import pytest

from services.kit.errors import Invalid
from services.publisher.domain.deadlines import (
    DeadlineState,
    add_working_days,
    deadline,
    due_date,
    is_working_day,
    known_years,
    working_days_between,
)


def test_the_calendar_data_this_file_reasons_from() -> None:
    # 国庆 2025: Oct 1-8 off (Mid-autumn falls on Oct 6); Sun Sep 28 and Sat Oct 11 are worked.
    assert all(not is_working_day(date(2025, 10, d)) for d in range(1, 9))
    assert is_working_day(date(2025, 9, 28)) and is_working_day(date(2025, 10, 11))
    assert not is_working_day(date(2025, 9, 27))  # an ordinary Saturday stays off
    # 春节 2026: Feb 15-23 off; Sat Feb 14 and Sat Feb 28 are worked.
    assert all(not is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert is_working_day(date(2026, 2, 14)) and is_working_day(date(2026, 2, 28))
    # 国庆 2026: Oct 1-7 off; Sat Oct 10 worked.
    assert all(not is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert is_working_day(date(2026, 10, 10))


def test_national_day_2025_with_its_adjusted_sunday_and_saturday() -> None:
    # Checked Fri 2025-09-26. Counting from the day after:
    #   Sat 27 off; Sun 28 worked (调休) = 1; Mon 29 = 2; Tue 30 = 3;
    #   Oct 1-8 holiday; Thu 9 = 4; Fri 10 = 5; Sat 11 worked (调休) = 6; Sun 12 off;
    #   Oct 13-17 = 7..11; Oct 20-24 = 12..16; Mon 27 = 17, Tue 28 = 18, Wed 29 = 19, Thu 30 = 20.
    assert due_date(date(2025, 9, 26)) == date(2025, 10, 30)


def test_check_date_on_the_eve_of_national_day_2025() -> None:
    # Checked Tue 2025-09-30: Oct 9 = 1, 10 = 2, Sat 11 = 3, Oct 13-17 = 4..8, 20-24 = 9..13,
    # 27-31 = 14..18, Mon Nov 3 = 19, Tue Nov 4 = 20.
    assert due_date(date(2025, 9, 30)) == date(2025, 11, 4)


def test_spring_festival_2026_with_its_two_adjusted_saturdays() -> None:
    # Checked Thu 2026-02-12: Fri 13 = 1; Sat 14 worked (调休) = 2; Feb 15-23 holiday;
    #   Tue 24 = 3, 25 = 4, 26 = 5, 27 = 6; Sat 28 worked (调休) = 7;
    #   Mar 2-6 = 8..12; Mar 9-13 = 13..17; Mon 16 = 18, Tue 17 = 19, Wed 18 = 20.
    assert due_date(date(2026, 2, 12)) == date(2026, 3, 18)


def test_a_check_on_a_holiday_counts_from_the_next_working_day() -> None:
    # Checked on Oct 3 2025 (a holiday): the first working day after it is Oct 9, as above,
    # so the count is the same as for Sep 30: Nov 4.
    assert due_date(date(2025, 10, 3)) == date(2025, 11, 4)


def test_the_check_date_itself_is_not_counted() -> None:
    # Mon 2026-03-02 is a working day; the first counted day is Tue Mar 3.
    assert add_working_days(date(2026, 3, 2), 1) == date(2026, 3, 3)
    # Twenty ordinary working days = four whole weeks later, same weekday.
    assert due_date(date(2026, 3, 9)) == date(2026, 4, 7)  # Apr 6 is 清明 (off), so Tue Apr 7


def test_year_the_calendar_does_not_know_is_a_clear_error() -> None:
    first, last = known_years()
    with pytest.raises(Invalid) as caught:
        due_date(date(last + 1, 3, 2))
    assert caught.value.code == "calendar_unknown"
    assert str(last + 1) in caught.value.message
    with pytest.raises(Invalid):
        due_date(date(first - 1, 6, 1))


def test_deadline_running_into_an_unknown_year_is_refused_not_guessed() -> None:
    # 2026-12-10 + 20 working days lands in January 2027, which the calendar does not know.
    _first, last = known_years()
    if last == 2026:
        with pytest.raises(Invalid, match="2027"):
            due_date(date(2026, 12, 10))
    else:  # a newer calendar: the same date must then resolve into January
        assert due_date(date(2026, 12, 10)).year == 2027


def test_working_days_between_is_signed() -> None:
    assert working_days_between(date(2026, 2, 12), date(2026, 3, 18)) == 20
    assert working_days_between(date(2026, 3, 18), date(2026, 2, 12)) == -20
    assert working_days_between(date(2026, 3, 18), date(2026, 3, 18)) == 0


def test_deadline_states() -> None:
    check = date(2026, 2, 12)  # due 2026-03-18
    assert deadline(check, today=date(2026, 2, 13)).state is DeadlineState.ON_TIME
    at_risk = deadline(check, today=date(2026, 3, 11))  # Mar 12,13,16,17,18 left
    assert at_risk.state is DeadlineState.AT_RISK and at_risk.working_days_left == 5
    assert deadline(check, today=date(2026, 3, 10)).state is DeadlineState.ON_TIME
    assert deadline(check, today=date(2026, 3, 18)).state is DeadlineState.AT_RISK
    overdue = deadline(check, today=date(2026, 3, 19))
    assert overdue.state is DeadlineState.OVERDUE and overdue.working_days_left == -1
    on_time = deadline(check, today=date(2026, 4, 1), published_on=date(2026, 3, 18))
    assert on_time.state is DeadlineState.PUBLISHED
    late = deadline(check, today=date(2026, 4, 1), published_on=date(2026, 3, 19))
    assert late.state is DeadlineState.PUBLISHED_LATE
