"""The shipped result-category table and its flags."""

from __future__ import annotations

import pytest

from services.publisher.domain.categories import build_table, load_categories

STANDARD = [
    "未发现问题",
    "未按规定公示应当公示的信息",
    "公示信息隐瞒真实情况、弄虚作假",
    "通过登记的住所（经营场所）无法联系",
    "未发现开展本次抽查涉及的经营活动",
    "发现问题已责令改正",
    "发现问题待后续处理",
    "不配合检查情节严重",
    "已关闭停业或正在组织清算",
]


def test_every_standard_category_is_in_the_table() -> None:
    table = load_categories()
    for name in STANDARD:
        cat = table.resolve(name)
        assert cat is not None, name
        assert cat.name == name


def test_codes_names_and_old_spellings_resolve_to_the_same_code() -> None:
    table = load_categories()
    assert table.resolve("C") == table.resolve("公示信息隐瞒真实情况弄虚作假")
    assert table.resolve("E") == table.resolve("发现问题经责令已改正")
    assert table.resolve(" 1 ") == table.resolve("未发现问题")
    assert table.resolve("没有这个结果") is None


def test_violation_referral_and_feedback_flags() -> None:
    table = load_categories()
    clean = table.resolve("未发现问题")
    assert clean is not None and not clean.violation and not clean.referral
    assert clean.credit_feedback  # a clean result also moves the credit-risk class
    corrected = table.resolve("发现问题已责令改正")
    assert corrected is not None and corrected.violation and not corrected.referral
    for name in ("公示信息隐瞒真实情况、弄虚作假", "不配合检查情节严重", "发现问题待后续处理"):
        cat = table.resolve(name)
        assert cat is not None and cat.violation and cat.referral, name
    assert table.needs_referral(["1", "8"]) and not table.needs_referral(["1", "E", "F"])
    assert table.any_violation(["E"]) and not table.any_violation(["1", "7"])
    assert not table.needs_credit_feedback(["F"])
    assert table.needs_licensing_feedback(["6"]) and not table.needs_licensing_feedback(["1"])


def test_subcategories_point_at_existing_parents() -> None:
    table = load_categories()
    b = table.by_code["B"]
    assert b.parent == "2" and table.by_code["2"].parent == "A"


def test_a_broken_table_is_refused() -> None:
    row = {
        "code": "1",
        "name": "x",
        "violation": False,
        "referral": False,
        "credit_feedback": True,
        "licensing_feedback": False,
    }
    with pytest.raises(ValueError, match="twice"):
        build_table({"version": "t", "categories": [row, row]})
    with pytest.raises(ValueError, match="referred but not a violation"):
        build_table({"version": "t", "categories": [{**row, "referral": True}]})
    with pytest.raises(ValueError, match="unknown parent"):
        build_table({"version": "t", "categories": [{**row, "parent": "Z"}]})
