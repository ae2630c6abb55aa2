"""`spotcheck publisher due-date` prints only the ISO date, counted with the rule directory's
holiday files over the package's data; a count into an unpublished year is provisional."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from services.publisher.domain.workdays import package_data
from spotcheck.commands.publisher import app

ROOT = Path(__file__).resolve().parents[3]
RULES = str(ROOT / "rules")

TEST_2027 = """\
holidays:
  year: 2027
  source: 测试用安排（非国务院通知）
  breaks:
    - {name: 元旦, start: 2027-01-01, end: 2027-01-04}
"""


def test_due_date_prints_only_the_iso_date() -> None:
    out = CliRunner().invoke(app, ["due-date", "2026-02-12", "--rules", RULES])
    assert out.exit_code == 0 and out.stdout == "2026-03-18\n"


def test_due_date_refuses_a_bad_date() -> None:
    assert CliRunner().invoke(app, ["due-date", "12/02/2026"]).exit_code == 1


def test_a_due_date_in_an_unpublished_year_is_answered_provisionally() -> None:
    # 2026-12-04: the 20th working day is Mon 2027-01-04 (元旦 Fri Jan 1 off). The issue's
    # first refused date: the command answered `calendar_unknown` and exit 1 before.
    out = CliRunner().invoke(app, ["due-date", "2026-12-04", "--rules", RULES])
    assert out.exit_code == 0, out.output
    assert out.stdout == "2027-01-04\n"
    if 2027 not in package_data().years:
        assert "provisional" in out.stderr and "2027" in out.stderr
    far = CliRunner().invoke(app, ["due-date", "2099-01-05", "--json", "--rules", RULES])
    assert far.exit_code == 0
    assert json.loads(far.stdout) == {
        "check_date": "2099-01-05",
        "due_date": "2099-02-02",
        "provisional": True,
    }


def test_due_date_counts_with_the_rule_directorys_holiday_files(tmp_path: Path) -> None:
    (tmp_path / "holidays").mkdir()
    (tmp_path / "holidays" / "2027.yaml").write_text(TEST_2027, encoding="utf-8")
    out = CliRunner().invoke(app, ["due-date", "2026-12-04", "--json", "--rules", str(tmp_path)])
    assert out.exit_code == 0, out.output
    # The test file adds Mon Jan 4 to 元旦: the 20th working day is Tue Jan 5, firm.
    assert json.loads(out.stdout)["due_date"] == "2027-01-05"
    assert json.loads(out.stdout)["provisional"] is False


def test_a_broken_holiday_file_names_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "holidays").mkdir()
    (tmp_path / "holidays" / "2027.yaml").write_text(
        TEST_2027.replace("end: 2027-01-04", "end: 2027-13-04"), encoding="utf-8"
    )
    out = CliRunner().invoke(app, ["due-date", "2026-12-04", "--rules", str(tmp_path)])
    assert out.exit_code == 1
    assert "holidays/2027.yaml:5: [holidays 2027 元旦] holidays.breaks.0.end:" in out.stderr
    # and the same reason in Chinese on the line below it
    assert "    holidays.breaks.0.end（最后一个放假日）应为日期" in out.stderr
