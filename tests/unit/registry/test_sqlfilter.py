"""Filters as SQL and as freeze strata rows (pure: no database)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.registry import EntityFilter
from services.kit.errors import Invalid
from services.registry.store import filters as sqlfilter


def test_region_prefixes_drop_those_covered_by_a_shorter_one() -> None:
    assert sqlfilter.region_prefixes(["3602", "36", "360202", "11"]) == ["11", "36"]
    with pytest.raises(Invalid):
        sqlfilter.region_prefixes(["36x"])


def test_industry_patterns_add_the_section_letter() -> None:
    assert sqlfilter.industry_patterns(["13", "f52", "H"]) == ["C13%", "F52%", "H%"]
    with pytest.raises(Invalid):
        sqlfilter.industry_patterns(["99"])
    with pytest.raises(Invalid):
        sqlfilter.industry_patterns(["C13%"])


def test_where_uses_only_parameters() -> None:
    params: list[Any] = []
    sql = sqlfilter.where(
        EntityFilter(region_prefixes=["36'; DROP TABLE entities; --"[:2]], tags_any=["x'y"]), params
    )
    assert "x'y" not in sql and "DROP" not in sql
    assert params == [["36%"], ["x'y"], ["存续", "在业"]]
    # key supervision takes an entity out only where the filter names its labels
    assert "key_supervision" not in sql


def test_where_leaves_out_only_the_named_key_supervision_labels() -> None:
    params: list[Any] = []
    sql = sqlfilter.where(
        EntityFilter(
            statuses=[], exclude_key_supervision_labels=["食品生产", "特种设备", "食品生产"]
        ),
        params,
    )
    assert sql == "true AND NOT (e.key_supervision && $1::text[])"
    assert params == [["特种设备", "食品生产"]]
    # the old flag (any label at all) is still honoured for plans that carry it
    sql = sqlfilter.where(EntityFilter(statuses=[], exclude_key_supervision=True), [])
    assert sql == "true AND cardinality(e.key_supervision) = 0"


def test_strata_rows_expand_keys_so_each_entity_meets_one_row() -> None:
    f = EntityFilter(
        region_prefixes=["3601", "3607", "360102"],
        risk_classes=["A", "B", "A"],
        entity_types=["企业"],
    )
    rows = sqlfilter.strata_rows("s1", f)
    keys = [(r[2], r[3], r[4]) for r in rows]
    assert keys == [
        ("3601", "A", "企业"),
        ("3601", "B", "企业"),
        ("3607", "A", "企业"),
        ("3607", "B", "企业"),
    ]
    assert sqlfilter.shapes(rows) == [(4, True, True)]
    open_rows = sqlfilter.strata_rows("s2", EntityFilter())
    assert [(r[1], r[2], r[3], r[4]) for r in open_rows] == [(0, "", None, None)]
    assert sqlfilter.shapes(rows + open_rows) == [(0, False, False), (4, True, True)]
    params: list[Any] = []
    branch = sqlfilter.branch_sql(
        3, (4, True, False), None, "entities", params, suffix="x1", inline=True
    )
    assert "e.risk_class = s.class_key" in branch and "s.type_key" not in branch
    assert "s.group_no = 3" in branch and "s.inline_set" in branch and "object_set" not in branch
    assert "s.industry_patterns" in branch and params == []
    assert "JOIN freeze_strata_x1 s" in branch and "freeze_exclusions_x1" in branch
    assert "left(e.region_code, 4)" in branch
    six = sqlfilter.branch_sql(0, (6, False, False), None, "entities", [], suffix="x1")
    assert "e.region_code = s.region_prefix" in six and "freeze_exclusions" not in six
    with pytest.raises(ValueError):
        sqlfilter.tables_sql("x; DROP TABLE entities")


def test_strata_sharing_their_conditions_form_one_branch_with_plain_filters() -> None:
    rows = []
    for i in range(20):
        f = EntityFilter(region_prefixes=[f"36{i:02d}"], risk_classes=["A"], tags_any=["x'y"])
        rows += sqlfilter.strata_rows(f"s{i}", f)
    rows += sqlfilter.strata_rows("all", EntityFilter(statuses=[]))
    groups, branches = sqlfilter.group_rows(rows)
    assert len(branches) == 2 and len(set(groups[:20])) == 1 and groups[20] != groups[0]
    shape, common = branches[groups[0]]
    assert shape == (4, True, False) and common is not None
    params: list[Any] = []
    sql = sqlfilter.branch_sql(
        groups[0], shape, common, "entities", params, suffix="x", objects=True
    )
    assert (
        "x'y" not in sql
        and params == [["x'y"], ["存续", "在业"]]
        and "s.industry_patterns" not in sql
    )
    assert "e.tags && $1::text[]" in sql and "s.object_set" in sql
    # too many different condition sets: one branch per shape, conditions per strata row
    many = [
        r
        for i in range(12)
        for r in sqlfilter.strata_rows(f"t{i}", EntityFilter(tags_any=[f"tag{i}"]))
    ]
    groups, branches = sqlfilter.group_rows(many)
    assert branches == [((0, False, False), None)] and set(groups) == {0}


def test_key_supervision_labels_are_part_of_a_branch_and_of_a_strata_row() -> None:
    food = EntityFilter(region_prefixes=["3601"], exclude_key_supervision_labels=["食品生产"])
    rows = sqlfilter.strata_rows("food", food) + sqlfilter.strata_rows(
        "other", food.model_copy(update={"exclude_key_supervision_labels": []})
    )
    assert len(rows[0]) == len(sqlfilter.STRATA_COLUMNS) - 5  # idx, code, group; two sets
    assert rows[0][-1] == ["食品生产"] and rows[1][-1] is None
    groups, branches = sqlfilter.group_rows(rows)
    assert len(branches) == 2 and groups[0] != groups[1]  # different conditions, two branches
    params: list[Any] = []
    sql = sqlfilter.branch_sql(groups[0], *branches[groups[0]], "entities", params, suffix="x")
    assert "NOT (e.key_supervision && $2::text[])" in sql and ["食品生产"] in params
    params = []
    sql = sqlfilter.branch_sql(groups[1], *branches[groups[1]], "entities", params, suffix="x")
    assert "key_supervision" not in sql
    # per joined row (too many condition sets), the strata table's column decides
    per_row = sqlfilter.branch_sql(0, (4, False, False), None, "entities", [], suffix="x")
    assert "NOT (e.key_supervision && s.exclude_labels)" in per_row
    assert "exclude_labels text[]" in sqlfilter.tables_sql("x")
