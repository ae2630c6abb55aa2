"""The leaders' statistics composed from the services' figures (services/web/domain/stats.py):
the filters' defaults, shares as people read them, every chart's values those of its table."""

from __future__ import annotations

from typing import Any

from services.web.domain.stats import ALL, Filters, compose, filters_of, share

DEPTS = {"SCJG": "市场监管", "SW": "税务"}


def test_filters_fall_back_to_this_year_every_region_and_the_persons_department() -> None:
    def f(**kw: Any) -> Filters:
        args = {"year": None, "region": None, "department": None, "own_department": None}
        return filters_of(**{**args, **kw}, departments=DEPTS, this_year=2026)

    assert f() == Filters(2026, "", "")
    assert f(year="2025", region="360202", department="SW") == Filters(2025, "360202", "SW")
    assert f(year="1999") == f(year="二〇二五") == f(year="20260") == Filters(2026)
    assert f(region="3602") == f(region="３６０２０２") == Filters(2026)
    # A planner sees their department's unless they choose another, or every department.
    assert f(own_department="SCJG") == Filters(2026, "", "SCJG")
    assert f(own_department="SCJG", department="SW").department == "SW"
    assert f(own_department="SCJG", department=ALL).department == ""
    assert f(own_department="SCJG", department="NOPE").department == "SCJG"
    assert Filters(2026, "", "").query() == "year=2026&region=&department=all"


def test_shares_are_written_with_one_decimal_and_a_dash_for_nothing() -> None:
    assert share(1, 3) == "33.3%"
    assert share(1, 2) == "50%"
    assert share(3, 3) == "100%"
    assert share(0, 5) == "0%"
    assert share(0, 0) == "—"


ENTITIES = {
    "total": 1500,
    "groups": [
        {"key": {"risk_class": "A", "region": "360202"}, "count": 600},
        {"key": {"risk_class": "B", "region": "360202"}, "count": 400},
        {"key": {"risk_class": "B", "region": "360222"}, "count": 500},
    ],
}
TASKS = {
    "tasks": 40,
    "completed": 30,
    "overdue": 4,
    "entities_tasked": 38,
    "entities_checked": 29,
    "by_department": [
        {"key": "SCJG", "tasks": 30, "completed": 25, "overdue": 3, "entities": 24},
        {"key": "SW", "tasks": 10, "completed": 5, "overdue": 1, "entities": 5},
    ],
    "by_inspector": [{"key": "I-1", "tasks": 8, "completed": 6, "overdue": 1, "entities": 6}],
    "by_region": [
        {"region_code": "360202", "entities": 20},
        {"region_code": "360222", "entities": 9},
    ],
    "timeliness": {"results": 30, "on_time": 24, "late": 2, "overdue": 1, "pending": 3},
    "by_item": [
        {"item_code": "SCJG-001", "item_name": "企业公示信息", "checked": 25, "problems": 5}
    ],
    # Per industry code as the tasks carry them: '' (tasks from before), two classes of one
    # 大类 (C13), one of another (H62), and a 门类 alone (F).
    "by_industry": [
        {"industry_code": "", "results": 4, "problems": 0},
        {"industry_code": "C1311", "results": 10, "problems": 3},
        {"industry_code": "C1391", "results": 6, "problems": 1},
        {"industry_code": "F", "results": 2, "problems": 0},
        {"industry_code": "H6210", "results": 8, "problems": 2},
    ],
    "by_risk_class": [
        {"risk_class": "", "entities": 3},
        {"risk_class": "A", "entities": 6},
        {"risk_class": "B", "entities": 20},
    ],
}
PLANS = {
    "plans": 3,
    "rejected": 1,
    "joint_plans": 1,
    "strata": 8,
    "joint_strata": 2,
    "general_items": 10,
    "general_items_planned": 7,
    "unplanned_items": ["X"],
    "late": [
        {
            "plan_id": "P-2",
            "title": "税务抽查",
            "departments": ["SW"],
            "filed_on": "2026-03-05",
            "entered_on": None,
            "flags": ["filed_late"],
        }
    ],
    "by_risk_class": [{"risk_class": "A", "strata": 4, "n": 600, "k": 12}],
}
DRAWS = {
    "draws": 2,
    "by_risk_class": [{"risk_class": "A", "strata": 4, "n": 590, "k": 12, "entities": 12}],
}
NAMES = {"360202": "景德镇市昌江区", "360222": "景德镇市浮梁县"}
INDUSTRIES = {"C13": "农副食品加工业", "H62": "餐饮业"}


def view(filters: Filters = Filters(2026), tasks: dict[str, Any] = TASKS) -> Any:
    return compose(
        filters=filters,
        entities=ENTITIES,
        tasks=tasks,
        plans=PLANS,
        draws=DRAWS,
        departments=DEPTS,
        region_names=NAMES,
        inspector_names={"I-1": "王芳"},
        industry_names=INDUSTRIES,
    )


def test_headline_figures() -> None:
    cards = {c.label: (c.value, c.detail) for c in view().cards}
    assert cards["抽查覆盖率"] == ("1.9%", "已检查29户，在业主体1,500户")
    assert cards["随机抽查事项占比"][0] == "70%"
    assert cards["联合抽查占比（能联尽联）"][0] == "25%"
    assert cards["任务完成率"][0] == "75%"
    assert cards["按时公示率"] == ("88.9%", "已到期结果27条，20个工作日内公示24条")
    assert cards["计划逾期报备"][0] == "1项"


def test_tables_and_their_charts_carry_the_same_figures() -> None:
    v = view()
    by_class = v.table("coverage-class")
    assert by_class is not None
    # Drawn (the draw service) and checked (the publisher) against the directory, per class;
    # '' has no entity in the directory's groups: no share of nothing.
    assert by_class.headers[2:] == (
        "已抽取主体（户）",
        "已抽取占比",
        "已检查主体（户）",
        "检查覆盖率",
    )
    assert by_class.rows == [
        ("A类（低风险）", "600", "12", "2%", "6", "1%"),
        ("B类（一般风险）", "900", "0", "0%", "20", "2.2%"),
        ("未分类", "0", "0", "—", "3", "—"),
    ]
    assert by_class.chart()["series"] == [
        {"name": "已抽取占比", "values": [2.0, 0.0, None]},
        {"name": "检查覆盖率", "values": [1.0, 2.2, None]},
    ]
    ratio = v.table("ratio-class")
    assert ratio is not None and ratio.rows[0] == (
        "A类（低风险）",
        "12",
        "600",
        "2%",
        "12",
        "590",
        "2%",
    )
    depts = v.table("departments")
    assert depts is not None
    assert depts.rows[0] == ("市场监管", "30", "25", "3", "83.3%", "24", "1.6%")
    chart = depts.chart()
    assert chart is not None and chart["series"][0]["values"] == [25, 5]
    assert chart["series"][2]["values"] == [2, 4]  # neither completed nor overdue
    inspectors = v.table("inspectors")
    assert inspectors is not None and inspectors.rows[0][0] == "王芳（I-1）"
    late = v.table("late-plans")
    assert late is not None and late.chart() is None
    assert late.rows == [
        ("P-2", "税务抽查", "税务", "2026年3月5日", "", "逾期报送政府备案（应于2月底前）")
    ]
    timely = v.table("timeliness")
    assert timely is not None and [r[2] for r in timely.rows] == ["88.9%", "7.4%", "3.7%", "—"]


def test_the_problem_rate_by_industry_adds_the_codes_up_to_their_division() -> None:
    industries = view().table("industries")
    assert industries is not None and industries.title == "问题发现率（按行业）"
    assert industries.rows == [
        ("农副食品加工业（C13）", "16", "4", "25%"),
        ("F", "2", "0", "0%"),  # a code without a name is shown as it is
        ("餐饮业（H62）", "8", "2", "25%"),
        ("未记录行业", "4", "0", "0%"),
    ]
    chart = industries.chart()
    assert chart is not None and chart["categories"] == [r[0] for r in industries.rows]
    assert chart["series"] == [{"name": "问题发现率", "values": [25.0, 0.0, 25.0, 0.0]}]
    # A publisher that answers neither list yet: the sections stay, empty, without a chart.
    older = {k: v for k, v in TASKS.items() if k not in ("by_industry", "by_risk_class")}
    v = view(tasks=older)
    empty = v.table("industries")
    assert empty is not None and empty.rows == [] and empty.chart() is None
    by_class = v.table("coverage-class")
    assert by_class is not None and by_class.rows[0][4:] == ("0", "0%")


def test_a_region_keeps_its_own_entities_and_every_region_stays_a_choice() -> None:
    v = view(Filters(2026, "360222"))
    cards = {c.label: c.value for c in v.cards}
    assert cards["抽查覆盖率"] == "5.8%"  # 29 of the region's 500 (the publisher filtered tasks)
    assert v.regions == [("360202", "景德镇市昌江区"), ("360222", "景德镇市浮梁县")]
    region = v.table("coverage-region")
    assert region is not None
    assert region.rows[-1] == ("景德镇市浮梁县（360222）", "500", "9", "1.8%")


def test_triggered_checks_are_a_card_of_their_own() -> None:
    """触发检查 is counted apart: its own card; the draws' figures stay as they were."""
    before = {c.label: c.value for c in view().cards}
    assert "触发检查（另计）" not in before
    with_triggered = compose(
        filters=Filters(2026),
        entities=ENTITIES,
        tasks=TASKS,
        plans=PLANS,
        draws=DRAWS,
        departments=DEPTS,
        region_names=NAMES,
        triggered={**TASKS, "tasks": 3, "completed": 1},
    )
    cards = {c.label: (c.value, c.detail) for c in with_triggered.cards}
    assert cards["触发检查（另计）"][0] == "3项" and "已完成1项" in cards["触发检查（另计）"][1]
    assert {k: v for k, (v, _) in cards.items() if k != "触发检查（另计）"} == before
