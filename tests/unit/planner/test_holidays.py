"""Holiday files (`holidays/<year>.yaml`): part of the rule set and its version, and checked
like the other rule files — every error names the file, the line and the field."""

from __future__ import annotations

from datetime import date

from services.planner.domain.ruleset import RuleSet, check_files, holiday_schedules, version_of

from .conftest import files_with

GOOD_2027 = """\
holidays:
  year: 2027
  source: 测试用安排（非国务院通知）
  breaks:
    - name: 元旦
      start: 2027-01-01
      end: 2027-01-03
    - name: 春节
      start: 2027-02-05
      end: 2027-02-11
      work: [2027-01-31, 2027-02-20]
"""


def with_holidays(**files: str) -> dict[str, bytes]:
    """The small inline rule set plus holiday files (`name` → text, `_` for `/`)."""
    out = files_with("rules: []\n")
    out.update({name.replace("_", "/") + ".yaml": text.encode() for name, text in files.items()})
    return out


def errors_of(files: dict[str, bytes]) -> list[str]:
    ruleset, errors = check_files(files)
    assert ruleset is None
    return [str(e) for e in errors]


def test_the_shipped_rule_set_holds_the_2026_schedule(shipped: RuleSet) -> None:
    assert [h.year for h in shipped.holidays] == [2026]
    schedule = shipped.holidays[0]
    assert "国办发明电〔2025〕7号" in schedule.source
    spring = next(b for b in schedule.breaks if b.name == "春节")
    assert (spring.start, spring.end) == (date(2026, 2, 15), date(2026, 2, 23))
    assert spring.work == [date(2026, 2, 14), date(2026, 2, 28)]
    assert "holidays/2026.yaml" in shipped.files


def test_a_holiday_file_is_part_of_the_version(shipped_files: dict[str, bytes]) -> None:
    base = version_of(shipped_files)
    added = {**shipped_files, "holidays/2027.yaml": GOOD_2027.encode()}
    assert version_of(added) != base
    ruleset, errors = check_files(added)
    assert errors == [] and ruleset is not None
    assert [h.year for h in ruleset.holidays] == [2026, 2027]


def test_shape_errors_name_file_line_and_field() -> None:
    bad = GOOD_2027.replace("end: 2027-01-03", "end: 2027-13-03").replace(
        "  source: 测试用安排（非国务院通知）\n", ""
    )
    assert errors_of(with_holidays(holidays_2027=bad)) == [
        "holidays/2027.yaml:1: [holidays 2027] holidays.source: Field required",
        "holidays/2027.yaml:6: [holidays 2027 元旦] holidays.breaks.0.end: "
        "Input should be a valid date or datetime, month value is outside expected range of 1-12",
    ]


def test_meaning_errors_name_file_line_and_field() -> None:
    text = """\
holidays:
  year: 2027
  source: 测试
  breaks:
    - name: 元旦
      start: 2027-01-03
      end: 2027-01-01
    - name: 春节
      start: 2027-02-05
      end: 2028-02-11
      work: [2027-02-03, 2026-01-31, 2027-02-20]
    - name: 清明节
      start: 2027-04-03
      end: 2027-04-05
      work: [2027-04-03]
    - name: 劳动节
      start: 2027-05-01
      end: 2027-05-05
    - name: 劳动节又一次
      start: 2027-05-05
      end: 2027-05-05
"""
    assert errors_of(with_holidays(holidays_2027=text)) == [
        "holidays/2027.yaml:7: [holidays 2027 元旦] holidays.breaks.0.end: "
        "2027-01-01 is before start 2027-01-03",
        "holidays/2027.yaml:10: [holidays 2027 春节] holidays.breaks.1.end: "
        "2028-02-11 is not in 2027 (nor in the December before it)",
        "holidays/2027.yaml:11: [holidays 2027 春节] holidays.breaks.1.work.0: "
        "2027-02-03 is a 周三, a working day anyway: an adjusted working day (调休上班) is a "
        "Saturday or a Sunday",
        "holidays/2027.yaml:11: [holidays 2027 春节] holidays.breaks.1.work.1: "
        "2026-01-31 is not in 2027 (nor in the December before it)",
        "holidays/2027.yaml:15: [holidays 2027 清明节] holidays.breaks.2.work.0: "
        "2027-04-03 is a working day here but a day off in holidays/2027.yaml:13 "
        "holidays.breaks.2.start",
        "holidays/2027.yaml:20: [holidays 2027 劳动节又一次] holidays.breaks.4.start: "
        "2027-05-05 is already a day off (holidays/2027.yaml:17 holidays.breaks.3.start)",
    ]


def test_one_file_per_year_named_for_its_year() -> None:
    errs = errors_of(with_holidays(holidays_2028=GOOD_2027, other=GOOD_2027))
    assert errs[:2] == [
        "holidays/2028.yaml:2: [holidays 2027] holidays.year: the schedule of 2027 belongs in "
        "holidays/2027.yaml (one file per year), not in holidays/2028.yaml",
        "other.yaml:2: [holidays 2027] holidays.year: the schedule of 2027 belongs in "
        "holidays/2027.yaml (one file per year), not in other.yaml",
    ]
    assert (
        "other.yaml:2: [holidays 2027] holidays.year: 2027 already has a schedule in " in (errs[2])
    )


def test_a_day_off_in_one_file_and_worked_in_another_is_refused() -> None:
    # 2027's New Year break starting on Thu 2026-12-31, which 2026's file says is worked: no
    # (a weekday cannot be worked anyway, so make it a Saturday: 2026-12-26).
    y2026 = """\
holidays:
  year: 2026
  source: 测试
  breaks:
    - {name: 元旦, start: 2026-01-01, end: 2026-01-01, work: [2026-12-26]}
"""
    y2027 = GOOD_2027.replace("start: 2027-01-01", "start: 2026-12-26")
    errs = errors_of(with_holidays(holidays_2026=y2026, holidays_2027=y2027))
    assert errs == [
        "holidays/2027.yaml:6: [holidays 2027 元旦] holidays.breaks.0.start: 2026-12-26 is a "
        "day off here but a working day in holidays/2026.yaml:5 holidays.breaks.0.work.0"
    ]


def test_only_the_holiday_files_for_the_offline_due_date() -> None:
    files = with_holidays(holidays_2027=GOOD_2027)
    files["r.yaml"] = b"rules: [broken"  # the rest of the directory is not its concern
    schedules, errors = holiday_schedules(files)
    assert errors == [] and [s.year for s in schedules] == [2027]
