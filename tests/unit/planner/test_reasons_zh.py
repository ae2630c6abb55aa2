"""Every reason of the rule-set check and of the rule tests comes in Chinese too (`reason_zh`,
`failures_zh`): for each family of reason, a copy of the shipped `rules/` with one edit, and
the Chinese reason names the same code, number or date as the English one."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from services.planner.domain.reasons_zh import shape_zh
from services.planner.domain.ruleset import RuleError, RulesInvalid, check_files, load_ruleset
from services.planner.library import run_rule_tests
from services.planner.rulefiles import read_rule_dir

from .conftest import ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")

# (family, file, text to replace, replacement, English words, Chinese words, tokens in both)
BROKEN = [
    (
        "unknown item",
        "ratios.yaml",
        "when: {item_kind: general}",
        "when: {item_kind: general, item: SCJG-999}",
        "unknown item 'SCJG-999'",
        "不在检查事项清单中",
        ["SCJG-999", "when.item"],
    ),
    (
        "unknown risk class",
        "frequency.yaml",
        "when: {risk_class: A}",
        "when: {risk_class: E}",
        "unknown risk class 'E'",
        "风险分类 E 未配置",
        ["E", "A", "D"],
    ),
    (
        "ratio out of range",
        "ratios.yaml",
        'then: {cap_ratio: "5%"}',
        'then: {cap_ratio: "105%"}',
        "cap_ratio 105% is outside",
        "抽查比例上限",
        ["105%", "cap_ratio"],
    ),
    (
        "duplicate item",
        "items-scjg.yaml",
        "code: SCJG-002",
        "code: SCJG-001",
        "item SCJG-001 is defined twice",
        "定义了两次",
        ["SCJG-001", "items-scjg.yaml:5"],
    ),
    (
        "overlapping rule id",
        "ratios.yaml",
        "id: priority-batches",
        "id: general-cap",
        "rule id general-cap is already effective",
        "重叠",
        ["general-cap", "2023-01-01", "ratios.yaml:11"],
    ),
    (
        "contradiction",
        "ratios.yaml",
        "rules:\n",
        "rules:\n  - id: general-floor\n    name: 一般事项比例下限\n"
        "    effective: {from: 2023-01-01}\n    when: {item_kind: general}\n"
        '    then: {floor_ratio: "6%"}\n',
        "floor 6% is above cap 5%",
        "矛盾",
        ["6%", "5%", "general-floor"],
    ),
    (
        "effective dates reversed",
        "frequency.yaml",
        "effective: {from: 2023-01-01}\n    when: {risk_class: A}",
        "effective: {from: 2023-01-01, to: 2022-06-30}\n    when: {risk_class: A}",
        "effective.to 2022-06-30 is before effective.from 2023-01-01",
        "早于生效日期",
        ["2022-06-30", "2023-01-01"],
    ),
    (
        "YAML syntax",
        "ratios.yaml",
        'then: {cap_ratio: "5%"}',
        'then: {cap_ratio: "5%"',
        "not valid YAML",
        "不是有效的 YAML",
        [],
    ),
    (
        "YAML duplicate key",
        "frequency.yaml",
        "    when: {risk_class: A}\n",
        "    when: {risk_class: A}\n    when: {risk_class: B}\n",
        "duplicate key 'when'",
        "写了两次",
        ["when"],
    ),
    (
        "missing field",
        "ratios.yaml",
        "    name: 一般检查事项抽查比例上限\n",
        "",
        "rules.1.name: Field required",
        "缺少必填字段",
        ["rules.1.name"],
    ),
    (
        "extra field",
        "ratios.yaml",
        "cap_ratio:",
        "cap_ratoi:",
        "rules.1.then.cap_ratoi: Extra inputs are not permitted",
        "不认识的字段",
        ["rules.1.then.cap_ratoi"],
    ),
    (
        "ratio without unit",
        "ratios.yaml",
        'then: {cap_ratio: "5%"}',
        'then: {cap_ratio: "5"}',
        "a ratio must have a unit",
        "须带单位",
        ["rules.1.then.cap_ratio", "5%", "50bp"],
    ),
    (
        "enum",
        "items-scjg.yaml",
        "kind: general",
        "kind: normal",
        "Input should be 'general' or 'priority'",
        "的取值应为",
        ["items.0.kind", "general", "priority"],
    ),
    (
        "date",
        "frequency.yaml",
        "effective: {from: 2023-01-01}",
        "effective: {from: 2023-13-01}",
        "rules.0.effective.from",
        "应为日期",
        ["rules.0.effective.from"],
    ),
    (
        "bounds",
        "frequency.yaml",
        "times: 1, months: 24",
        "times: 0, months: 240",
        "greater than or equal to 1",
        "不能小于 1",
        ["rules.0.then.set_frequency.times"],
    ),
    (
        "pattern",
        "items-scjg.yaml",
        "code: SCJG-001",
        "code: SCJG 001",
        "String should match pattern",
        "的写法不对：只能由英文字母、数字和 . _ : - 组成",
        ["items.0.code"],
    ),
    (
        "enum of many",
        "items-scjg.yaml",
        "methods: [on_site",
        "methods: [on_sit",
        "Input should be 'on_site', 'documents', 'online' or 'commissioned'",
        "取值应为 on_site、documents、online、commissioned 之一",
        ["items.1.methods.0", "on_site", "commissioned"],
    ),
    (
        "holiday weekday worked",
        "holidays/2026.yaml",
        "work: [2026-01-04]",
        "work: [2026-01-05]",
        "2026-01-05 is a 周一, a working day anyway",
        "调休上班日只会是周六或周日",
        ["2026-01-05", "holidays.breaks.0.work.0"],
    ),
    (
        "holiday end before start",
        "holidays/2026.yaml",
        "end: 2026-01-03",
        "end: 2025-12-31",
        "2025-12-31 is before start 2026-01-01",
        "早于第一个放假日",
        ["2025-12-31", "2026-01-01", "holidays.breaks.0.end"],
    ),
    (
        "holiday day twice",
        "holidays/2026.yaml",
        "work: [2026-02-14, 2026-02-28]",
        "work: [2026-02-14, 2026-02-14]",
        "2026-02-14 is already a working day",
        "已是调休上班日",
        ["2026-02-14", "holidays.breaks.1.work.1"],
    ),
    (
        "checklist",
        "items-scjg.yaml",
        "      - id: Q2\n",
        "      - id: Q1\n",
        "duplicate id 'Q1'",
        "编号 Q1 重复",
        ["items.0.checklist.1.id", "items.0.checklist.0", "Q1"],
    ),
    (
        "empty checklist question",
        "items-scjg.yaml",
        "question: 是否于每年1月1日至6月30日报送并公示上一年度年度报告",
        'question: "  "',
        "the question is empty",
        "检查内容为空",
        ["items.0.checklist.0.question"],
    ),
]


def broken_copy(tmp_path: Path, file: str, old: str, new: str) -> dict[str, bytes]:
    """A copy of the shipped rules in tmp_path with `old` replaced once by `new` in `file`."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    path = rules / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return read_rule_dir(rules)


def errors_of(files: dict[str, bytes]) -> list[RuleError]:
    ruleset, errors = check_files(files)
    assert ruleset is None and errors
    return errors


def assert_all_in_chinese(errors: list[RuleError]) -> None:
    for e in errors:
        assert e.reason_zh and CJK.search(e.reason_zh), f"no Chinese for {e}"
        assert e.as_dict()["reason_zh"] == e.reason_zh


@pytest.mark.parametrize(
    ("file", "old", "new", "en", "zh", "same"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_each_reason_in_chinese_names_the_same_facts(
    tmp_path: Path, file: str, old: str, new: str, en: str, zh: str, same: list[str]
) -> None:
    errors = errors_of(broken_copy(tmp_path, file, old, new))
    hit = next((e for e in errors if en in e.reason), None)
    assert hit is not None, [str(e) for e in errors]
    assert hit.file == file
    assert zh in hit.reason_zh and CJK.search(hit.reason_zh), hit.reason_zh
    for token in same:
        assert token in hit.reason and token in hit.reason_zh, (token, hit.reason, hit.reason_zh)
    assert hit.as_dict()["reason"] == hit.reason  # the English stays, for the API and the CLI
    assert hit.as_dict()["reason_zh"] == hit.reason_zh
    assert_all_in_chinese(errors)


def test_no_reason_of_the_broken_corpus_lacks_its_chinese(tmp_path: Path) -> None:
    seen = 0
    for i, (_, file, old, new, *_rest) in enumerate(BROKEN):
        errors = errors_of(broken_copy(tmp_path / str(i), file, old, new))
        assert_all_in_chinese(errors)
        seen += len(errors)
    # Whole-set reasons: no rule files, no ruleset section, two of them, not UTF-8, not a mapping.
    shipped = read_rule_dir(ROOT / "rules")
    without_meta = {p: b for p, b in shipped.items() if p != "00-ruleset.yaml"}
    for files in (
        {"notes.txt": b"x"},
        {**without_meta},
        {**shipped, "again.yaml": shipped["00-ruleset.yaml"]},
        {**shipped, "latin1.yaml": "名".encode("gb18030")},
        {**shipped, "list.yaml": b"- a\n- b\n"},
        {**shipped, "tab.yaml": b"rules:\n\t- id: x\n"},
    ):
        errors = errors_of(files)
        assert_all_in_chinese(errors)
        seen += len(errors)
    assert seen >= len(BROKEN) + 6


def test_a_refused_set_carries_the_chinese_in_its_details(tmp_path: Path) -> None:
    files = broken_copy(tmp_path, "ratios.yaml", 'cap_ratio: "5%"', 'cap_ratio: "105%"')
    with pytest.raises(RulesInvalid) as caught:
        load_ruleset(files)
    details = caught.value.details
    assert details and all(CJK.search(str(d["reason_zh"])) for d in details)
    assert any("105%" in str(d["reason_zh"]) for d in details)


def test_yaml_tab_and_unknown_problem_in_chinese() -> None:
    errors = errors_of({"r.yaml": b"rules:\n\t- id: x\n"})
    assert "制表符" in errors[0].reason_zh and errors[0].line == 2


@pytest.mark.parametrize(
    ("err", "zh"),
    [
        ({"type": "missing", "loc": ("stratum", "ratio"), "msg": "Field required"}, "缺少必填字段"),
        ({"type": "string_type", "loc": ("name",), "msg": "x"}, "name（名称）应为文本"),
        ({"type": "int_parsing", "loc": ("n",), "msg": "x"}, "n（候选户数）应为整数"),
        (
            {"type": "literal_error", "loc": ("a",), "msg": "x", "ctx": {"expected": "True"}},
            "取值应为 True 之一",
        ),
        (
            {"type": "less_than_equal", "loc": ("year",), "msg": "x", "ctx": {"le": 2100}},
            "year（年份）不能大于 2100",
        ),
        (
            {"type": "date_from_datetime_parsing", "loc": ("date",), "msg": "x"},
            "date（日期）应为日期",
        ),
        (
            {"type": "too_short", "loc": ("cases",), "msg": "x", "ctx": {"min_length": 1}},
            "cases（测试用例）至少要有 1 项",
        ),
        (
            {"type": "too_long", "loc": ("tags",), "msg": "x", "ctx": {"max_length": 3}},
            "tags 最多 3 项",
        ),
        (
            {"type": "value_error", "loc": ("x",), "msg": "Value error, plain", "ctx": {}},
            "x：取值不符合要求：plain",
        ),
        ({"type": "brand_new", "loc": ("x",), "msg": "Some new thing"}, "取值不符合要求：Some new"),
    ],
)
def test_pydantic_errors_by_type(err: dict[str, object], zh: str) -> None:
    said = shape_zh(err)
    assert zh in said and CJK.search(said)


# ---- the rule tests (rules/tests/*.yaml) ----------------------------------------------------


def test_a_failing_case_says_why_in_chinese(tmp_path: Path) -> None:
    files = broken_copy(
        tmp_path, "tests/ratios.yaml", "expect: {bp: 500, k: 5,", "expect: {bp: 600, k: 6,"
    )
    ruleset = load_ruleset(files)
    results, errors = run_rule_tests(files, ruleset)
    assert errors == []
    failing = [r for r in results if not r.ok]
    assert len(failing) == 1
    r = failing[0]
    assert r.failures == ("bp 500 != 600", "k 5 != 6")  # the English as before
    assert len(r.failures_zh) == len(r.failures)
    bp_zh, k_zh = r.failures_zh
    assert "抽查比例" in bp_zh and "500" in bp_zh and "600" in bp_zh and "6%" in bp_zh
    assert "抽取户数" in k_zh and "为 5" in k_zh and "期望 6" in k_zh
    assert all(f.ok == (f.failures_zh == ()) for f in results)


@pytest.mark.parametrize(
    ("old", "new", "en", "zh", "same"),
    [
        (
            "item: SCJG-001, risk_class: B",
            "item: SCJG-999, risk_class: B",
            "unknown item",
            "不在检查事项清单中",
            "SCJG-999",
        ),
        (
            "item: SCJG-001, risk_class: B",
            "item: SCJG-001, risk_class: E",
            "unknown risk class",
            "未配置",
            "E",
        ),
        (
            'n: 100, ratio: "7%",',
            'n: 100, ratio: "7%", count: 3,',
            "exactly one of ratio or count",
            "只填写一项",
            "count",
        ),
        (
            "excluded: false, merged: qyxx-sw",
            "excluded: true, merged: qyxx-xx",
            "merged qyxx-sw != qyxx-xx",
            "联合抽查组",
            "qyxx-xx",
        ),
    ],
)
def test_each_case_failure_in_chinese(
    tmp_path: Path, old: str, new: str, en: str, zh: str, same: str
) -> None:
    files = broken_copy(tmp_path, "tests/ratios.yaml", old, new)
    results, _ = run_rule_tests(files, load_ruleset(files))
    r = next(r for r in results if not r.ok)
    said = dict(zip(r.failures, r.failures_zh, strict=True))
    en_hit = next(f for f in said if en in f)
    assert zh in said[en_hit] and same in said[en_hit] and CJK.search(said[en_hit])
    assert all(CJK.search(z) for z in r.failures_zh)


@pytest.mark.parametrize(
    ("old", "new", "zh"),
    [
        ("cases:\n", "cases: [\n", "不是有效的 YAML"),
        (
            "    expect: {bp: 500, k: 5,",
            "    expext: {bp: 500, k: 5,",
            "不认识的字段 cases.0.expext",
        ),
        ('n: 100, ratio: "7%",', 'ratio: "7%",', "缺少必填字段 cases.0.stratum.n"),
    ],
)
def test_a_case_file_that_does_not_parse_says_why_in_chinese(
    tmp_path: Path, old: str, new: str, zh: str
) -> None:
    files = broken_copy(tmp_path, "tests/ratios.yaml", old, new)
    _, errors = run_rule_tests(files, load_ruleset(files))
    assert errors and all(e.file == "tests/ratios.yaml" for e in errors)
    assert any(zh in e.reason_zh for e in errors), [e.reason_zh for e in errors]
    assert_all_in_chinese(errors)


def test_the_cli_prints_the_chinese_under_the_english(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from spotcheck.cli import app

    broken_copy(tmp_path, "holidays/2026.yaml", "work: [2026-01-04]", "work: [2026-01-05]")
    r = CliRunner().invoke(app, ["rules", "check", str(tmp_path / "rules")])
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    i = next(i for i, line in enumerate(lines) if "2026-01-05 is a 周一" in line)
    assert lines[i].startswith("holidays/2026.yaml:") and "[holidays 2026 元旦]" in lines[i]
    assert lines[i + 1].startswith("    holidays.breaks.0.work.0：2026-01-05 是周一")
    assert "规则集未通过检查，共 1 处错误" in lines[-1]
