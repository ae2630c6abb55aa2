"""The outside platforms: spotcheck's records, their rows, and the shipped default mappings."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from typer.testing import CliRunner

from contracts.draw import TaskAssigned, TaskItem, TeamMember
from services.kit.mapping import encode, load_mappings, read_mapping_dir, render
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.payloads import build_deliveries
from services.publisher.domain.platforms import (
    DATE_FIELDS,
    fact_rows,
    headline,
    platform_of,
    task_record,
    vocabulary,
)
from services.publisher.domain.validation import TaskView
from spotcheck.cli import app

ROOT = Path(__file__).resolve().parents[3]
DEFAULTS = ROOT / "deploy" / "platforms"
ACCEPTED = datetime(2026, 3, 11, 1, 30, tzinfo=UTC)


def _defaults(categories: CategoryTable) -> dict[str, Any]:
    loaded = load_mappings(read_mapping_dir(DEFAULTS), vocabulary(categories), direction="outbound")
    return {pid: m.mapping for pid, m in loaded.items()}


def _result_rows(make_submission: Any, check: Any, task: TaskView, categories: Any, **kw: Any):
    sub = make_submission(**kw)
    checked = check(sub, task)
    rows = build_deliveries(
        sub, checked, categories=categories, accepted_at=ACCEPTED, platforms=["gsxt", "zfw"]
    )
    return [r for r in rows if platform_of(r[0]) is not None]


def test_every_shipped_mapping_passes_its_check(categories: CategoryTable) -> None:
    assert sorted(_defaults(categories)) == ["gsxt", "jdpt", "zfw"]


def test_the_shipped_department_codes_are_the_shipped_rule_sets(categories: Any) -> None:
    import yaml

    rules = yaml.safe_load((ROOT / "rules" / "00-ruleset.yaml").read_text(encoding="utf-8"))
    codes = {d["code"] for d in rules["ruleset"]["departments"]}
    for pid, mapping in _defaults(categories).items():
        assert set(mapping.codes["departments"]) == codes, pid


def test_a_result_is_one_row_per_platform_with_one_key_per_version(
    make_submission: Any, check: Any, task: TaskView, categories: CategoryTable
) -> None:
    rows = _result_rows(make_submission, check, task, categories)
    assert [(d, k, s) for d, k, s, _ in rows] == [
        ("platform:gsxt", "R-T-1:v1:platform:gsxt", None),
        ("platform:zfw", "R-T-1:v1:platform:zfw", None),
    ]
    assert rows[0][3]["kind"] == "result" and rows[0][3] == rows[1][3]


def test_the_public_items_of_gsxt_are_written_from_a_result(
    make_submission: Any, check: Any, task: TaskView, categories: CategoryTable
) -> None:
    task = dataclasses.replace(task, lead_department="SCJG", departments=("SCJG",))
    items = [
        {"item_code": "ITEM-01", "category": "1"},
        {"item_code": "ITEM-02", "category": "E", "problems": "未亮照经营"},
    ]
    [row, _] = _result_rows(make_submission, check, task, categories, items=items)
    gsxt = _defaults(categories)["gsxt"]
    written = render(gsxt, "result", row[3]["record"], date_fields=DATE_FIELDS)
    assert written == {
        "统一社会信用代码": "91360202MA35XXXX0A",
        "企业名称": "景德镇市昌江区测试瓷业有限公司",
        "检查实施机关": "昌江区市场监督管理局",
        "类型": "双随机抽查",
        "日期": "2026-03-10",
        "结果": "发现问题已责令改正",  # the violation, not the first item's "未发现问题"
        "结果编号": "R-T-1",
        "版本": "1",
    }


def test_zfw_takes_a_gb18030_form(
    make_submission: Any, check: Any, task: TaskView, categories: CategoryTable
) -> None:
    task = dataclasses.replace(task, lead_department="SW", kind="triggered", trigger="complaint")
    [_, row] = _result_rows(make_submission, check, task, categories)
    zfw = _defaults(categories)["zfw"]
    body, ctype = encode(zfw, render(zfw, "result", row[3]["record"], date_fields=DATE_FIELDS))
    assert ctype == "application/x-www-form-urlencoded; charset=GB18030"
    form = dict(parse_qsl(body.decode("ascii"), encoding="gb18030"))
    assert form["检查类型"] == "投诉举报检查" and form["是否更正"] == "否"
    assert form["检查机关"] == "国家税务总局景德镇市昌江区税务局"


def test_the_headline_is_the_first_violation_else_the_first_item(categories: Any) -> None:
    assert headline(["1", "F"], categories) == "1"
    assert headline(["1", "B", "E"], categories) == "B"
    assert headline([], categories) == ""


def _task(**over: Any) -> TaskAssigned:
    base: dict[str, Any] = {
        "task_id": "T-9",
        "draw_id": "D-1",
        "plan_id": "P-1",
        "uscc": "91360202MA35XXXX0A",
        "entity_name": "测试公司",
        "region_code": "360202",
        "departments": ["SCJG"],
        "lead_department": "SCJG",
        "items": [TaskItem(code="I-1", name="企业公示信息情况的检查", department="SCJG")],
        "batch": 1,
        "period_start": "2026-03-01",
        "period_end": "2026-06-30",
        "team": [TeamMember(inspector_id="I-1", name="张三", department="SCJG")],
    }
    return TaskAssigned.model_validate(base | over)


def test_a_redelivered_task_has_the_same_key_and_a_reassigned_one_a_new_key() -> None:
    first = fact_rows("task", "T-9", task_record(_task()), ["jdpt"])
    again = fact_rows("task", "T-9", task_record(_task()), ["jdpt"])
    moved = fact_rows("task", "T-9", task_record(_task(period_end="2026-07-31")), ["jdpt"])
    assert first == again and first[0][1].startswith("task:T-9:platform:jdpt:")
    assert moved[0][1] != first[0][1]


def test_the_supervision_platform_takes_a_task_as_a_gb18030_csv(categories: Any) -> None:
    jdpt = _defaults(categories)["jdpt"]
    [row] = fact_rows("task", "T-9", task_record(_task()), ["jdpt"])
    body, _ = encode(jdpt, render(jdpt, "task", row[3]["record"], date_fields=DATE_FIELDS))
    header, line = body.decode("gb18030").splitlines()
    assert header.startswith("任务编号,计划编号,检查类型,检查对象名称")
    assert line.split(",") == [
        "T-9",
        "P-1",
        "双随机抽查",
        "测试公司",
        "91360202MA35XXXX0A",
        "昌江区市场监督管理局",
        "企业公示信息情况的检查",
        "张三",
        "2026-03-01",
        "2026-06-30",
    ]
    assert json.dumps(row[3], ensure_ascii=False)  # the stored payload is JSON


def test_platforms_check_names_file_and_line(tmp_path: Path) -> None:
    ok = CliRunner().invoke(app, ["platforms", "check", str(DEFAULTS)])
    assert ok.exit_code == 0 and "ok: gsxt" in ok.output
    for f in DEFAULTS.glob("*.yaml"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    bad = (tmp_path / "zfw.yaml").read_text(encoding="utf-8").replace("encoding:", "encodng:")
    (tmp_path / "zfw.yaml").write_text(bad, encoding="utf-8")
    r = CliRunner().invoke(app, ["platforms", "check", str(tmp_path)])
    assert r.exit_code == 1
    assert "zfw.yaml:9: unknown field encodng" in r.output


def test_platforms_check_reads_the_receipts_and_refuses_an_inbound_file_nobody_reads(
    tmp_path: Path,
) -> None:
    ok = CliRunner().invoke(app, ["platforms", "check", str(DEFAULTS)])
    assert "ok: jdpt (省双随机、一公开行政执法监督平台（计划回执）) plan_receipt" in ok.output
    for f in DEFAULTS.glob("*.yaml"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    receipts = tmp_path / "jdpt-receipts.yaml"
    text = receipts.read_text(encoding="utf-8")
    receipts.write_text(text.replace("plan_receipt:", "plan_reciept:"), encoding="utf-8")
    r = CliRunner().invoke(app, ["platforms", "check", str(tmp_path)])
    assert r.exit_code == 1
    assert "jdpt-receipts.yaml:1: no service reads inbound records plan_reciept" in r.output
    receipts.write_text(text.replace("已备案", "已录入"), encoding="utf-8")  # two kinds alike
    r = CliRunner().invoke(app, ["platforms", "check", str(tmp_path)])
    assert r.exit_code == 1
    assert (
        "jdpt-receipts.yaml:22: code list filing_kinds: '已录入' stands for entered, filed"
        in r.output
    )


@pytest.mark.parametrize("name", ["gsxt.yaml", "zfw.yaml", "jdpt.yaml", "jdpt-receipts.yaml"])
def test_each_default_says_what_is_public_and_what_to_confirm(name: str) -> None:
    head = (DEFAULTS / name).read_text(encoding="utf-8")[:800]
    assert "来自公开材料" in head and "须由省里" in head
