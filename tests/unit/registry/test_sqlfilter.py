"""Filters as SQL and as freeze strata rows (pure: no database)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.registry import EntityFilter
from services.kit.errors import Invalid
from services.registry import sqlfilter


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
        EntityFilter(region_prefixes=["36'; DROP TABLE entity; --"[:2]], tags_any=["x'y"]), params
    )
    assert "x'y" not in sql and "DROP" not in sql
    assert params == [["36%"], ["x'y"], ["存续"]]
    assert "cardinality(e.key_supervision) = 0" in sql


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
    branch = sqlfilter.join_branch((4, True, False), "entity", with_excludes=True)
    assert "e.risk_class = s.class_key" in branch and "type_key IS NOT NULL) = False" in branch
    assert "freeze_exclude" in branch
