"""Deadline arithmetic: the 20th working day after the check date, Chinese calendar with 调休.

Every expected date below is reasoned out day by day from the package's own data, which the
first tests pin down so that a calendar upgrade that changed them would fail loudly here.
"""

from __future__ import annotations

from datetime import date

from services.publisher.domain.deadlines import (
    DeadlineState,
    Due,
    add_working_days,
    deadline,
    due_date,
    is_working_day,
    publication_due,
    working_days_between,
)
from services.publisher.domain.workdays import Workdays, package_data

# The package as release 1.11 knew it (to 2026), whatever release is installed: the provisional
# cases below must not change when a later release learns 2027.
TO_2026 = Workdays.build(package=package_data().up_to(2026))


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


def test_a_deadline_that_reaches_2027_is_an_answer_not_a_refusal() -> None:
    # Fri 2026-12-04: Dec 7-11, 14-18, 21-25 and 28-31 are 19 working days; Fri 2027-01-01 is
    # 元旦 (off whether published or provisional), Sat 2 and Sun 3 off: the 20th is Mon Jan 4.
    assert due_date(date(2026, 12, 4)) == date(2027, 1, 4)
    assert due_date(date(2026, 12, 31)).year == 2027


def test_a_count_into_a_year_with_no_published_schedule_is_provisional() -> None:
    assert publication_due(date(2026, 12, 4), workdays=TO_2026) == Due(date(2027, 1, 4), True)
    # Wholly inside 2026 (published): firm, as before.
    assert publication_due(date(2026, 11, 20), workdays=TO_2026) == Due(date(2026, 12, 18), False)
    assert publication_due(date(2026, 12, 3), workdays=TO_2026) == Due(date(2026, 12, 31), False)
    late = deadline(date(2026, 12, 4), today=date(2026, 12, 10), workdays=TO_2026)
    assert late.provisional and late.due == date(2027, 1, 4)
    # (Dec 10, Jan 4]: Dec 11; 14-18; 21-25; 28-31; Jan 4: 16 working days left.
    assert late.state is DeadlineState.ON_TIME and late.working_days_left == 16


def test_provisional_2027_skips_weekends_and_the_statutory_holidays() -> None:
    # 春节 2027: 除夕 Fri Feb 5, 正月初一 Sat Feb 6 to 初三 Mon Feb 8 are statutory days off;
    # 初一 and 初二 fall on a weekend and are made up on Tue Feb 9 and Wed Feb 10 (Art. 6).
    off = [date(2027, 2, d) for d in range(5, 11)]
    assert not any(TO_2026.is_working_day(d) for d in off)
    assert TO_2026.is_working_day(date(2027, 2, 4)) and TO_2026.is_working_day(date(2027, 2, 11))
    assert not TO_2026.is_working_day(date(2027, 2, 13))  # an ordinary Saturday: no 调休 guessed
    # Checked Wed 2027-01-20: Jan 21, 22 (2); 25-29 (7); Feb 1-4 (11); Feb 5-10 off;
    # Feb 11, 12 (13); 15-19 (18); Mon 22 (19), Tue 23 (20).
    assert publication_due(date(2027, 1, 20), workdays=TO_2026) == Due(date(2027, 2, 23), True)
    # 劳动节: Sat May 1 and Sun May 2, made up Mon 3 and Tue 4; 国庆: Fri Oct 1 to Sun Oct 3,
    # made up Mon 4 and Tue 5; 清明 Mon Apr 5; 端午 Wed Jun 9; 中秋 Wed Sep 15.
    for day in ("2027-05-03", "2027-05-04", "2027-10-04", "2027-10-05", "2027-04-05"):
        assert not TO_2026.is_working_day(date.fromisoformat(day)), day
    for day in ("2027-06-09", "2027-09-15", "2027-01-01"):
        assert not TO_2026.is_working_day(date.fromisoformat(day)), day
    assert TO_2026.is_working_day(date(2027, 5, 6)) and TO_2026.is_working_day(date(2027, 10, 6))


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
