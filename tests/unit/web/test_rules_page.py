"""The candidate rule set's page shows the check's and the rule tests' reasons in Chinese
(`reason_zh`, `failures_zh`), the English only when a reason comes without its Chinese."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request

from contracts.common import Role
from services.kit.errors import Invalid
from services.planner.domain.ruleset import RulesInvalid, check_files
from services.planner.queries import _run_tests
from services.planner.rulefiles import read_rule_dir
from services.web.pages.console.common import context, message_of
from services.web.render import Pages
from services.web.sessions import Person
from services.web.store import AccountRow

ROOT = Path(__file__).resolve().parents[3]


def _policy() -> Person:
    account = AccountRow(
        username="policy1",
        display_name="政策科",
        role=Role.POLICY,
        department=None,
        inspector_id=None,
        password_hash=None,
        must_change_password=False,
        disabled_at=None,
        disabled_reason=None,
        failed_logins=0,
        locked_until=None,
        last_login_at=None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return Person(account=account, csrf_token="t", session_token="s")


def _copy(tmp_path: Path, file: str, old: str, new: str) -> dict[str, bytes]:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    path = rules / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return read_rule_dir(rules)


def _page(files: dict[str, bytes]) -> str:
    """The candidate page as the console renders it, from the planner's own check and tests."""
    ruleset, errors = check_files(files)
    candidate: dict[str, Any] = {
        "candidate_id": "c" * 64,
        "files": {p: b.decode() for p, b in files.items()},
        "note": "",
        "uploaded_by": "policy1",
        "created_at": datetime(2026, 12, 3, tzinfo=UTC),
        "check": {
            "ok": ruleset is not None,
            "version": ruleset.version if ruleset else None,
            "errors": [e.as_dict() for e in errors],
            "items": len(ruleset.items) if ruleset else None,
            "rules": len(ruleset.rules) if ruleset else None,
        },
        "tests": _run_tests(files, ruleset) if ruleset else None,
    }
    scope = {"type": "http", "method": "GET", "path": "/console/rules/candidates/x"}
    page = Pages().render(
        Request({**scope, "headers": [], "query_string": b""}),
        "console/rules_candidate.html",
        context(
            _policy(),
            "rules",
            candidate=candidate,
            active_version="v",
            changes={},
            plans=[],
            plan_id="",
            simulation=None,
            rows=[],
            differing=0,
            differs=lambda row: False,
            sim_error="",
            error="",
            ratio=lambda bp: bp,
        ),
    )
    return page.body.decode()


def test_check_errors_show_in_chinese(tmp_path: Path) -> None:
    html = _page(_copy(tmp_path, "ratios.yaml", 'cap_ratio: "5%"', 'cap_ratio: "105%"'))
    assert "未通过" in html
    assert "抽查比例上限 cap_ratio 为 105%，应大于 0% 且不超过 100%" in html
    assert "is outside (0, 100%]" not in html  # the English stays in the API, not on the page


def test_pydantic_errors_show_in_chinese(tmp_path: Path) -> None:
    html = _page(_copy(tmp_path, "ratios.yaml", "    name: 一般检查事项抽查比例上限\n", ""))
    assert "缺少必填字段 rules.1.name（名称）" in html and "Field required" not in html


def test_failing_rule_tests_show_in_chinese(tmp_path: Path) -> None:
    html = _page(
        _copy(tmp_path, "tests/ratios.yaml", "expect: {bp: 500, k: 5,", "expect: {bp: 500, k: 6,")
    )
    assert "1 个未通过" in html
    assert "抽取户数 k 为 5，期望 6" in html and "k 5 != 6" not in html


def test_a_case_file_error_shows_in_chinese(tmp_path: Path) -> None:
    html = _page(_copy(tmp_path, "tests/ratios.yaml", "expect: {bp: 500", "expext: {bp: 500"))
    assert "不认识的字段 cases.0.expext" in html and "Extra inputs" not in html


def test_a_reason_without_chinese_shows_in_english() -> None:
    # An older planner's answer (no reason_zh): the console shows what it has.
    exc = Invalid("rule set refused", code="rules_invalid", details=[{"reason": "x"}])
    assert message_of(exc) == "规则集未通过检查。"


def test_a_refused_activation_names_the_first_reason_in_chinese(tmp_path: Path) -> None:
    files = _copy(tmp_path, "ratios.yaml", 'cap_ratio: "5%"', 'cap_ratio: "105%"')
    _, errors = check_files(files)
    said = message_of(RulesInvalid(errors))
    assert said.startswith("规则集未通过检查。ratios.yaml 第 ")
    assert "105%" in said and "应大于 0%" in said
