"""Working days: holiday files over the package's data, provisional years, and what changes when
a year's file arrives."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from contracts.holidays import HolidayBreak, HolidaySchedule
from services.planner.domain.ruleset import holiday_schedules
from services.planner.rulefiles import read_rule_dir
from services.publisher.domain.deadlines import (
    StoredDeadline,
    change_events,
    publication_due,
    restate,
)
from services.publisher.domain.workdays import (
    Workdays,
    festival_dates,
    package_data,
    provisional_days_off,
    statutory_holidays,
)

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = package_data().up_to(2026)  # what the tests reason from, whatever is installed
TO_2026 = Workdays.build(package=PACKAGE)

# A made-up 2027 schedule for these tests (not the State Council's: it has not been seen here).
TEST_2027 = HolidaySchedule(
    year=2027,
    source="测试用安排（非国务院通知）",
    breaks=[
        HolidayBreak(name="元旦", start=date(2027, 1, 1), end=date(2027, 1, 3)),
        HolidayBreak(
            name="春节",
            start=date(2027, 2, 5),
            end=date(2027, 2, 13),
            work=[date(2027, 1, 31), date(2027, 2, 20)],
        ),
    ],
)


def _days(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


def test_the_festival_table_agrees_with_every_published_schedule() -> None:
    # Each lunar festival (and 清明) of the table is a day off in the State Council's schedules
    # as the package records them, for every year both know (2008: 清明、端午、中秋 became
    # holidays). 除夕 became a statutory day in 2025.
    table = festival_dates()
    assert min(table) == 2008 and max(table) >= 2035
    for year in sorted(PACKAGE.years & set(table)):
        f = table[year]
        first = f["chunjie"]
        days = [first, first + timedelta(days=1), first + timedelta(days=2)]
        days += [f["qingming"], f["duanwu"], f["zhongqiu"]]
        if year >= 2025:
            days.append(f["chuxi"])
        for day in days:
            # (the package leaves out a few weekend days inside a break, e.g. 2012-06-23)
            assert not TO_2026.is_working_day(day), (year, day)
            assert day in PACKAGE.days_off or day.weekday() >= 5, (year, day)
        assert f["chuxi"] == first - timedelta(days=1)


def test_the_statutory_holidays_of_2027() -> None:
    assert statutory_holidays(2027) == [
        ("元旦", (date(2027, 1, 1),)),
        ("春节", (date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8))),
        ("清明节", (date(2027, 4, 5),)),
        ("劳动节", (date(2027, 5, 1), date(2027, 5, 2))),
        ("端午节", (date(2027, 6, 9),)),
        ("中秋节", (date(2027, 9, 15),)),
        ("国庆节", (date(2027, 10, 1), date(2027, 10, 2), date(2027, 10, 3))),
    ]


def test_a_festival_on_another_festivals_day_is_made_up_too() -> None:
    # 2031: 中秋 falls on 10月1日. 国庆 Wed 1 to Fri 3, 中秋 owed once: made up Mon Oct 6.
    off = provisional_days_off(2031)
    assert {date(2031, 10, d) for d in (1, 2, 3, 6)} <= off
    assert date(2031, 10, 7) not in off


def test_past_the_festival_table_only_fixed_dates_are_known_but_it_still_answers() -> None:
    assert [name for name, _ in statutory_holidays(2099)] == ["元旦", "劳动节", "国庆节"]
    due = publication_due(date(2099, 9, 20), workdays=TO_2026)
    assert due.provisional and due.day > date(2099, 10, 3)


def test_the_shipped_2026_file_is_the_published_schedule() -> None:
    schedules, errors = holiday_schedules(read_rule_dir(ROOT / "rules"))
    assert errors == [] and [s.year for s in schedules] == [2026]
    assert "国办发明电〔2025〕7号" in schedules[0].source
    with_file = Workdays.build(schedules, package=PACKAGE)
    for day in _days(2026):
        assert with_file.is_working_day(day) == TO_2026.is_working_day(day), day
    assert with_file.sources[2026] == schedules[0].source
    assert TO_2026.changed_days(with_file) == []


def test_a_holiday_file_replaces_the_package_for_its_year_only() -> None:
    changed = HolidaySchedule(
        year=2026,
        source="测试",
        breaks=[HolidayBreak(name="国庆节", start=date(2026, 10, 1), end=date(2026, 10, 3))],
    )
    cal = Workdays.build([changed], package=PACKAGE)
    assert cal.is_working_day(date(2026, 10, 5))  # the package's 国庆 break is gone with it
    assert cal.is_working_day(date(2026, 2, 16))  # so is its 春节: the file is the whole year
    assert not cal.is_working_day(date(2025, 10, 6))  # 2025 stays the package's
    assert not cal.is_provisional(date(2026, 10, 5))


def test_a_2027_file_makes_2027_firm_and_names_the_changed_days() -> None:
    cal = Workdays.build([TEST_2027], package=PACKAGE)
    assert not cal.is_provisional(date(2027, 6, 1)) and TO_2026.is_provisional(date(2027, 6, 1))
    assert cal.is_working_day(date(2027, 1, 31))  # a Sunday worked (调休上班)
    assert cal.is_working_day(date(2027, 5, 3))  # no 劳动节 in the test file: a Monday
    # Every day of 2027 changes (provisional -> published), none of 2026.
    assert TO_2026.changed_days(cal) == _days(2027)
    assert publication_due(date(2027, 1, 20), workdays=cal).provisional is False


def test_restate_lists_only_the_deadlines_that_change() -> None:
    rows = [
        # due 2027-01-04 provisionally; with the test file, 元旦 Jan 1-3 only: the same day, firm
        StoredDeadline("R-1", 1, "T-1", date(2026, 12, 4), date(2027, 1, 4), True),
        # 2027-01-20 + 20: the test file's 春节 Feb 5-13 with Sun Jan 31 and Sat Feb 20 worked
        StoredDeadline("R-2", 1, "T-2", date(2027, 1, 20), date(2027, 2, 23), True),
        # wholly in 2026: untouched
        StoredDeadline("R-3", 2, "T-3", date(2026, 11, 20), date(2026, 12, 18), False),
    ]
    cal = Workdays.build([TEST_2027], package=PACKAGE)
    changes = restate(rows, cal)
    # Jan 21, 22 (2); 25-29 (7); Sun 31 worked (8); Feb 1-4 (12); 5-13 off; 15-19 (17);
    # Sat 20 worked (18); Mon 22 (19), Tue 23 (20): the same day as provisionally, now firm.
    assert [(c.result_id, c.due_date, c.provisional) for c in changes] == [
        ("R-1", date(2027, 1, 4), False),
        ("R-2", date(2027, 2, 23), False),
    ]
    assert changes[0].previous_provisional and changes[0].previous_due_date == date(2027, 1, 4)


def test_change_events_come_in_parts() -> None:
    rows = [
        StoredDeadline(f"R-{i}", 1, f"T-{i}", date(2026, 12, 28), date(2027, 1, 1), True)
        for i in range(5)
    ]
    changes = restate(rows, Workdays.build([TEST_2027], package=PACKAGE))
    assert len(changes) == 5
    at = datetime(2026, 12, 2, tzinfo=UTC)
    events = change_events(changes, rules_version="v", years=[2027], at=at, size=2)
    assert [(e.part, e.parts, len(e.changes)) for e in events] == [(1, 3, 2), (2, 3, 2), (3, 3, 1)]
    assert change_events([], rules_version="v", years=[2027], at=at) == []
