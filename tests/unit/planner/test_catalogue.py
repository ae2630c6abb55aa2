"""The item catalogue as `GET /items` answers it: every item, its department's name, its
key-supervision labels and its checklist, in the rule files' order."""

from __future__ import annotations

from contracts.rules import ExpectedAnswer, ItemKind, Method
from services.planner.domain.catalogue import catalogue, catalogue_item, items_by_code
from services.planner.domain.ruleset import RuleSet, load_ruleset

from .conftest import META, files_with


def test_the_shipped_catalogue_in_file_order(shipped: RuleSet) -> None:
    cat = catalogue(shipped)
    assert cat.rules_version == shipped.version
    assert [i.code for i in cat.items] == [
        *(f"SCJG-00{n}" for n in range(1, 10)),
        "STHJ-001",
        "STHJ-002",
        "STHJ-003",
        "SW-001",
        "SW-002",
    ]
    first = cat.items[0]
    assert (first.department.code, first.department.name) == ("SCJG", "昌江区市场监督管理局")
    assert first.kind is ItemKind.GENERAL
    assert first.methods == [Method.DOCUMENTS, Method.ONLINE, Method.ON_SITE]
    assert first.applies_to.entity_types == ["企业"]
    assert first.checklist[0].id == "Q1" and first.checklist[0].expects is ExpectedAnswer.YES
    assert first.checklist[-1].expects is ExpectedAnswer.NO
    assert (first.key_supervision, first.key_supervision_labels) == (False, [])
    food = next(i for i in cat.items if i.code == "SCJG-008")
    assert (food.key_supervision, food.key_supervision_labels) == (True, ["食品生产"])


def test_filters_by_department_and_kind(shipped: RuleSet) -> None:
    assert [i.code for i in catalogue(shipped, department="SW").items] == ["SW-001", "SW-002"]
    priority = catalogue(shipped, kind=ItemKind.PRIORITY).items
    assert [i.code for i in priority] == [
        "SCJG-003",
        "SCJG-004",
        "SCJG-008",
        "SCJG-009",
        "STHJ-001",
    ]
    both = catalogue(shipped, department="STHJ", kind=ItemKind.GENERAL).items
    assert [i.code for i in both] == ["STHJ-002", "STHJ-003"]
    assert catalogue(shipped, department="NOPE").items == []


def test_one_item_or_none(shipped: RuleSet) -> None:
    item = catalogue_item(shipped, "SW-002")
    assert item is not None and item.department.name == "国家税务总局景德镇市昌江区税务局"
    assert catalogue_item(shipped, "NOPE") is None


def test_the_old_boolean_key_supervision_has_no_labels() -> None:
    meta = META + (
        "  - {code: K1, name: 旧写法, department: SCJG, kind: priority, legal_basis: 条例,\n"
        "     methods: [on_site], key_supervision: true}\n"
    )
    item = catalogue_item(load_ruleset(files_with("rules: []\n", meta)), "K1")
    assert item is not None
    assert (item.key_supervision, item.key_supervision_labels, item.checklist) == (True, [], [])


def test_items_by_code_finds_the_catalogues_and_names_the_others(shipped: RuleSet) -> None:
    """What the draw checks a triggered task's items against (清单之外无检查)."""
    got = items_by_code(shipped, ["SW-001", "XX-9", "SCJG-001", "SW-001"])
    assert got.rules_version == shipped.version
    assert [i.code for i in got.items] == ["SW-001", "SCJG-001"]
    assert got.unknown == ["XX-9"]
    first = got.items[1]
    assert (first.department, first.methods) == ("SCJG", ["documents", "online", "on_site"])
    # as a plan carries it: with the legal basis a finding's event names
    assert first.legal_basis == shipped.items["SCJG-001"].legal_basis != ""
