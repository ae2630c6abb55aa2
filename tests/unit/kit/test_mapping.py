"""Platform mapping files: checked with file and line, applied without code."""

import json
from urllib.parse import parse_qsl

import pytest

from services.kit.mapping import (
    MappingInvalid,
    RenderError,
    Vocabulary,
    encode,
    encode_rows,
    load_mapping,
    load_mappings,
    read,
    render,
)

VOCAB = Vocabulary(
    records={
        "result": frozenset({"uscc", "entity_name", "department", "check_type", "check_date"})
    },
    closed_codes={"check_types": frozenset({"random", "targeted", "special"})},
    open_codes=frozenset({"departments"}),
    dates=frozenset({"check_date"}),
)

GOOD = """\
platform: gsxt
name: 公示系统
encoding: gb18030
dates: "%Y年%m月%d日"
transport:
  kind: http-json
  url: http://127.0.0.1:1/results
  wrap: data
codes:
  departments:
    scjg: 某县市场监督管理局
  check_types:
    random: 双随机抽查
    targeted: 定向抽查
    special: 专项检查
records:
  result:
    fields:
      - name: 统一社会信用代码
        from: uscc
        required: true
      - name: 检查实施机关
        from: department
        codes: departments
      - name: 类型
        from: check_type
        codes: check_types
      - name: 日期
        from: check_date
      - name: 数据来源
        value: spotcheck
"""

SOURCE = {
    "uscc": "91330100MA2XXXXX1X",
    "entity_name": "某某餐饮店",
    "department": "scjg",
    "check_type": "random",
    "check_date": "2027-03-04",
}


def _errors(text: str) -> list[tuple[int, str]]:
    with pytest.raises(MappingInvalid) as caught:
        load_mapping("p.yaml", text.encode(), VOCAB)
    return [(e.line, e.reason) for e in caught.value.errors]


def test_a_good_file_is_rendered_in_its_order_codes_and_dates_translated() -> None:
    m = load_mapping("gsxt.yaml", GOOD.encode(), VOCAB).mapping
    assert render(m, "result", SOURCE, date_fields=VOCAB.dates) == {
        "统一社会信用代码": "91330100MA2XXXXX1X",
        "检查实施机关": "某县市场监督管理局",
        "类型": "双随机抽查",
        "日期": "2027年03月04日",
        "数据来源": "spotcheck",
    }


def test_gb18030_json_is_sent_in_gb18030_wrapped() -> None:
    m = load_mapping("gsxt.yaml", GOOD.encode(), VOCAB).mapping
    body, ctype = encode(m, render(m, "result", SOURCE, date_fields=VOCAB.dates))
    assert ctype == "application/json; charset=GB18030"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert json.loads(body.decode("gb18030"))["data"]["类型"] == "双随机抽查"


def test_a_form_is_percent_encoded_in_the_files_encoding() -> None:
    text = GOOD.replace("kind: http-json", "kind: http-form").replace("  wrap: data\n", "")
    m = load_mapping("p.yaml", text.encode(), VOCAB).mapping
    body, ctype = encode(m, render(m, "result", SOURCE, date_fields=VOCAB.dates))
    assert ctype.startswith("application/x-www-form-urlencoded")
    assert dict(parse_qsl(body.decode("ascii"), encoding="gb18030"))["类型"] == "双随机抽查"


def test_a_csv_file_drop_has_a_header_and_one_row() -> None:
    text = GOOD.replace(
        "  kind: http-json\n  url: http://127.0.0.1:1/results\n  wrap: data\n",
        "  kind: file-drop\n  folder: /tmp/x\n  file_format: csv\n",
    ).replace("encoding: gb18030", "encoding: utf-8")
    m = load_mapping("p.yaml", text.encode(), VOCAB).mapping
    body, _ = encode(m, render(m, "result", SOURCE, date_fields=VOCAB.dates))
    assert body.decode("utf-8").splitlines()[1].startswith("91330100MA2XXXXX1X,某县市场监督管理局")


def test_an_unknown_field_is_named_with_its_line() -> None:
    assert _errors(GOOD.replace("  wrap: data", "  wrapp: data")) == [
        (8, "unknown field transport.wrapp")
    ]


def test_a_missing_required_item_is_named() -> None:
    [(line, reason)] = _errors(GOOD.replace("name: 公示系统\n", ""))
    assert (line, reason) == (1, "missing required item name")


def test_a_wrong_code_list_value_and_the_code_it_left_out_are_named() -> None:
    errors = _errors(GOOD.replace("    random: 双随机抽查", "    randon: 双随机抽查"))
    assert errors[0][0] == 13 and "wrong code list value: 'randon'" in errors[0][1]
    assert errors[1] == (12, "missing required item: code list check_types does not map 'random'")


def test_an_unknown_spotcheck_field_and_an_undefined_code_list_are_named() -> None:
    text = GOOD.replace("from: uscc", "from: usc").replace("codes: departments", "codes: depts")
    errors = _errors(text)
    assert errors[0][0] == 20 and errors[0][1].startswith("unknown field usc of record result")
    assert errors[1] == (24, "field 检查实施机关: code list depts is not defined under codes")


def test_a_yaml_error_names_its_line_and_every_file_is_checked() -> None:
    with pytest.raises(MappingInvalid) as caught:
        load_mappings(
            {
                "a.yaml": GOOD.encode(),
                "b.yaml": GOOD.encode(),  # the same platform twice
                "c.yaml": b"platform: x\n  name: [\n",
            },
            VOCAB,
        )
    where = [(e.file, e.line) for e in caught.value.errors]
    assert where == [("b.yaml", 1), ("c.yaml", 2)]


def test_transport_and_auth_need_their_settings() -> None:
    text = GOOD.replace("  url: http://127.0.0.1:1/results\n", "").replace(
        "records:", "auth:\n  kind: bearer\nrecords:"
    )
    reasons = [r for _, r in _errors(text)]
    assert reasons == [
        "transport http-json: give exactly one of url and url_env",
        "auth bearer: give exactly one of token_env and token_file",
    ]


def test_times_are_written_in_beijing_time_and_only_date_fields_are_reformatted() -> None:
    text = GOOD.replace("      - name: 数据来源\n        value: spotcheck\n", "")
    text = text.replace(
        "        from: check_date\n", '        from: check_date\n        date: "%Y-%m-%d %H:%M"\n'
    )
    text = text.replace("from: entity_name", "from: entity_name")
    m = load_mapping("p.yaml", text.encode(), VOCAB).mapping
    out = render(
        m,
        "result",
        {**SOURCE, "check_date": "2027-03-04T20:30:00+00:00", "uscc": "2027-03-04-X"},
        date_fields=VOCAB.dates,
    )
    assert out["日期"] == "2027-03-05 04:30"
    assert out["统一社会信用代码"] == "2027-03-04-X"  # no date field: as written


def test_a_required_value_missing_or_an_untranslated_code_cannot_be_rendered() -> None:
    m = load_mapping("gsxt.yaml", GOOD.encode(), VOCAB).mapping
    with pytest.raises(RenderError, match="统一社会信用代码"):
        render(m, "result", {**SOURCE, "uscc": ""})
    with pytest.raises(RenderError, match="'swjg' of field 检查实施机关"):
        render(m, "result", {**SOURCE, "department": "swjg"})


def test_inbound_reads_the_platforms_names_and_codes_backwards() -> None:
    m = load_mapping("gsxt.yaml", GOOD.encode(), VOCAB).mapping
    row = {"统一社会信用代码": "X1", "检查实施机关": "某县市场监督管理局", "类型": "专项检查"}
    assert read(m, "result", row) == {
        "uscc": "X1",
        "department": "scjg",
        "check_type": "special",
        "check_date": "",
    }


def test_a_folder_shared_with_another_direction_checks_only_the_shape_of_the_others() -> None:
    inbound = (
        b"platform: hlw\nname: x\ndirection: inbound\n"
        b"records:\n  item:\n    fields:\n      - name: a\n        from: code\n"
    )
    loaded = load_mappings(
        {"gsxt.yaml": GOOD.encode(), "hlw.yaml": inbound}, VOCAB, direction="outbound"
    )
    assert sorted(loaded) == ["gsxt"]
    with pytest.raises(MappingInvalid) as caught:
        load_mappings(
            {"hlw.yaml": inbound.replace(b"name: a", b"nam: a")}, VOCAB, direction="outbound"
        )
    assert [(e.line, e.reason) for e in caught.value.errors] == [
        (7, "missing required item records.item.fields.0.name"),
        (7, "unknown field records.item.fields.0.nam"),
    ]


def test_inbound_refuses_a_value_it_cannot_read_back() -> None:
    text = GOOD.replace("    targeted: 定向抽查", "    targeted: 专项检查")  # two codes alike
    m = load_mapping("p.yaml", text.encode(), VOCAB).mapping
    with pytest.raises(RenderError, match="'专项检查' stands for targeted, special in"):
        read(m, "result", {"统一社会信用代码": "X1", "类型": "专项检查"})
    with pytest.raises(RenderError, match="'抽查' is not in check_types"):
        read(m, "result", {"统一社会信用代码": "X1", "类型": "抽查"})


INBOUND_RECEIPTS = b"""\
platform: gsxt
name: x
direction: inbound
records:
  receipt:
    fields:
      - name: a
        from: ack
"""
INBOUND_ITEMS = INBOUND_RECEIPTS.replace(b"platform: gsxt", b"platform: hlw").replace(
    b"receipt:", b"item:"
)


def test_a_platform_has_one_file_each_way_and_inbound_files_go_to_whoever_reads_them() -> None:
    receipts = Vocabulary(records={"receipt": frozenset({"ack"})})
    files = {
        "gsxt.yaml": GOOD.encode(),
        "gsxt-in.yaml": INBOUND_RECEIPTS,
        "hlw.yaml": INBOUND_ITEMS,
    }
    # the same platform id outbound and inbound is one platform both ways
    assert sorted(load_mappings(files, VOCAB, direction="outbound")) == ["gsxt"]
    inbound = load_mappings(files, receipts, direction="inbound")
    assert [m.file for m in inbound.values()] == ["gsxt-in.yaml"]  # hlw's kinds are not ours
    with pytest.raises(MappingInvalid) as caught:
        load_mappings({**files, "gsxt-2.yaml": GOOD.encode()}, VOCAB, direction="outbound")
    assert [str(e) for e in caught.value.errors] == [
        "gsxt.yaml:1: platform 'gsxt' is already mapped by gsxt-2.yaml"
    ]
    # a misspelt field of an inbound file we read is an error with its line
    bad = INBOUND_RECEIPTS.replace(b"from: ack", b"from: akc")
    with pytest.raises(MappingInvalid) as caught:
        load_mappings({"gsxt-in.yaml": bad}, receipts, direction="inbound")
    assert caught.value.errors[0].line == 8 and "unknown field akc" in caught.value.errors[0].reason


def test_only_a_platform_sent_results_discloses() -> None:
    assert load_mapping("g.yaml", ("discloses: true\n" + GOOD).encode(), VOCAB).mapping.discloses
    with pytest.raises(MappingInvalid) as caught:
        load_mapping(
            "h.yaml",
            b"discloses: true\n" + INBOUND_RECEIPTS,
            Vocabulary(records={"receipt": frozenset({"ack"})}),
        )
    assert [(e.line, e.reason) for e in caught.value.errors] == [
        (1, "discloses: only a platform sent results discloses them")
    ]


def test_several_records_go_together_as_one_csv_or_one_json_list() -> None:
    m = load_mapping("g.yaml", GOOD.encode(), VOCAB).mapping
    rows = [{"代码": "360202", "数量": "3"}, {"代码": "360203", "数量": "1"}]
    body, content_type = encode_rows(m, rows)
    assert json.loads(body.decode("gb18030")) == {"data": rows}
    assert content_type == "application/json; charset=GB18030"
    drop = m.model_copy(
        update={
            "transport": m.transport.model_copy(
                update={
                    "kind": "file-drop",
                    "url": None,
                    "wrap": None,
                    "folder": "x",
                    "file_format": "csv",
                }
            )
        }  # type: ignore[union-attr]
    )
    body, _ = encode_rows(drop, rows)
    assert body.decode("gb18030") == "代码,数量\r\n360202,3\r\n360203,1\r\n"
    form = m.model_copy(
        update={"transport": m.transport.model_copy(update={"kind": "http-form", "wrap": None})}  # type: ignore[union-attr]
    )
    with pytest.raises(RenderError, match="a form carries one record"):
        encode_rows(form, rows)
