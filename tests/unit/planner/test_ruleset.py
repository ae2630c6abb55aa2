"""The rule-file loader: shipped rules, version, and every error path with its message."""

from __future__ import annotations

import hashlib

import pytest

from services.planner.domain.ruleset import (
    RuleSet,
    RulesInvalid,
    check_files,
    load_ruleset,
    version_of,
)

from .conftest import META, files_with


def errors_of(files: dict[str, bytes]) -> list[str]:
    ruleset, errors = check_files(files)
    assert ruleset is None
    return [str(e) for e in errors]


def test_shipped_rules_load(shipped: RuleSet) -> None:
    assert shipped.risk_classes == ["A", "B", "C", "D"]
    assert set(shipped.departments) == {"SCJG", "SW", "STHJ"}
    assert len(shipped.items) >= 10
    assert {i.department for i in shipped.items.values()} == {"SCJG", "SW", "STHJ"}
    stages = [r.stage for r in shipped.rules]
    assert stages == sorted(stages)


def test_version_layout_is_sorted_paths_and_contents() -> None:
    files = {"b.yaml": b"x: 1\n", "a.yaml": b"y\n", "tests/t.yaml": b"ignored", "n.txt": b"no"}
    digest = hashlib.sha256(b"a.yaml\n2\ny\n\n" + b"b.yaml\n5\nx: 1\n\n").hexdigest()
    assert version_of(files) == digest
    assert version_of(dict(reversed(list(files.items())))) == digest
    assert version_of({**files, "tests/t.yaml": b"changed"}) == digest
    assert version_of({**files, "a.yaml": b"y \n"}) != digest


def test_a_good_small_set_loads() -> None:
    rs = load_ruleset(
        files_with("""\
rules:
  - id: cap
    name: 上限
    effective: {from: 2026-01-01}
    when: {item_kind: general}
    then: {cap_ratio: "5%"}
""")
    )
    assert rs.rules[0].rule.then.cap_ratio == 500
    assert rs.rules[0].file == "r.yaml" and rs.rules[0].line == 2


def test_yaml_syntax_error_names_file_and_line() -> None:
    errs = errors_of(files_with("rules:\n  - id: x\n    name: [unclosed\n"))
    assert len(errs) == 1 and errs[0].startswith("r.yaml:") and "not valid YAML" in errs[0]


def test_duplicate_key_is_an_error() -> None:
    errs = errors_of(files_with("rules: []\nrules: []\n"))
    assert errs == ["r.yaml:2: duplicate key 'rules'"]


def test_shape_errors_name_line_and_rule() -> None:
    errs = errors_of(
        files_with("""\
rules:
  - id: ok
    name: 好
    effective: {from: 2026-01-01}
    then: {cap_ratio: "5%"}
  - id: bad-ratio
    name: 坏比例
    effective: {from: 2026-01-01}
    then:
      cap_ratio: 0.05
  - id: two-effects
    name: 两个效果
    effective: {from: 2026-01-01}
    then: {cap_ratio: "5%", exclude: 不抽}
  - id: typo
    name: 拼写
    effective: {from: 2026-01-01}
    whn: {risk_class: A}
    then: {cap_ratio: "5%"}
""")
    )
    assert errs[0].startswith("r.yaml:10: [bad-ratio 坏比例] rules.1.then.cap_ratio:")
    assert 'a ratio must have a unit: write "5%" or "50bp", not 0.05' in errs[0]
    assert errs[1].startswith("r.yaml:14: [two-effects 两个效果] rules.2.then:")
    assert "exactly one of" in errs[1]
    assert errs[2].startswith("r.yaml:18: [typo 拼写] rules.3.whn: Extra inputs")
    assert len(errs) == 3


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('when: {item: NOPE}\n    then: {cap_ratio: "5%"}', "unknown item 'NOPE' in when.item"),
        ('when: {risk_class: E}\n    then: {cap_ratio: "5%"}', "unknown risk class 'E'"),
        ('when: {department: XX}\n    then: {cap_ratio: "5%"}', "unknown department 'XX'"),
        ('then: {cap_ratio: "120%"}', "cap_ratio 120% is outside (0, 100%]"),
        ('then: {cap_ratio: "0%"}', "cap_ratio 0% is outside (0, 100%]"),
        ('then: {floor_ratio: "101%"}', "floor_ratio 101% is outside (0, 100%]"),
        ('then: {set_ratio: "150%"}', "set_ratio 150% is outside [0, 100%]"),
        ('then: {multiply_ratio: "0"}', "multiply_ratio 0 is outside (0, 100]"),
        ("then: {merge: {group: g, lead: XX}}", "unknown lead department 'XX' in merge"),
        (
            'when: {item: T1, item_kind: priority}\n    then: {cap_ratio: "5%"}',
            "the condition matches no item of the catalogue",
        ),
    ],
)
def test_meaning_errors(rule: str, message: str) -> None:
    errs = errors_of(
        files_with(f"""\
rules:
  - id: the-rule
    name: 规则
    effective: {{from: 2026-01-01}}
    {rule}
""")
    )
    assert len(errs) == 1, errs
    assert errs[0].startswith("r.yaml:2: [the-rule 规则] ") and message in errs[0], errs[0]


def test_effective_to_before_from() -> None:
    errs = errors_of(
        files_with("""\
rules:
  - id: r
    name: 规则
    effective: {from: 2026-06-01, to: 2026-01-01}
    then: {cap_ratio: "5%"}
""")
    )
    assert errs == [
        "r.yaml:2: [r 规则] effective.to 2026-01-01 is before effective.from 2026-06-01"
    ]


def test_same_rule_id_with_overlapping_dates() -> None:
    errs = errors_of(
        files_with("""\
rules:
  - id: cap
    name: 上限旧
    effective: {from: 2025-01-01, to: 2026-06-30}
    then: {cap_ratio: "5%"}
  - id: cap
    name: 上限新
    effective: {from: 2026-06-01}
    then: {cap_ratio: "3%"}
""")
    )
    assert len(errs) == 1
    assert errs[0].startswith("r.yaml:6: [cap 上限新] rule id cap is already effective")
    assert "overlap" in errs[0]


def test_same_rule_id_with_consecutive_dates_is_fine() -> None:
    rs = load_ruleset(
        files_with("""\
rules:
  - id: cap
    name: 上限旧
    effective: {from: 2025-01-01, to: 2026-05-31}
    then: {cap_ratio: "5%"}
  - id: cap
    name: 上限新
    effective: {from: 2026-06-01}
    then: {cap_ratio: "3%"}
""")
    )
    assert len(rs.rules) == 2


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ('{set_ratio: "2%"}', '{set_ratio: "3%"}', "sets the ratio to 3% where a 甲 sets 2%"),
        (
            "{require_method: on_site}",
            "{forbid_method: on_site}",
            "requires and forbids method on_site",
        ),
        ('{floor_ratio: "6%"}', '{cap_ratio: "5%"}', "floor 6% is above cap 5%"),
        (
            "{merge: {group: g1, lead: SCJG}}",
            "{merge: {group: g2, lead: SCJG}}",
            "different joint group",
        ),
        (
            "{set_frequency: {times: 1, months: 12}}",
            "{set_frequency: {times: 2, months: 12}}",
            "different frequency",
        ),
        ("{batch: {size: 10}}", "{batch: {size: 20}}", "different batch size"),
    ],
)
def test_contradicting_rules(a: str, b: str, message: str) -> None:
    errs = errors_of(
        files_with(f"""\
rules:
  - id: a
    name: 甲
    effective: {{from: 2026-01-01}}
    when: {{risk_class: [C, D]}}
    then: {a}
  - id: b
    name: 乙
    effective: {{from: 2026-01-01}}
    when: {{risk_class: D, item_kind: general}}
    then: {b}
""")
    )
    assert len(errs) == 1, errs
    assert errs[0].startswith("r.yaml:7: [b 乙] contradicts a 甲: ") and message in errs[0], errs[0]


def test_no_contradiction_when_conditions_or_dates_do_not_meet() -> None:
    load_ruleset(
        files_with("""\
rules:
  - id: a
    name: 甲
    effective: {from: 2026-01-01}
    when: {risk_class: C, item_kind: priority}
    then: {set_ratio: "2%"}
  - id: b
    name: 乙
    effective: {from: 2026-01-01}
    when: {risk_class: D, item_kind: priority}
    then: {set_ratio: "3%"}
  - id: c
    name: 丙
    effective: {from: 2020-01-01, to: 2020-12-31}
    when: {risk_class: D, item_kind: priority}
    then: {set_ratio: "9%"}
  - id: d
    name: 丁
    effective: {from: 2026-01-01}
    when: {item: T1}
    then: {set_ratio: "9%"}
  - id: e
    name: 戊
    effective: {from: 2026-01-01}
    when: {item: G1, region: "3602"}
    then: {set_ratio: "8%"}
  - id: f
    name: 己
    effective: {from: 2026-01-01}
    when: {item: G1, region: "3603"}
    then: {set_ratio: "7%"}
""")
    )


def test_catalogue_errors() -> None:
    meta = (
        META
        + """\
  - {code: G1, name: 重复, department: SCJG, kind: general, legal_basis: 条例, methods: [on_site]}
  - {code: X1, name: 无部门, department: NOPE, kind: general, legal_basis: 条例, methods: [on_site]}
"""
    )
    errs = errors_of(files_with("rules: []\n", meta))
    assert errs[0].startswith("00-meta.yaml:18: [G1 重复] item G1 is defined twice")
    assert errs[1] == "00-meta.yaml:19: [X1 无部门] unknown department 'NOPE'"


def test_missing_and_double_ruleset_sections() -> None:
    assert errors_of({"r.yaml": b"rules: []\n"}) == [
        "(rule set):0: no file has a `ruleset:` section"
    ]
    errs = errors_of({"a.yaml": META.encode(), "b.yaml": META.encode()})
    assert errs[0].startswith("b.yaml:1: second `ruleset:` section (the first is in a.yaml)")
    assert errors_of({}) == ["(rule set):0: no rule files (*.yaml) found"]
    assert errors_of({"a.yaml": b"- 1\n- 2\n", **files_with("rules: []")})[0] == (
        "a.yaml:1: a rule file is a mapping of sections"
    )


def test_load_ruleset_raises_with_every_error() -> None:
    with pytest.raises(RulesInvalid) as info:
        load_ruleset(files_with("rules:\n  - id: x\n    name: x\n"))
    assert info.value.status == 422
    assert len(info.value.errors) == 2  # effective and then are missing
    assert {d["reason"].split(":")[0] for d in info.value.details} == {
        "rules.0.effective",
        "rules.0.then",
    }
