"""The console's pure pieces: navigation by role, the draw in words, tickets and exports, the
plan form ↔ submission with each refusal at its field, rule uploads and simulations."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from contracts.common import Role
from services.draw.domain.seeds import PartyCeremony, secret_commitment
from services.kit.errors import DomainError
from services.web.domain import console
from services.web.domain.plan_form import (
    check_form,
    field_of,
    problems_from_refusal,
    ratio_text,
    submission_from_form,
    values_from_submission,
)
from services.web.domain.rule_files import (
    UploadRefused,
    changes,
    differs,
    files_of_zip,
    overlay,
    resubmittable,
)
from services.web.exports import csv_bytes, xlsx_bytes

VECTORS = Path(__file__).resolve().parents[2] / "data" / "draw-vectors.json"
CATALOGUE = ["SCJG-001", "SCJG-002", "SW-001"]


def test_each_role_sees_its_sections_and_lands_on_its_own() -> None:
    keys = {role: [s.key for s in console.sections_for(role)] for role in Role}
    assert keys[Role.PLANNER] == ["plans", "stats"]
    assert keys[Role.DRAW_OFFICER] == ["draws", "stats"]
    assert keys[Role.POLICY] == ["plans", "rules", "stats"]
    assert keys[Role.AUDITOR] == ["plans", "draws", "audit", "stats"]
    assert keys[Role.OPERATOR] == ["stats"]
    assert keys[Role.INSPECTOR] == [] and Role.INSPECTOR not in console.CONSOLE_ROLES
    assert console.console_home(Role.POLICY) == "/console/rules"
    assert console.console_home(Role.DRAW_OFFICER) == "/console/draws"
    assert console.console_home(Role.OPERATOR) == "/console/"


def test_the_draw_in_words() -> None:
    assert console.ratio(500) == "5%" and console.ratio(250) == "2.5%"
    assert console.ratio(1225) == "12.25%" and console.ratio(None) == ""
    assert console.groups_of("0123456789abcdef", 8) == ["01234567", "89abcdef"]
    assert console.unstaffed_text("expertise: 1 inspector(s) left, a team needs 2") == (
        "没有具备该事项专业领域的检查人员"
    )
    assert console.unstaffed_text("something new") == "something new"
    assert console.refusal("second_officer_required", "x").startswith("提出重新抽取的人员")
    assert console.refusal("invalid", "a dice seed needs at least 20 digits, got 6") == (
        "掷骰种子至少需要20位数字。"
    )
    assert console.refusal("unknown_code", "as sent") == "as sent"


def test_the_commit_reveals_refusals_in_chinese() -> None:
    """Each refusal of the parties' commit-reveal, as the draw service words it, reads in
    Chinese next to its field."""
    secret = "a secret of sixteen+"
    one = PartyCeremony().register("officer", secret_commitment(secret))
    two = one.register("jijian", secret_commitment(secret + "!"))
    attempts: list[tuple[Callable[[], object], str]] = [
        (lambda: one.register("纪检", "0" * 64), "参与方代号只能由字母"),
        (lambda: one.register("x", "ABC"), "承诺值须为64位"),
        (lambda: one.register("officer", "0" * 64), "该参与方已登记。"),
        (lambda: one.reveal("officer", secret), "至少两个参与方"),
        (lambda: two.reveal("officer", "short"), "秘密值至少需要16个字符。"),
        (lambda: two.reveal("officer", secret + "?"), "秘密值与该参与方登记的承诺值不符。"),
        (lambda: two.reveal("nobody", secret), "没有登记该参与方。"),
        (lambda: two.reveal("officer", secret).reveal("officer", secret), "该参与方已揭示。"),
        (lambda: two.reveal("officer", secret).register("late", "0" * 64), "已开始揭示"),
    ]
    for attempt, zh in attempts:
        with pytest.raises(DomainError) as refused:
            attempt()
        assert console.refusal(refused.value.code, refused.value.message).startswith(zh), zh


def test_tickets_are_the_specs() -> None:
    vectors = json.loads(VECTORS.read_text())
    for stratum in vectors["strata"]:
        for uscc, expected in stratum["tickets"].items():
            assert console.ticket(vectors["seed"], stratum["stratum_id"], uscc) == expected


def _tasks() -> list[dict[str, object]]:
    return [
        {
            "task": {
                "task_id": "D-1:A",
                "uscc": "A",
                "entity_name": "甲公司",
                "region_code": "360202",
                "batch": 1,
                "items": [{"code": "SCJG-001", "name": "企业公示信息的检查"}],
                "departments": ["SCJG", "SW"],
                "joint": True,
                "period_start": "2026-12-01",
                "period_end": "2026-12-31",
                "team": [
                    {"inspector_id": "I1", "name": "王芳", "department": "SCJG"},
                    {"inspector_id": "I2", "name": "李强", "department": "SW"},
                ],
            },
            "progress": "in_progress",
        },
        {
            "task": {
                "task_id": "D-1:B",
                "uscc": "B",
                "entity_name": "乙店",
                "items": [],
                "team": [],
                "unstaffed_reason": "expertise: none left",
            },
            "progress": "not_started",
        },
    ]


def test_selection_and_task_rows_with_chinese_headers() -> None:
    record = {"seed": "9" * 20, "strata": [{"stratum_id": "s1", "selected": ["B", "A"]}]}
    rows = console.selection_rows(record, _tasks())
    assert [r[:4] for r in rows] == [("s1", "1", "B", "乙店"), ("s1", "2", "A", "甲公司")]
    assert rows[0][4] == console.ticket("9" * 20, "s1", "B") and rows[1][5] == "D-1:A"
    tasks = console.task_rows(_tasks())
    assert tasks[0][6:10] == (
        "市场监管、税务",
        "是",
        "2026-12-01至2026-12-31",
        "王芳（市场监管）、李强（税务）",
    )
    assert tasks[0][10:] == ("I1、I2", "", "检查中")
    assert tasks[1][9:] == ("", "", "没有具备该事项专业领域的检查人员", "待检查")
    assert len(console.TASK_HEADERS) == len(tasks[0])

    text = csv_bytes(console.SELECTION_HEADERS, rows)
    assert text.startswith("\ufeff".encode()) and "统一社会信用代码" in text.decode("utf-8-sig")
    book = load_workbook(io.BytesIO(xlsx_bytes("抽取结果", console.SELECTION_HEADERS, rows)))
    sheet = book.active
    assert sheet is not None and sheet.title == "抽取结果"
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == console.SELECTION_HEADERS and values[1][2] == "B"
    assert sheet.freeze_panes == "A2"


def _form(**over: object) -> dict[str, object]:
    values: dict[str, object] = {
        "title": "计划",
        "year": "2026",
        "departments": ["SCJG"],
        "regions": "360202，360203",
        "period_start": "2026-04-01",
        "period_end": "2026-11-30",
        "batches": "2",
        "item-SCJG-001": "on",
        "ratio-SCJG-001": "3",
        "item-SCJG-002": "on",
        "count-SCJG-002": "40",
        "filed_on": "2026-02-20",
    }
    values.update(over)
    return values


def test_the_form_is_a_submission() -> None:
    body, codes = submission_from_form(_form(), catalogue=CATALOGUE)  # type: ignore[arg-type]
    assert codes == ["SCJG-001", "SCJG-002"]
    assert body["items"] == [{"item": "SCJG-001", "ratio": "3%"}, {"item": "SCJG-002", "count": 40}]
    assert body["scope"] == {"regions": ["360202", "360203"]}
    assert body["lead_department"] == "SCJG" and body["batches"] == 2
    assert not check_form(body, codes)
    again = values_from_submission(body)
    assert again["ratio-SCJG-001"] == "3%" and again["count-SCJG-002"] == "40"
    assert again["regions"] == "360202 360203"
    assert (
        ratio_text("0.5") == "0.5%" and ratio_text("3％") == "3%" and ratio_text("50bp") == "50bp"
    )


def test_every_local_refusal_at_its_field() -> None:
    values = _form(
        title="",
        regions="3602",
        period_end="2026-03-01",
        **{"ratio-SCJG-001": "三", "count-SCJG-002": "", "departments": ["SCJG", "SW"]},
    )
    body, codes = submission_from_form(values, catalogue=CATALOGUE)  # type: ignore[arg-type]
    problems = check_form(body, codes)
    assert problems.by_field == {
        "title": ["请填写此项"],
        "ratio-SCJG-001": ["比例应写成 3% 或 0.5% 这样的百分数"],
        "item-SCJG-002": ["抽查比例和抽取户数须填写且只填写一项"],
        "regions": ["“3602”不是6位区划代码"],
        "lead_department": ["多部门联合计划须指定牵头部门"],
        "period_end": ["结束日期（2026-03-01）早于开始日期"],
    }
    body, codes = submission_from_form({"year": "2026"}, catalogue=CATALOGUE)
    assert check_form(body, codes).by_field["items"] == ["请至少选择一个检查事项"]


def test_the_planners_reasons_at_their_fields() -> None:
    codes = ["SCJG-001", "SW-001"]
    assert field_of("items[1].item", codes) == "item-SW-001"
    assert field_of("items[0].ratio", codes) == "ratio-SCJG-001"
    assert field_of("items[0].scope.regions[0]", codes) == "item-SCJG-001"
    assert field_of("scope.regions[2]", codes) == "regions"
    assert field_of("scope.risk_classes[0]", codes) == "risk_classes"
    assert field_of("period", codes) == "period_start"
    assert field_of("period.end", codes) == "period_end"
    assert field_of("departments[0]", codes) == "departments"
    assert field_of("nonsense", codes) is None
    problems = problems_from_refusal(
        [
            {"loc": "items[1].item", "msg": "x", "msg_zh": "事项“SW-001”不在检查事项清单中"},
            {"loc": ["body", "items", 0, "ratio"], "msg": "ratio", "type": "value_error"},
            {"loc": "plan", "msg": "as sent"},
        ],
        codes,
    )
    assert problems.by_field == {
        "item-SW-001": ["事项“SW-001”不在检查事项清单中"],
        "ratio-SCJG-001": ["比例应写成 3% 或 0.5% 这样的百分数"],
    }
    assert problems.general == ["as sent"]


def test_uploads_lay_files_over_the_active_set() -> None:
    base = {"ratios.yaml": "a", "tests/joint.yaml": "b", "joint.yaml": "c", "tests/only.yaml": "d"}
    out = overlay(base, {"ratios.yaml": b"A", "only.yaml": b"D", "new.yml": "新".encode()})
    assert out == {**base, "ratios.yaml": "A", "tests/only.yaml": "D", "new.yml": "新"}
    assert overlay(base, {"joint.yaml": b"C"})["joint.yaml"] == "C"  # the top one first
    with pytest.raises(UploadRefused):
        overlay(base, {"notes.txt": b"x"})
    with pytest.raises(UploadRefused):
        overlay(base, {"x.yaml": b"\xff\xfe\x00"})
    assert changes(base, out) == {
        "new.yml": "added",
        "ratios.yaml": "changed",
        "tests/only.yaml": "changed",
    }
    assert changes(out, base)["new.yml"] == "removed"


def test_a_zipped_folder_keeps_its_paths() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("rules/ratios.yaml", "a: 1\n")
        z.writestr("rules/tests/joint.yaml", "b: 2\n")
        z.writestr("rules/README.md", "ignored")
        z.writestr("__MACOSX/rules/._ratios.yaml", "junk")
    assert files_of_zip(buffer.getvalue()) == {
        "ratios.yaml": "a: 1\n",
        "tests/joint.yaml": "b: 2\n",
    }
    with pytest.raises(UploadRefused):
        files_of_zip(b"not a zip")


def test_a_stored_plan_simulates_again() -> None:
    stored = {"title": "t", "items": [{"item": "A", "ratio": 50}, {"item": "B", "count": 3}]}
    assert resubmittable(stored)["items"] == [
        {"item": "A", "ratio": "50bp"},
        {"item": "B", "count": 3},
    ]
    row = {"active_bp": 500, "candidate_bp": 500, "active_k": 3, "candidate_k": 3}
    assert not differs(row) and differs({**row, "candidate_k": 4})
    assert differs({**row, "active_excluded": False, "candidate_excluded": True})
