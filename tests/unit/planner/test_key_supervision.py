"""Key supervision keeps an entity out of its own items only (issue 11, defect 1).

An item names the key-supervision labels it covers (`key_supervision: 食品生产`); a stratum
of that item leaves out the entities carrying one of them, and every other item's strata keep
them (the notice: 对清单内的事项实行重点监管，对清单外的事项全面实行"双随机、一公开"监管).
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml

from contracts.planner import PlanSubmission
from contracts.rules import Item, rule_file_json_schema
from services.planner.domain.counts import count_queries
from services.planner.domain.engine import RuleEngine
from services.planner.domain.resolve import key_supervision_filter, plan_strata, resolve
from services.planner.domain.ruleset import RuleSet, load_ruleset

from .conftest import META, files_with


def _item(**over: Any) -> Item:
    body: dict[str, Any] = {
        "code": "F1",
        "name": "食品事项",
        "department": "SCJG",
        "kind": "priority",
        "legal_basis": "《食品安全法》",
        "methods": ["on_site"],
    }
    return Item.model_validate(body | over)


def _plan(*items: str) -> PlanSubmission:
    return PlanSubmission.model_validate(
        {
            "title": "计划",
            "year": 2026,
            "departments": ["SCJG"],
            "scope": {"regions": ["360202"]},
            "period": {"start": "2026-04-01", "end": "2026-11-30"},
            "items": [{"item": code, "ratio": "3%"} for code in items],
        }
    )


@pytest.mark.parametrize(
    ("written", "read", "excludes"),
    [
        ("食品生产", ["食品生产"], (False, ["食品生产"])),
        (["食品经营", "食品生产"], ["食品经营", "食品生产"], (False, ["食品生产", "食品经营"])),
        ([], [], (False, [])),
        (False, [], (False, [])),
        # the old boolean: a key-supervision item whose labels were never named
        (True, True, (True, [])),
    ],
)  # fmt: skip
def test_an_item_names_its_key_supervision_labels_and_the_old_boolean_still_reads(
    written: object, read: object, excludes: tuple[bool, list[str]]
) -> None:
    item = _item(key_supervision=written)
    assert item.key_supervision == read
    assert key_supervision_filter(item) == excludes
    assert _item().key_supervision == []
    with pytest.raises(ValueError):
        _item(key_supervision="")
    schema = rule_file_json_schema()
    jsonschema.validate({"items": [item.model_dump(mode="json")]}, schema)


def test_the_shipped_rule_files_and_their_schema_agree(shipped_files: dict[str, bytes]) -> None:
    schema = rule_file_json_schema()
    for name, body in shipped_files.items():
        if name.startswith("items-"):
            jsonschema.validate(yaml.safe_load(body), schema)


def test_a_food_labelled_entity_stays_in_the_base_of_every_other_item(shipped: RuleSet) -> None:
    planned = {
        p.fact.stratum_id: p for p in plan_strata(_plan("SCJG-001", "SCJG-008"), shipped, None)
    }
    # 企业公示信息 (SCJG-001) is outside any key-supervision list: nobody leaves its base for
    # a key-supervision label.
    public = planned["2026.SCJG-001.B.360202"].filter
    assert public.exclude_key_supervision is False
    assert public.exclude_key_supervision_labels == []
    # 食品生产者生产活动的检查 (SCJG-008) is on the food-production list: those entities leave.
    food = planned["2026.SCJG-008.B.360202"].filter
    assert food.exclude_key_supervision is False
    assert food.exclude_key_supervision_labels == ["食品生产"]
    # The two scopes differ, so the registry is asked for each one's n separately.
    queries = count_queries(list(planned.values()))
    assert sorted(q.filter.exclude_key_supervision_labels for q in queries) == [[], ["食品生产"]]


def test_key_supervision_items_still_leave_the_random_draw(
    shipped: RuleSet, shipped_engine: RuleEngine
) -> None:
    # Rule key-supervision-out (`when: {key_supervision: true}`) matches items naming a list.
    res = resolve(_plan("SCJG-001", "SCJG-008", "SCJG-009"), shipped, shipped_engine.evaluate)
    out = {e.stratum_id for e in res.excluded}
    assert {f"2026.SCJG-00{i}.{c}.360202" for i in (8, 9) for c in "ABCD"} <= out
    assert {s.item_codes[0] for s in res.strata} == {"SCJG-001"}


def test_items_with_different_key_supervision_labels_do_not_merge() -> None:
    meta = META.replace(
        "  - {code: T1, name: 税务事项, department: SW, kind: general, legal_basis: 条例,\n"
        "     methods: [documents]}\n",
        "  - {code: T1, name: 税务事项, department: SW, kind: general, legal_basis: 条例,\n"
        "     methods: [documents], key_supervision: 危险化学品}\n",
    )
    rules = """\
rules:
  - id: g1-joint
    name: 联合
    effective: {from: 2023-01-01}
    when: {item: [G1, T1]}
    then: {merge: {group: gt, lead: SCJG}}
"""
    ruleset = load_ruleset(files_with(rules, meta))
    engine = RuleEngine(ruleset)
    try:
        p = _plan("G1", "T1").model_copy(update={"departments": ["SCJG", "SW"]})
        p = p.model_copy(update={"lead_department": "SCJG"})
        res = resolve(p, ruleset, engine.evaluate)
    finally:
        engine.close()
    # A joint stratum has one filter: merging would drop T1's dangerous-chemicals entities
    # from G1's base too (or put them back into T1's).
    assert res.joint_strata == 0
    labels = {s.item_codes[0]: s.filter.exclude_key_supervision_labels for s in res.strata}
    assert labels == {"G1": [], "T1": ["危险化学品"]}
