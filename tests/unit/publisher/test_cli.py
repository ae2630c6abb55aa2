"""`spotcheck publisher due-date` prints only the ISO date."""

from __future__ import annotations

from typer.testing import CliRunner

from spotcheck.commands.publisher import app


def test_due_date_prints_only_the_iso_date() -> None:
    out = CliRunner().invoke(app, ["due-date", "2026-02-12"])
    assert out.exit_code == 0 and out.stdout == "2026-03-18\n"


def test_due_date_refuses_a_bad_date_and_an_unknown_year() -> None:
    assert CliRunner().invoke(app, ["due-date", "12/02/2026"]).exit_code == 1
    assert CliRunner().invoke(app, ["due-date", "2099-01-05"]).exit_code == 1
