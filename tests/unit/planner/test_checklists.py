"""Items' checklists (检查表) in the rule files: how they read, and every error with its line.

Each error names the file, the line, the item, the field and the reason, the way `rules check`
prints it (`items-x.yaml:7: [X1 名称] items.0.checklist.1.id: …`).
"""

from __future__ import annotations

import pytest

from contracts.rules import ExpectedAnswer
from services.planner.domain.ruleset import RuleSet, check_files, load_ruleset

from .conftest import files_with

HEAD = """\
items:
  - code: X1
    name: 企业公示信息的检查
    department: SCJG
    kind: general
    legal_basis: 《企业信息公示暂行条例》第十四条
    methods: [documents]
"""


def with_items(text: str) -> dict[str, bytes]:
    """The inline rule set plus `items-x.yaml` holding `text`."""
    return {**files_with("rules: []\n"), "items-x.yaml": text.encode()}


def errors_of(text: str) -> list[str]:
    ruleset, errors = check_files(with_items(text))
    assert ruleset is None
    return [str(e) for e in errors]


def test_a_checklist_reads_with_defaults_and_yaml_booleans() -> None:
    rs = load_ruleset(
        with_items(
            HEAD
            + """\
    checklist:
      - id: Q1
        question: 年度报告是否按时公示
        basis: 《企业信息公示暂行条例》第八条
      - {id: Q2, question: 公示的资产、从业人数等信息是否真实}
      - id: Q3
        question: 是否存在公示信息隐瞒真实情况、弄虚作假的情形
        expects: no
      - {id: Q4, question: 是否按规定公示即时信息, expects: "yes"}
      - {id: Q5, question: 是否拒绝检查, expects: "no"}
"""
        )
    )
    questions = rs.items["X1"].checklist
    assert [q.id for q in questions] == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    assert questions[0].basis == "《企业信息公示暂行条例》第八条" and questions[1].basis is None
    # `expects: no` is a YAML boolean; it reads as the word written. Default: yes.
    assert [q.expects for q in questions] == [
        ExpectedAnswer.YES,
        ExpectedAnswer.YES,
        ExpectedAnswer.NO,
        ExpectedAnswer.YES,
        ExpectedAnswer.NO,
    ]


def test_an_item_without_a_checklist_still_reads() -> None:
    assert load_ruleset(with_items(HEAD)).items["X1"].checklist == []


def test_the_same_id_in_two_items_is_fine() -> None:
    second = HEAD.replace("X1", "X2").removeprefix("items:\n")
    text = HEAD + "    checklist: [{id: Q1, question: 甲}]\n" + second
    text += "    checklist: [{id: Q1, question: 乙}]\n"
    rs = load_ruleset(with_items(text))
    assert rs.items["X1"].checklist[0].id == rs.items["X2"].checklist[0].id == "Q1"


def test_unknown_field_names_file_line_item_and_field() -> None:
    errs = errors_of(
        HEAD
        + """\
    checklist:
      - id: Q1
        question: 年度报告是否按时公示
      - id: Q2
        question: 公示的信息是否真实
        answer: 是
"""
    )
    assert errs == [
        "items-x.yaml:13: [X1 企业公示信息的检查] items.0.checklist.1.answer: "
        "Extra inputs are not permitted"
    ]


def test_duplicate_id_names_the_second_and_points_at_the_first() -> None:
    errs = errors_of(
        HEAD
        + """\
    checklist:
      - id: Q1
        question: 年度报告是否按时公示
      - id: Q2
        question: 公示的信息是否真实
      - id: Q1
        question: 是否按时公示即时信息
"""
    )
    assert errs == [
        "items-x.yaml:13: [X1 企业公示信息的检查] items.0.checklist.2.id: duplicate id 'Q1',"
        " already the id of items.0.checklist.0 (line 9): each question of an item needs its"
        " own id"
    ]


@pytest.mark.parametrize(
    "question",
    ['question: ""', 'question: "   "', "question:", "question: null"],
    ids=["empty", "blank", "no-value", "null"],
)
def test_empty_question_names_its_line_and_field(question: str) -> None:
    errs = errors_of(
        HEAD
        + f"""\
    checklist:
      - id: Q1
        question: 年度报告是否按时公示
      - id: Q2
        {question}
"""
    )
    assert errs == [
        "items-x.yaml:12: [X1 企业公示信息的检查] items.0.checklist.1.question: "
        "the question is empty: write what the inspector answers (是/否/不适用)"
    ]


def test_missing_question_and_other_shape_errors() -> None:
    errs = errors_of(
        HEAD
        + """\
    checklist:
      - id: Q1
      - id: Q 2
        question: 问题
      - id: Q3
        question: 问题
        expects: maybe
      - id: Q4
        question: 问题
        basis: ""
"""
    )
    label = "[X1 企业公示信息的检查]"
    assert errs[0] == f"items-x.yaml:9: {label} items.0.checklist.0.question: Field required"
    assert errs[1].startswith(f"items-x.yaml:10: {label} items.0.checklist.1.id: String should")
    assert errs[2] == (
        f"items-x.yaml:14: {label} items.0.checklist.2.expects: Input should be 'yes' or 'no'"
    )
    assert errs[3] == (
        f"items-x.yaml:17: {label} items.0.checklist.3.basis: "
        "basis is empty: name the clause, or leave basis out"
    )
    assert len(errs) == 4


def test_every_shipped_item_has_a_checklist(shipped: RuleSet) -> None:
    assert len(shipped.items) == 14
    for code, item in shipped.items.items():
        assert 3 <= len(item.checklist) <= 8, code
        assert [q.id for q in item.checklist] == [
            f"Q{n}" for n in range(1, len(item.checklist) + 1)
        ], code
        for q in item.checklist:
            assert q.question.startswith("是否") or "是否" in q.question, (code, q.id)
            assert q.basis is None or q.basis.startswith("《"), (code, q.id)
