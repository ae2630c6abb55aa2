"""The meaning of holiday files (`holidays/<year>.yaml`): what their schema cannot see.

A holiday file copies one State Council notice; the mistakes worth catching are the ones a
person makes copying dates: a file named for another year, a date in the wrong year, a break
that ends before it starts, an adjusted working day (调休上班) that is not a Saturday or
Sunday (a weekday is a working day anyway: the notice never names one), one day listed twice,
or listed as a day off in one place and a working day in another (also across files: a New
Year break may start in the previous December).

Every problem names the file, the line and the field (`holidays.breaks.1.work.0`), like the
shape errors of the schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from contracts.holidays import HolidaySchedule
from services.planner.domain.checks import Problem
from services.planner.domain.yamlpos import Located

HOLIDAY_DIR = "holidays"
_FILE = re.compile(r"^holidays/(\d{4})\.ya?ml$")
_WEEKDAYS = "一二三四五六日"
_KIND_ZH = {"day off": "放假日", "working day": "调休上班日"}


@dataclass(frozen=True)
class PlacedSchedule:
    """A parsed holiday schedule with the file it came from and the lines of its values."""

    schedule: HolidaySchedule
    file: str
    located: Located

    def line(self, *path: str | int) -> int:
        """Line of the value at `holidays.<path>`."""
        return self.located.line_of(("holidays", *path))

    @property
    def label(self) -> str:
        """How errors name the schedule."""
        return f"holidays {self.schedule.year}"


def _weekday(day: date) -> str:
    return f"周{_WEEKDAYS[day.weekday()]}"


def _field(i: int, path: tuple[str | int, ...]) -> str:
    return ".".join(str(x) for x in ("holidays", "breaks", i, *path))


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _in_window(day: date, year: int) -> bool:
    # A New Year break may start in the previous December (2023's began on 2022-12-31).
    return date(year - 1, 12, 1) <= day <= date(year, 12, 31)


def check_holidays(placed: list[PlacedSchedule]) -> list[Problem]:
    """Every semantic problem of the holiday schedules, in file order."""
    out: list[Problem] = []
    years: dict[int, str] = {}
    # date -> (kind, file, line, field) of its first mention, across every file
    seen: dict[date, tuple[str, str, int, str]] = {}
    for p in placed:
        s = p.schedule
        match = _FILE.match(p.file)
        if match is None or int(match.group(1)) != s.year:
            out.append(
                (
                    p.file,
                    p.line("year"),
                    p.label,
                    f"holidays.year: the schedule of {s.year} belongs in "
                    f"{HOLIDAY_DIR}/{s.year}.yaml (one file per year), not in {p.file}",
                    f"holidays.year（年份）：{s.year} 年的节假日安排应写在 "
                    f"{HOLIDAY_DIR}/{s.year}.yaml（每年一个文件），而不是 {p.file}",
                )
            )
        if s.year in years:
            out.append(
                (
                    p.file,
                    p.line("year"),
                    p.label,
                    f"holidays.year: {s.year} already has a schedule in {years[s.year]}",
                    f"holidays.year（年份）：{s.year} 年已有节假日安排，在 {years[s.year]}",
                )
            )
        years.setdefault(s.year, p.file)
        for i in range(len(s.breaks)):
            out += _check_break(p, i, seen)
    return out


def _check_break(
    p: PlacedSchedule, i: int, seen: dict[date, tuple[str, str, int, str]]
) -> list[Problem]:
    out: list[Problem] = []
    brk = p.schedule.breaks[i]
    year = p.schedule.year
    label = f"{p.label} {brk.name}"

    def problem(path: tuple[str | int, ...], reason: str, reason_zh: str) -> None:
        field = _field(i, path)
        out.append(
            (
                p.file,
                p.line("breaks", i, *path),
                label,
                f"{field}: {reason}",
                f"{field}：{reason_zh}",
            )
        )

    def clash(day: date, kind: str, path: tuple[str | int, ...]) -> bool:
        """Record the day's first mention, or report this second one."""
        if day not in seen:
            seen[day] = (kind, p.file, p.line("breaks", i, *path), _field(i, path))
            return False
        was, file, line, where = seen[day]
        if was == kind:
            problem(
                path,
                f"{day} is already a {kind} ({file}:{line} {where})",
                f"{day} 已是{_KIND_ZH[kind]}（{file}:{line} {where}），重复列出",
            )
        else:
            problem(
                path,
                f"{day} is a {kind} here but a {was} in {file}:{line} {where}",
                f"{day} 在这里是{_KIND_ZH[kind]}，在 {file}:{line} {where} 却是{_KIND_ZH[was]}",
            )
        return True

    for key, day in (("start", brk.start), ("end", brk.end)):
        if not _in_window(day, year):
            problem(
                (key,),
                f"{day} is not in {year} (nor in the December before it)",
                f"{day} 不在 {year} 年内（也不在上一年的 12 月）",
            )
    if brk.end < brk.start:
        problem(
            ("end",),
            f"{brk.end} is before start {brk.start}",
            f"最后一个放假日 {brk.end} 早于第一个放假日 {brk.start}",
        )
    elif _in_window(brk.start, year) and _in_window(brk.end, year):
        for day in _days(brk.start, brk.end):
            if clash(day, "day off", ("start",)):
                break  # one report per break: the first day it shares with another
    for j, day in enumerate(brk.work):
        if not _in_window(day, year):
            problem(
                ("work", j),
                f"{day} is not in {year} (nor in the December before it)",
                f"{day} 不在 {year} 年内（也不在上一年的 12 月）",
            )
            continue
        if day.weekday() < 5:
            problem(
                ("work", j),
                f"{day} is a {_weekday(day)}, a working day anyway: an adjusted working day "
                "(调休上班) is a Saturday or a Sunday",
                f"{day} 是{_weekday(day)}，本来就是工作日：调休上班日只会是周六或周日",
            )
            continue
        clash(day, "working day", ("work", j))
    return out
