"""The 监督平台's receipt files read with the shipped inbound mapping: whole or not at all,
every bad row with file, line, field and reason."""

from datetime import date
from pathlib import Path

import pytest

from services.kit.mapping import MappingInvalid, PlatformMapping, load_mappings, read_mapping_dir
from services.publisher.domain.platforms import RECEIPT_VOCABULARY
from services.publisher.domain.receipts import Receipt, ReceiptsInvalid, read_receipts

ROOT = Path(__file__).resolve().parents[3]
HEADER = "计划编号,回执编号,回执日期,回执类型\r\n"


@pytest.fixture(scope="module")
def mapping() -> PlatformMapping:
    loaded = load_mappings(
        read_mapping_dir(ROOT / "deploy" / "platforms"), RECEIPT_VOCABULARY, direction="inbound"
    )
    return loaded["jdpt"].mapping


def test_a_gb18030_csv_of_receipts(mapping: PlatformMapping) -> None:
    text = (
        HEADER
        + "P-1,JD-1,2026-03-20,已录入\r\n\r\nP-2,JD-2,2026-02-27,已备案\r\nP-3,JD-3,2026-03-01,\r\n"
    )
    got = read_receipts(mapping, text.encode("gb18030"), file="r.csv", fmt="csv")
    assert got == [
        Receipt(2, "P-1", "JD-1", date(2026, 3, 20), "entered"),
        Receipt(4, "P-2", "JD-2", date(2026, 2, 27), "filed"),
        Receipt(5, "P-3", "JD-3", date(2026, 3, 1), "entered"),  # no kind: the entry
    ]
    # UTF-8 with a BOM is understood whatever the mapping says
    bom = read_receipts(mapping, b"\xef\xbb\xbf" + text.encode("utf-8"), file="r.csv", fmt="csv")
    assert bom == got


def test_every_bad_row_is_named_and_nothing_is_taken(mapping: PlatformMapping) -> None:
    text = (
        HEADER
        + "P-1,JD-1,2026-03-20,已录入\r\n"
        + "P 2,JD-2,2026-03-20,已录入\r\n"
        + "P-3,,2026-03-20,已录入\r\n"
        + "P-4,JD-4,20.3.2026,已录入\r\n"
        + "P-1,JD-1,2026-03-21,已录入\r\n"
    )
    with pytest.raises(ReceiptsInvalid) as caught:
        read_receipts(mapping, text.encode("gb18030"), file="r.csv", fmt="csv")
    assert [str(e) for e in caught.value.errors] == [
        "r.csv:3: 计划编号: 'P 2' is not a plan id",
        "r.csv:4: 回执编号: is empty",
        "r.csv:5: 回执日期: '20.3.2026' is not a date written %Y-%m-%d",
        "r.csv:6: 回执编号: ack 'JD-1' is on line 2 with other content",
    ]
    assert "回执日期" in caught.value.why() and "不是 %Y-%m-%d 格式的日期" in caught.value.why()


def test_a_missing_column_or_another_encoding_refuses_the_file(mapping: PlatformMapping) -> None:
    with pytest.raises(ReceiptsInvalid) as caught:
        read_receipts(
            mapping,
            "计划编号,回执日期\r\nP-1,2026-03-20\r\n".encode("gb18030"),
            file="r.csv",
            fmt="csv",
        )
    assert [str(e) for e in caught.value.errors] == ["r.csv:1: 回执编号: missing column"]
    with pytest.raises(ReceiptsInvalid) as caught:
        read_receipts(
            mapping,
            (HEADER + "P-1,JD-1,2026-03-20,已录入\r\n").encode("utf-16"),
            file="r.csv",
            fmt="csv",
        )
    assert caught.value.errors[0].field == "file"


def test_json_receipts_name_the_line_of_each_object(mapping: PlatformMapping) -> None:
    text = """{"data": [
  {"计划编号": "P-1", "回执编号": "JD-1", "回执日期": "2026-03-20"},
  {"计划编号": "P-2", "回执编号": "JD-2",
   "回执日期": "2026-03-20", "回执类型": "已受理"},
  7
]}"""
    with pytest.raises(ReceiptsInvalid) as caught:
        read_receipts(mapping, text.encode("gb18030"), file="r.json", fmt="json")
    assert [str(e) for e in caught.value.errors] == ["r.json:1: receipt 3: not an object"]
    fixed = text.replace(",\n  7", "")
    with pytest.raises(ReceiptsInvalid) as caught:
        read_receipts(mapping, fixed.encode("gb18030"), file="r.json", fmt="json")
    assert [str(e) for e in caught.value.errors] == [
        "r.json:3: 回执类型: '已受理' is not in code list filing_kinds"
    ]
    ok = fixed.replace("已受理", "已备案")
    got = read_receipts(mapping, ok.encode("gb18030"), file="r.json", fmt="json")
    assert [(r.line, r.kind) for r in got] == [(2, "entered"), (3, "filed")]


def test_a_receipts_mapping_must_map_the_plan_the_ack_and_its_date() -> None:
    text = (ROOT / "deploy" / "platforms" / "jdpt-receipts.yaml").read_text(encoding="utf-8")
    start = text.index("      - name: 回执日期")
    cut = text[:start] + text[text.index("      - name: 回执类型") :]
    with pytest.raises(MappingInvalid) as caught:
        load_mappings({"jdpt-receipts.yaml": cut.encode()}, RECEIPT_VOCABULARY, direction="inbound")
    [error] = caught.value.errors
    assert error.reason == "missing required item: record plan_receipt must map acknowledged_on"
    assert cut.splitlines()[error.line - 1].strip() == "fields:"
