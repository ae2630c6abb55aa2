"""Public pages and open data: Chinese HTML, escaping, search, JSON/CSV/Atom."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

from services.publisher.domain.notices import (
    DrawNotice,
    ItemNotice,
    PlanNotice,
    ResultItemNotice,
    ResultNotice,
    ResultVersionNotice,
    TaskNotice,
    matches,
    page,
    search,
)
from services.publisher.domain.opendata import (
    BOM,
    draws_json,
    results_atom,
    results_csv,
    results_json,
)
from services.publisher.domain.pages import (
    render_items,
    render_plans,
    render_results,
    render_tasks,
    search_link,
)

EVIL = '<script>alert("x")</script>&公司'
AT = datetime(2026, 3, 20, 8, 30, tzinfo=UTC)


def result(
    uscc: str = "91360202MA35XXXX0A", name: str = "景德镇测试瓷业有限公司", **kw: object
) -> ResultNotice:
    base: dict[str, object] = {
        "result_id": "R-1",
        "version": 1,
        "task_id": "T-1",
        "uscc": uscc,
        "entity_name": name,
        "authority": ("昌江区市场监督管理局",),
        "check_date": date(2026, 3, 10),
        "published_at": AT,
        "items": (ResultItemNotice("ITEM-01", "1", "未发现问题"),),
        "violation": False,
    }
    base.update(kw)
    return ResultNotice(**base)  # type: ignore[arg-type]


def task(uscc: str, name: str) -> TaskNotice:
    return TaskNotice(
        "T-1",
        "P-1",
        uscc,
        name,
        ("企业公示信息",),
        ("市场监管",),
        date(2026, 3, 1),
        date(2026, 6, 30),
    )


def test_every_page_is_chinese_html_with_the_four_notices_in_its_navigation() -> None:
    pages = [
        render_items(
            [
                ItemNotice(
                    "ITEM-01",
                    "企业公示信息情况的检查",
                    "市场监管",
                    "general",
                    "《企业信息公示暂行条例》",
                )
            ]
        ),
        render_plans(
            [PlanNotice("P-1", 2026, "2026年度抽查计划", ("市场监管",), AT, 800, "ab" * 32)]
        ),
        render_tasks([task("91360202MA35XXXX0A", "某公司")]),
        render_results([result()]),
    ]
    for html in pages:
        assert html.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in html
        for title in ("抽查事项清单", "计划公告", "任务公告", "结果公告"):
            assert title in html
        assert "default-src 'none'" in html
    assert "一般检查事项" in pages[0]
    assert "2026-03-01 至 2026-06-30" in pages[2]
    assert "未发现问题" in pages[3]


def test_an_entity_name_with_a_script_tag_is_escaped_everywhere() -> None:
    evil_result = result(
        name=EVIL,
        items=(ResultItemNotice("I", "C", "弄虚作假", EVIL),),
        violation=True,
        correction_reason=EVIL,
    )
    for html in (render_results([evil_result], query=EVIL), render_tasks([task("X", EVIL)])):
        assert "<script>" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;公司" in html
    # the search box echoes the query inside an attribute: quotes must not break out
    html = render_tasks([], query='" onfocus="alert(1)')
    assert 'value="&quot; onfocus=&quot;alert(1)"' in html
    assert "没有符合条件的抽查任务" in html


def test_corrections_show_the_latest_with_its_history() -> None:
    r = result(
        version=2,
        correction_reason="录入错误",
        history=(ResultVersionNotice(1, AT, ("发现问题待后续处理",)),),
    )
    html = render_results([r])
    assert "第2版（现行）：录入错误" in html and "第1版" in html and "发现问题待后续处理" in html


def test_search_by_uscc_or_name() -> None:
    rows = [
        task("91360202MA35XXXX0A", "景德镇甲瓷业有限公司"),
        task("91360202MA35YYYY1B", "景德镇乙贸易有限公司"),
    ]
    assert [t.entity_name for t in search(rows, "瓷业")] == ["景德镇甲瓷业有限公司"]
    assert len(search(rows, "91360202ma35yyyy1b")) == 1  # case-insensitive full code
    assert len(search(rows, "91360202")) == 2  # a code prefix
    assert len(search(rows, "  ")) == 2
    assert search(rows, "91360202MA35ZZZZ1B") == []
    assert not matches("9136", uscc="X", name="某公司")
    assert page(list(range(25)), number=3, size=10) == [20, 21, 22, 23, 24]  # type: ignore[type-var]


def test_search_link_is_encoded_and_escaped() -> None:
    assert search_link("results", "甲&乙") == "/public/results?q=%E7%94%B2%26%E4%B9%99"


def test_json_open_data() -> None:
    doc = json.loads(results_json([result(name=EVIL)]))
    assert doc["count"] == 1 and doc["results"][0]["entity_name"] == EVIL
    assert doc["results"][0]["items"][0]["category_name"] == "未发现问题"


def test_csv_has_a_bom_and_defuses_formulas() -> None:
    text = results_csv([result(name='=HYPERLINK("http://x")'), result(name=EVIL)])
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text[len(BOM) :])))
    assert rows[0][0] == "result_id" and len(rows) == 3
    assert rows[1][3] == '\'=HYPERLINK("http://x")'
    assert rows[2][3] == EVIL
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")


def test_a_provisional_due_date_is_marked_on_the_page_and_in_the_open_data() -> None:
    firm = result(due_date=date(2026, 4, 8))
    late = result(uscc="91360202MA35YYYY1B", due_date=date(2027, 1, 4), due_date_provisional=True)
    html = render_results([firm, late])
    assert "<th>公示期限</th>" in html
    assert "2026-04-08</td>" in html and "2027-01-04（暂定）" in html
    assert "该年度的放假调休安排尚未公布" in html
    assert "（暂定）" not in render_results([firm]) and "尚未公布" not in render_results([firm])
    rows = json.loads(results_json([firm, late]))["results"]
    assert [(r["due_date"], r["due_date_provisional"]) for r in rows] == [
        ("2026-04-08", False),
        ("2027-01-04", True),
    ]
    table = list(csv.DictReader(io.StringIO(results_csv([firm, late]).removeprefix(BOM))))
    assert [(r["due_date"], r["due_date_provisional"]) for r in table] == [
        ("2026-04-08", "否"),
        ("2027-01-04", "是"),
    ]


def test_atom_feed_is_well_formed_and_escaped() -> None:
    older = result(result_id="R-0", published_at=datetime(2026, 3, 1, tzinfo=UTC))
    xml = results_atom([older, result(name=EVIL)], base_url="https://gs.example.cn/")
    root = ET.fromstring(xml.encode("utf-8"))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 2
    assert entries[0].findtext("a:title", namespaces=ns) == f"{EVIL}（91360202MA35XXXX0A）检查结果"
    assert entries[0].findtext("a:id", namespaces=ns) == "urn:spotcheck:result:R-1:v1"
    assert root.findtext("a:updated", namespaces=ns) == AT.isoformat()
    assert "<script>" not in xml


def test_a_superseded_draw_stays_listed_marked_with_its_escaped_reason() -> None:
    old = DrawNotice(
        "D-1",
        "P-1",
        AT,
        1,
        seed="42",
        seed_source="dice",
        superseded_by="D-2",
        superseded_reason=EVIL,
        superseded_at=AT,
    )
    new = DrawNotice("D-2", "P-1", AT, 1, seed="43", supersedes="D-1")
    tasks = [
        TaskNotice(
            "T-1",
            "P-1",
            "X1",
            "甲公司",
            ("事项",),
            ("市场监管",),
            date(2026, 3, 1),
            date(2026, 6, 30),
            draw_id="D-1",
            superseded_by="D-2",
        ),
        TaskNotice(
            "T-2",
            "P-1",
            "X2",
            "乙公司",
            ("事项",),
            ("市场监管",),
            date(2026, 3, 1),
            date(2026, 6, 30),
            draw_id="D-2",
        ),
    ]
    html = render_tasks(tasks, draws=[new, old])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("已被重新抽取 D-2 取代") == 2  # the draw and its task
    assert "有效（重新抽取，取代 D-1）" in html
    assert 'href="/public/tasks?draw=D-1"' in html
    assert "甲公司" in html and "乙公司" in html
    doc = json.loads(draws_json([new, old]))
    assert [(d["draw_id"], d["superseded"]) for d in doc["draws"]] == [
        ("D-2", False),
        ("D-1", True),
    ]


def test_tasks_notice_shows_progress_and_both_redraw_officers() -> None:
    old = DrawNotice(
        "D-1",
        "P-1",
        AT,
        2,
        superseded_by="D-2",
        superseded_reason="名录库导入错误",
        superseded_at=AT,
        superseded_requested_by="officer.li",
        superseded_confirmed_by=EVIL,
    )
    base = task("X1", "甲公司")
    rows = [
        base,
        dataclasses.replace(base, task_id="T-2", progress="in_progress"),
        dataclasses.replace(base, task_id="T-3", progress="result_recorded"),
        dataclasses.replace(base, task_id="T-4", progress="merged"),
    ]
    html = render_tasks(rows, draws=[old])
    assert "<th>进度</th>" in html
    assert [html.count(x) for x in ("未开始", "检查中", "已录入结果", "已并入")] == [1, 1, 1, 1]
    assert "提出：officer.li，确认：&lt;script&gt;" in html
    [d] = json.loads(draws_json([old]))["draws"]
    assert (d["superseded_requested_by"], d["superseded_confirmed_by"]) == ("officer.li", EVIL)
