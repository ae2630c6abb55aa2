"""Holiday files (`rules/holidays/<year>.yaml`): one year's days off and adjusted working days.

The State Council publishes each year's holidays (放假调休安排) in the preceding November or
December, as a notice of the General Office (e.g. 国办发明电〔2025〕7号 for 2026). Policy staff
copy it into one file per year; it is part of the rule set (checked, tested, activated and
versioned with the other rule files), and the publisher counts working days with it: the
20-working-day publication deadline of DESIGN §7.

A file holds one `holidays` section, written as the notice reads: each holiday's days off, from
`start` to `end` (both inclusive, weekends within included), and the weekend days that are
working days instead (`work`, 调休上班). The models check shape only; the planner's check
also knows the file and line of every value and checks meaning (dates within the year,
adjusted working days on weekends, no day both off and working).
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from contracts.base import Contract


class HolidayBreak(Contract):
    """One holiday of the notice: its days off, and the weekend days worked for it."""

    name: str = Field(min_length=1, max_length=64, description="节日名称，如 春节、国庆节")
    start: date = Field(description="第一个放假日 (first day off)")
    end: date = Field(description="最后一个放假日，含当天 (last day off, inclusive)")
    work: list[date] = Field(
        default=[], description="调休上班日：因本节日调休而上班的周六、周日 (adjusted working days)"
    )


class HolidaySchedule(Contract):
    """A year's holidays as the State Council published them (the `holidays` section)."""

    year: int = Field(ge=2000, le=2100)
    source: str = Field(
        min_length=1, description="通知名称和文号，如 国务院办公厅关于2026年部分节假日安排的通知"
    )
    url: str = ""
    published: date | None = None
    breaks: list[HolidayBreak] = Field(min_length=1)


class HolidayFile(Contract):
    """A holiday file of the rule set: `rules/holidays/<year>.yaml`."""

    holidays: HolidaySchedule
