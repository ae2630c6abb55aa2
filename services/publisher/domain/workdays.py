"""Working days in China: which days count towards a deadline, and which only provisionally.

Each calendar year's days off and adjusted working days (调休上班) come from the first of:
1. the rule set's holiday file for that year (`rules/holidays/<year>.yaml`, the State
   Council's notice, activated like every rule file);
2. the package `chinese-calendar`, for the years it knows: the default;
3. nothing published yet: the year is **provisional**. Its days off are the weekends plus the
   statutory holidays of 《全国年节及纪念日放假办法》 as amended in 2024 (Art. 2: 元旦 1月1日;
   春节 除夕、正月初一至初三; 清明; 劳动节 5月1日、2日; 端午; 中秋; 国庆 10月1日至3日), and a
   statutory day that falls on a Saturday or Sunday, or on another festival's day, is made up
   on the next working day (Art. 6). The State Council's later notice moves days around
   (调休), so a count that touches a provisional year is marked provisional and computed again
   when that year's file is activated; it is never refused.

The lunar festivals' solar dates come from a shipped table (`data/festival_dates.json`, its
source inside); past its last year only the fixed-date holidays are known.

Pure: the schedules come in as data, the package's tables are data, answers come out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import metadata, resources

import chinese_calendar

from contracts.holidays import HolidaySchedule

_ONE_DAY = timedelta(days=1)


@cache
def festival_dates() -> dict[int, dict[str, date]]:
    """The solar dates of 除夕, 春节, 清明, 端午 and 中秋 by year, from the shipped table."""
    text = (
        resources.files("services.publisher")
        .joinpath("data/festival_dates.json")
        .read_text(encoding="utf-8")
    )
    doc = json.loads(text)
    columns: list[str] = doc["columns"]
    return {
        int(year): {c: date.fromisoformat(v) for c, v in zip(columns, row, strict=True)}
        for year, row in doc["years"].items()
    }


def statutory_holidays(year: int) -> list[tuple[str, tuple[date, ...]]]:
    """The days off of 《全国年节及纪念日放假办法》 Art. 2 (2024) in `year`, by festival, in date
    order. Lunar festivals are left out for a year beyond the festival table."""
    out: list[tuple[str, tuple[date, ...]]] = [
        ("元旦", (date(year, 1, 1),)),
        ("劳动节", (date(year, 5, 1), date(year, 5, 2))),
        ("国庆节", (date(year, 10, 1), date(year, 10, 2), date(year, 10, 3))),
    ]
    lunar = festival_dates().get(year)
    if lunar is not None:
        first = lunar["chunjie"]
        out += [
            ("春节", (lunar["chuxi"], first, first + _ONE_DAY, first + 2 * _ONE_DAY)),
            ("清明节", (lunar["qingming"],)),
            ("端午节", (lunar["duanwu"],)),
            ("中秋节", (lunar["zhongqiu"],)),
        ]
    return sorted(out, key=lambda festival: festival[1][0])


@cache
def provisional_days_off(year: int) -> frozenset[date]:
    """The statutory days off of `year` and their make-up days (Art. 6), weekends aside."""
    festivals = statutory_holidays(year)
    statutory = {day for _, days in festivals for day in days}
    taken: set[date] = set()
    for _, days in festivals:
        # A day on a weekend, or one another festival already holds (中秋 on 10月1日), is owed.
        owed = sum(1 for day in days if day.weekday() >= 5 or day in taken)
        taken.update(days)
        day = max(days)
        while owed:
            day += _ONE_DAY
            if day.weekday() < 5 and day not in taken and day not in statutory:
                taken.add(day)
                owed -= 1
    return frozenset(taken)


@dataclass(frozen=True, slots=True)
class PackageData:
    """The published schedules a holiday package knows: the default for those years."""

    days_off: frozenset[date]
    working_days: frozenset[date]
    years: frozenset[int]
    name: str

    def up_to(self, year: int) -> PackageData:
        """The same data ending with `year` (what an older release knew)."""
        return PackageData(
            frozenset(d for d in self.days_off if d.year <= year),
            frozenset(d for d in self.working_days if d.year <= year),
            frozenset(y for y in self.years if y <= year),
            f"{self.name} (to {year})",
        )


@cache
def package_data() -> PackageData:
    """What the installed `chinese-calendar` knows (read once: it is data)."""
    off = frozenset(chinese_calendar.holidays)
    work = frozenset(chinese_calendar.workdays)
    first, last = min(off).year, max(off).year
    try:
        version = metadata.version("chinese-calendar")
    except metadata.PackageNotFoundError:  # pragma: no cover - installed without metadata
        version = "?"
    return PackageData(off, work, frozenset(range(first, last + 1)), f"chinese-calendar {version}")


class Workdays:
    """Which days are working days: the holiday files over the package's data, else provisional.

    Built once per set of holiday files (`Workdays.build`); answers are pure functions of it.
    """

    __slots__ = ("days_off", "published_years", "scheduled_years", "sources", "working_days")

    def __init__(
        self,
        *,
        days_off: frozenset[date],
        working_days: frozenset[date],
        published_years: frozenset[int],
        scheduled_years: frozenset[int],
        sources: dict[int, str],
    ) -> None:
        self.days_off = days_off
        self.working_days = working_days
        self.published_years = published_years
        self.scheduled_years = scheduled_years
        self.sources = sources

    @classmethod
    def build(
        cls, schedules: Iterable[HolidaySchedule] = (), *, package: PackageData | None = None
    ) -> Workdays:
        """The package's data (the installed one unless given), with each year that has a
        holiday file taken from the file."""
        schedules = list(schedules)
        pkg = package or package_data()
        pkg_off, pkg_work, pkg_years, pkg_name = pkg.days_off, pkg.working_days, pkg.years, pkg.name
        listed_off: set[date] = set()
        listed_work: set[date] = set()
        for s in schedules:
            for brk in s.breaks:
                day = brk.start
                while day <= brk.end:
                    listed_off.add(day)
                    day += _ONE_DAY
                listed_work.update(brk.work)
        files = frozenset(s.year for s in schedules)
        listed = listed_off | listed_work
        # A file replaces the package's whole year, and any day it names elsewhere.
        off = {d for d in pkg_off if d.year not in files and d not in listed} | listed_off
        work = {d for d in pkg_work if d.year not in files and d not in listed} | listed_work
        sources = {year: pkg_name for year in pkg_years}
        sources.update({s.year: s.source for s in schedules})
        return cls(
            days_off=frozenset(off),
            working_days=frozenset(work),
            published_years=pkg_years | files,
            scheduled_years=files,
            sources=sources,
        )

    def is_provisional(self, day: date) -> bool:
        """Whether `day`'s year has no published schedule (neither a file nor the package's)."""
        return day.year not in self.published_years

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day, adjusted working days (调休上班) included."""
        if day in self.working_days:
            return True
        if day in self.days_off:
            return False
        if self.is_provisional(day) and day in provisional_days_off(day.year):
            return False
        return day.weekday() < 5

    def changed_days(self, other: Workdays) -> list[date]:
        """The days on which `other` answers differently (working or not, provisional or not).

        Only the years a holiday file touches (in either) can differ, and a file may name days
        of the December before its year.
        """
        out = []
        for year in sorted(self.scheduled_years | other.scheduled_years):
            day, last = date(year - 1, 12, 1), date(year, 12, 31)
            while day <= last:
                if self.is_working_day(day) != other.is_working_day(day) or (
                    self.is_provisional(day) != other.is_provisional(day)
                ):
                    out.append(day)
                day += _ONE_DAY
        return sorted(set(out))


@cache
def default_workdays() -> Workdays:
    """The package's data alone (no holiday files): what a fresh publisher starts with."""
    return Workdays.build(())
