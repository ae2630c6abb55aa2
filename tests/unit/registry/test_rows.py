"""Row validation: every field named, reasons in Chinese and English."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.registry.domain.rows import (
    ENTITY_FIELDS,
    INSPECTOR_FIELDS,
    Vocabulary,
    validate_entity,
    validate_inspector,
)

VOCAB = Vocabulary()
GOOD_ENTITY = {
    "uscc": "91360202MA3500000A",
    "name": "景德镇昌江瓷业有限公司",
    "entity_type": "企业",
    "region_code": "360202",
    "industry_code": "3074",
    "status": "存续",
    "abnormal": "否",
    "risk_class": "b",
    "risk_class_date": "2025-03-01",
    "tags": "食品经营；特种设备使用;食品经营",
    "key_supervision": "",
    "address": "昌江区珠山路1号",
    "established": "2010-05-20",
}
GOOD_INSPECTOR = {
    "inspector_id": "JX-0001",
    "name": "王芳",
    "department": "昌江区市场监督管理局",
    "region_codes": "360202;360203",
    "certificate_no": "36020200001",
    "certificate_expiry": "2028-12-31",
    "expertise": "食品;特种设备",
    "status": "在岗",
    "capacity": "40",
    "recusal_usccs": "91360202MA3500001D",
}


def entity(**changes: Any) -> list[Any]:
    row = {**GOOD_ENTITY, **changes}
    return [row[f] for f in ENTITY_FIELDS]


def inspector(**changes: Any) -> list[Any]:
    row = {**GOOD_INSPECTOR, **changes}
    return [row[f] for f in INSPECTOR_FIELDS]


def test_good_entity_is_normalised() -> None:
    record, errors = validate_entity(entity(), VOCAB)
    assert errors == []
    assert record == (
        "91360202MA3500000A",
        "景德镇昌江瓷业有限公司",
        "企业",
        "360202",
        "C3074",
        "存续",
        False,
        "B",
        date(2025, 3, 1),
        ["食品经营", "特种设备使用"],
        [],
        "昌江区珠山路1号",
        date(2010, 5, 20),
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"uscc": "91360202MA3500000B"}, "uscc"),
        ({"uscc": ""}, "uscc"),
        ({"name": " "}, "name"),
        ({"entity_type": "公司"}, "entity_type"),
        ({"region_code": "999999"}, "region_code"),
        ({"industry_code": "Z9999"}, "industry_code"),
        ({"industry_code": "A3074"}, "industry_code"),
        ({"status": "营业"}, "status"),
        ({"abnormal": "maybe"}, "abnormal"),
        ({"risk_class": "E"}, "risk_class"),
        ({"risk_class_date": ""}, "risk_class_date"),
        ({"risk_class_date": "2025-02-30"}, "risk_class_date"),
        ({"established": "20100520"}, "established"),
        ({"tags": "x" * 40}, "tags"),
        ({"address": "路" * 301}, "address"),
    ],
)
def test_each_bad_entity_field_is_named(changes: dict[str, str], field: str) -> None:
    record, errors = validate_entity(entity(**changes), VOCAB)
    assert record is None
    assert [e.field for e in errors] == [field]
    assert errors[0].zh and errors[0].en
    assert set(errors[0].as_dict()) == {"field", "reason_zh", "reason_en"}


def test_all_problems_of_a_row_are_reported() -> None:
    _, errors = validate_entity(entity(uscc="X", region_code="1", industry_code="?"), VOCAB)
    assert {e.field for e in errors} == {"uscc", "region_code", "industry_code"}


def test_risk_classes_are_configuration() -> None:
    shandong = Vocabulary(risk_classes=frozenset("ABCDE"))
    assert validate_entity(entity(risk_class="E"), shandong)[1] == []
    assert validate_entity(entity(risk_class="E"), VOCAB)[0] is None


def test_json_values_are_accepted() -> None:
    record, errors = validate_entity(
        entity(
            abnormal=True, tags=["食品经营", " ", "网络交易"], risk_class=None, risk_class_date=None
        ),
        VOCAB,
    )
    assert errors == []
    assert record is not None
    assert record[6] is True and record[7] is None and record[9] == ["食品经营", "网络交易"]


def test_good_inspector() -> None:
    record, errors = validate_inspector(inspector(), VOCAB)
    assert errors == []
    assert record == (
        "JX-0001",
        "王芳",
        "昌江区市场监督管理局",
        ["360202", "360203"],
        "36020200001",
        date(2028, 12, 31),
        ["食品", "特种设备"],
        "active",
        40,
        ["91360202MA3500001D"],
        ["declared"],
    )


def test_recusals_carry_their_relation() -> None:
    from typing import get_args

    from contracts.registry import Recusal
    from services.registry.domain.vocabulary import RECUSAL_RELATIONS

    given = "91360202MA3500001D:近亲属；91360202MA3500000A：曾任职|91360202MA3500001D"
    record, errors = validate_inspector(inspector(recusal_usccs=given), VOCAB)
    assert errors == [] and record is not None
    # the repeated USCC is kept once, with its first relation
    assert record[9] == ["91360202MA3500001D", "91360202MA3500000A"]
    assert record[10] == ["relative", "former_employee"]
    as_json = [{"uscc": "91360202MA3500000A", "relation": "interest"}, "91360202MA3500001D"]
    record, errors = validate_inspector(inspector(recusal_usccs=as_json), VOCAB)  # type: ignore[arg-type]
    assert errors == [] and record is not None and record[10] == ["interest", "declared"]
    record, errors = validate_inspector(
        inspector(recusal_usccs="91360202MA3500000A:远房表亲"), VOCAB
    )
    assert record is None and errors[0].field == "recusal_usccs"
    assert "远房表亲" in errors[0].zh and "relation" in errors[0].en
    # declared twice: a relation given once counts; two different relations are refused
    twice = "91360202MA3500000A;91360202MA3500000A:持股"
    record, errors = validate_inspector(inspector(recusal_usccs=twice), VOCAB)
    assert errors == [] and record is not None and record[10] == ["interest"]
    clash = "91360202MA3500000A:持股;91360202MA3500000A:近亲属"
    record, errors = validate_inspector(inspector(recusal_usccs=clash), VOCAB)
    assert record is None and "different relations" in errors[0].en
    # the contract admits exactly the codes the registry stores
    assert set(get_args(Recusal.model_fields["relation"].annotation)) == set(RECUSAL_RELATIONS)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"inspector_id": "JX 1"}, "inspector_id"),
        ({"department": ""}, "department"),
        ({"region_codes": ""}, "region_codes"),
        ({"region_codes": "360202;999999"}, "region_codes"),
        ({"certificate_expiry": ""}, "certificate_expiry"),
        ({"certificate_expiry": "2028/12/31"}, "certificate_expiry"),
        ({"expertise": "食品;占卜"}, "expertise"),
        ({"status": "出差"}, "status"),
        ({"capacity": "-3"}, "capacity"),
        ({"recusal_usccs": "91360202MA3500001X"}, "recusal_usccs"),
    ],
)
def test_each_bad_inspector_field_is_named(changes: dict[str, str], field: str) -> None:
    record, errors = validate_inspector(inspector(**changes), VOCAB)
    assert record is None
    assert [e.field for e in errors] == [field]


def test_fast_checker_agrees_with_validate_entity_on_every_row() -> None:
    import csv
    import io

    from services.registry.domain import synthetic
    from services.registry.domain.fastrows import EntityChecker

    out = io.StringIO()
    synthetic.write_entities(out, 3000, seed=3, bad=0.2)
    rows = list(csv.reader(io.StringIO(out.getvalue())))[1:]
    vocab = Vocabulary()
    edge = [
        line.split("|")
        for line in (
            "91360202MA3500000A| 名称 |企业|360202|3074||是|b|2025-01-01|食品经营；食品经营|||",
            "91360202ma3500000a|名称|企业|360202|C3074|存续|0|D||||| 2020-02-30",
            "91360202MA3500000A|名称|企业|360202|C3074|存续|0||2025-01-01|" + "x" * 40 + "|||",
            "91360202MA3500000A|名称|企业|360202|C3074|存续|0|||||" + "地" * 301 + "|",
            "91360202MA3500000A|名称|个体工商户|360202|c3074|吊销|1|A|2025-01-01|a;b;a|特种设备|地址|1999-12-31",
        )
    ]
    json_like: list[Any] = ["91360202MA3500000A", "名称", "企业", "360202", "C3074", "存续"]
    json_like += [True, "", "", ["食品经营", "x"], None, "", ""]
    edge.append(json_like)
    checker = EntityChecker(vocab)
    fast = 0
    for row in rows + edge + rows[:200]:
        expected = validate_entity(row, vocab)
        got = checker.check(row)
        assert got[0] == expected[0], row
        assert [e.as_dict() for e in got[1]] == [e.as_dict() for e in expected[1]], row
        fast += got[0] is not None
    assert fast > 2000
