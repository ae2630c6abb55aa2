"""The catalogue export of 互联网+监管 read and diffed against the item files (pure domain):
every bad row named with file, line and field; added, changed and withdrawn items found; the
edited files keep every unchanged byte and still pass the rule check."""

from __future__ import annotations

import difflib
import json
from datetime import date

import pytest
import yaml

from contracts.rules import ItemKind, Method
from services.planner.domain.catalogue_diff import diff_catalogue
from services.planner.domain.export import ExportInvalid, read_export
from services.planner.domain.export_mapping import DEFAULT_MAPPING, ExportMapping
from services.planner.domain.ruleset import load_ruleset
from tests.catalogue_exports import DEPTS, HEADER, as_csv, changed_export, shipped, shipped_rows

TODAY = date(2026, 12, 4)


def test_utf8_and_gb18030_read_alike() -> None:
    text = as_csv(shipped_rows())
    a, enc_a = read_export(text.encode("utf-8-sig"), name="x.csv", departments=DEPTS)
    b, enc_b = read_export(text.encode("gb18030"), name="x.csv", departments=DEPTS)
    assert (enc_a, enc_b) == ("utf-8", "gb18030")
    assert a == b and len(a) == 14
    assert a[0].code == "SCJG-001" and a[0].department == "SCJG" and a[0].line == 2
    assert a[0].kind is ItemKind.GENERAL and a[0].methods == (Method.ON_SITE,)


def test_a_gb18030_byte_order_mark_is_stripped_like_the_utf8_one() -> None:
    # GB18030's BOM is U+FEFF encoded as 0x84 0x31 0x95 0x33; left on, it glues onto the
    # first header (事项编码) and the column is refused as missing.
    text = as_csv(shipped_rows())
    data = "\ufeff".encode("gb18030") + text.encode("gb18030")
    assert data[:4] == b"\x84\x31\x95\x33"
    items, encoding = read_export(data, name="x.csv", departments=DEPTS)
    plain, _ = read_export(text.encode("gb18030"), name="x.csv", departments=DEPTS)
    assert encoding == "gb18030" and items == plain and items[0].line == 2
    # A JSON export with that mark is still found to be JSON by its content.
    body = json.dumps(
        [dict(zip(HEADER, r, strict=True)) for r in shipped_rows()], ensure_ascii=False
    )
    data = "\ufeff".encode("gb18030") + body.encode("gb18030")
    items, encoding = read_export(data, name="export.txt", departments=DEPTS)
    assert encoding == "gb18030" and [i.code for i in items] == [i.code for i in plain]


def test_every_bad_row_named_with_line_and_field() -> None:
    rows = shipped_rows()[:3]
    rows[1][2] = "某某局"  # line 3: unknown department
    rows[2][1] = ""  # line 4: no name
    rows.append(["SCJG-001", "重复", "SCJG", "一般", "飞行检查", "某法"])  # line 5: twice, method
    text = as_csv(rows)
    with pytest.raises(ExportInvalid) as caught:
        read_export(text.encode("gb18030"), name="catalogue.csv", departments=DEPTS)
    got = [(e.file, e.line, e.field) for e in caught.value.errors]
    assert got == [
        ("catalogue.csv", 3, "实施部门"),
        ("catalogue.csv", 4, "事项名称"),
        ("catalogue.csv", 5, "事项编码"),
        ("catalogue.csv", 5, "检查方式"),
    ]
    assert "first on line 2" in caught.value.errors[2].reason
    assert caught.value.errors[0].reason_zh.startswith("实施部门“某某局”不是规则集中的部门")
    detail = caught.value.details[0]
    assert detail["line"] == 3 and detail["file"] == "catalogue.csv"


def test_a_quoted_field_over_two_lines_keeps_the_next_rows_line() -> None:
    rows = shipped_rows()[:2]
    rows[0][5] = "第一行\n第二行"
    rows[1][0] = "bad code"
    with pytest.raises(ExportInvalid) as caught:
        read_export(as_csv(rows).encode(), name="x.csv", departments=DEPTS)
    # the header is line 1, the first row lines 2–3, the second row line 4
    assert [(e.line, e.field) for e in caught.value.errors] == [(2, "设定依据"), (4, "事项编码")]


def test_missing_column_and_bad_json_refused() -> None:
    with pytest.raises(ExportInvalid) as caught:
        read_export(as_csv([], HEADER[:5]).encode(), name="x.csv", departments=DEPTS)
    assert [(e.line, e.field) for e in caught.value.errors] == [(1, "设定依据")]
    with pytest.raises(ExportInvalid) as caught:
        read_export(b'[{"a": 1},\n {"b": ]', name="x.json", departments=DEPTS)
    assert caught.value.errors[0].line == 2
    with pytest.raises(ExportInvalid):
        read_export(b"\xff\xfe\x00", name="x.csv", departments=DEPTS)


def test_json_rows_carry_their_lines() -> None:
    records = [dict(zip(HEADER, r, strict=True)) for r in shipped_rows()[:3]]
    records[2]["事项编码"] = ""
    text = json.dumps({"data": records}, ensure_ascii=False, indent=2)
    with pytest.raises(ExportInvalid) as caught:
        read_export(text.encode(), name="x.json", departments=DEPTS)
    braces = [i + 1 for i, line in enumerate(text.splitlines()) if line == "    {"]
    line = braces[2]  # the third object's opening brace
    assert [(e.line, e.field) for e in caught.value.errors] == [(line, "事项编码")]


def test_a_provinces_mapping_renames_columns() -> None:
    mapping = ExportMapping(
        fields={**DEFAULT_MAPPING.fields, "code": "监管事项编码", "legal_basis": "依据"},
        kinds=DEFAULT_MAPPING.kinds,
        methods=DEFAULT_MAPPING.methods,
    )
    header = ["监管事项编码", "事项名称", "实施部门", "检查类别", "检查方式", "依据"]
    items, _ = read_export(
        as_csv(shipped_rows(), header).encode(), name="x.csv", departments=DEPTS, mapping=mapping
    )
    assert len(items) == 14


def test_diff_finds_added_changed_withdrawn_and_keeps_the_rest() -> None:
    files = shipped()
    items, _ = read_export(as_csv(changed_export()).encode(), name="x.csv", departments=DEPTS)
    diff = diff_catalogue(files, items, source="x.csv", today=TODAY)
    assert [a.item.code for a in diff.added] == ["SCJG-101"]
    assert diff.added[0].file == "items-scjg.yaml"
    assert [(c.code, [f.field for f in c.fields]) for c in diff.changed] == [
        ("SCJG-002", ["name"]),
        ("SW-002", ["legal_basis"]),
    ]
    assert [w.code for w in diff.withdrawn] == ["SCJG-009"]
    assert diff.unchanged == 11
    assert sorted(diff.files) == ["items-scjg.yaml", "items-sw.yaml"]

    # Only the changed lines differ; every other line is byte for byte the author's.
    old, new = files["items-sw.yaml"].splitlines(), diff.files["items-sw.yaml"].splitlines()
    changes = [d for d in difflib.ndiff(old, new) if d[:1] in "+-"]
    assert changes == [
        "- " + "    legal_basis: 《中华人民共和国发票管理办法》第三十五条",
        "+ " + "    legal_basis: 《中华人民共和国发票管理办法》第三十五条、第三十六条",
    ]
    scjg = diff.files["items-scjg.yaml"]
    assert "    name: 经营主体登记事项的检查\n" in scjg
    assert "  # 已撤销：SCJG-009 特种设备使用单位的检查" in scjg
    assert "- code: SCJG-009" not in scjg
    added_at = scjg.index("  - code: SCJG-101\n")
    assert scjg[added_at:].startswith(
        "  - code: SCJG-101\n    name: 价格行为的检查\n    department: SCJG\n    kind: general\n"
    )
    assert "methods: [on_site, documents]" in scjg[added_at:]

    # The edited set is a rule set the check accepts, with the export's catalogue.
    merged = {**files, **diff.files}
    rs = load_ruleset({p: t.encode() for p, t in merged.items()})
    assert rs.items["SCJG-002"].name == "经营主体登记事项的检查"
    assert rs.items["SCJG-101"].methods == [Method.ON_SITE, Method.DOCUMENTS]
    assert "SCJG-009" not in rs.items
    # …and the rest of every item as it was (checklists, applies_to, expertise).
    before = load_ruleset({p: t.encode() for p, t in files.items()})
    assert rs.items["SCJG-001"] == before.items["SCJG-001"]
    assert rs.items["SCJG-008"].checklist == before.items["SCJG-008"].checklist


def test_the_same_catalogue_proposes_nothing() -> None:
    files = shipped()
    items, _ = read_export(as_csv(shipped_rows()).encode(), name="x.csv", departments=DEPTS)
    diff = diff_catalogue(files, items, source="x.csv", today=TODAY)
    assert diff.empty and diff.files == {} and diff.unchanged == 14


def test_an_export_of_one_department_withdraws_nothing_of_another() -> None:
    rows = [r for r in shipped_rows() if r[2] == DEPTS["SW"]]
    items, _ = read_export(as_csv(rows).encode(), name="x.csv", departments=DEPTS)
    assert diff_catalogue(shipped(), items, source="x.csv", today=TODAY).empty


def test_catalogue_code_matches_an_item_with_a_local_code() -> None:
    files = shipped()
    files["items-sw.yaml"] = files["items-sw.yaml"].replace(
        "  - code: SW-001\n", "  - code: SW-001\n    catalogue_code: '3602021001'\n", 1
    )
    rows = [r for r in shipped_rows() if r[2] == DEPTS["SW"]]
    rows[0][0] = "3602021001"
    rows[0][1] = "纳税申报情况的检查（新名称）"
    items, _ = read_export(as_csv(rows).encode(), name="x.csv", departments=DEPTS)
    diff = diff_catalogue(files, items, source="x.csv", today=TODAY)
    assert [c.code for c in diff.changed] == ["SW-001"] and not diff.added and not diff.withdrawn


def test_a_new_department_file_and_odd_text_round_trip() -> None:
    files = {p: t for p, t in shipped().items() if p != "items-sthj.yaml"}
    name = "名称: 含冒号 # 与井号 'quote'"
    rows = [["STHJ-101", name, DEPTS["STHJ"], "", "", "《环境保护法》第二十四条"]]
    items, _ = read_export(as_csv(rows).encode(), name="x.csv", departments=DEPTS)
    diff = diff_catalogue(files, items, source="x.csv", today=TODAY)
    assert list(diff.files) == ["items-sthj.yaml"]
    data = yaml.safe_load(diff.files["items-sthj.yaml"])
    assert data["items"][0]["name"] == name
    assert data["items"][0]["kind"] == "general" and data["items"][0]["methods"] == ["on_site"]
    assert "请核对补充检查类别、检查方式" in diff.files["items-sthj.yaml"]


def test_items_added_to_one_file_keep_the_exports_order() -> None:
    rows = [r for r in shipped_rows() if r[2] == DEPTS["SW"]]
    rows += [
        ["SW-101", "新增甲", DEPTS["SW"], "", "", "某法第一条"],
        ["SW-102", "新增乙", DEPTS["SW"], "", "", "某法第二条"],
        ["SW-103", "新增丙", DEPTS["SW"], "", "", "某法第三条"],
    ]
    items, _ = read_export(as_csv(rows).encode(), name="x.csv", departments=DEPTS)
    files = shipped()
    files["items-sw.yaml"] = files["items-sw.yaml"].rstrip("\n")  # no newline at the end
    diff = diff_catalogue(files, items, source="x.csv", today=TODAY)
    text = diff.files["items-sw.yaml"]
    codes = [i["code"] for i in yaml.safe_load(text)["items"]]
    assert codes[-3:] == ["SW-101", "SW-102", "SW-103"]
    assert "\n\n" not in text[text.index("SW-101") :]  # one newline added, not one per item


def test_a_new_departments_file_name_taken_twice_still_finds_a_name() -> None:
    # items-sthj.yaml and items-sthj-imported.yaml both exist but hold none of its items.
    files = {p: t for p, t in shipped().items() if p != "items-sthj.yaml"}
    files["items-sthj.yaml"] = "# 空\nitems: []\n"
    files["items-sthj-imported.yaml"] = "# 空\nitems: []\n"
    rows = [["STHJ-101", "新增", DEPTS["STHJ"], "", "", "《环境保护法》第二十四条"]]
    items, _ = read_export(as_csv(rows).encode(), name="x.csv", departments=DEPTS)
    diff = diff_catalogue(files, items, source="x.csv", today=TODAY)
    (path,) = diff.files
    assert path not in files and path.startswith("items-sthj") and path.endswith(".yaml")


def test_json_methods_written_as_a_list() -> None:
    records = [dict(zip(HEADER, r, strict=True)) for r in shipped_rows()[:1]]
    records[0]["检查方式"] = ["现场检查", "书面检查"]
    text = json.dumps(records, ensure_ascii=False)
    items, _ = read_export(text.encode(), name="x.json", departments=DEPTS)
    assert items[0].methods == (Method.ON_SITE, Method.DOCUMENTS)
