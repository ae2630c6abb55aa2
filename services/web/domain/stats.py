"""The leaders' statistics (`/console/stats`, issue #13) composed from the services' own
figures: the registry's entities, the planner's plans, the draw's ratios and the publisher's
tasks and results (each answers `GET /stats/...`). Pure: the page asks the services, this
module only divides, names and writes the figures as people in China read them (and adds up
the publisher's industries to their GB/T 4754 大类, which a leader reads).

Every chart has a table with the same figures (and a CSV of it): a chart's values are the
table's numbers, never computed apart. A share of nothing is `—`, not 0%.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.web.domain.writing import day, number

RISK_CLASSES: dict[str, str] = {
    "A": "A类（低风险）",
    "B": "B类（一般风险）",
    "C": "C类（较高风险）",
    "D": "D类（高风险）",
    "": "未分类",
}
FLAGS: dict[str, str] = {
    "not_filed": "未报送政府备案",
    "filed_late": "逾期报送政府备案（应于2月底前）",
    "entered_late": "逾期录入平台（应于3月31日前）",
}
ALL = "all"  # the department filter's "every department" (a planner's default is their own)
_REGION = re.compile(r"^[0-9]{6}$")
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class Filters:
    """Which figures the page shows: a year, a region (`""` all) and a department (`""` all)."""

    year: int
    region: str = ""
    department: str = ""

    def params(self) -> dict[str, Any]:
        """The services' query parameters (empty filters left out)."""
        return {"year": self.year, "region": self.region, "department": self.department}

    def query(self) -> str:
        """The page's own query string, for the CSV links (`ALL` kept: it is a choice)."""
        dept = self.department or ALL
        return f"year={self.year}&region={self.region}&department={dept}"


def filters_of(
    *,
    year: str | None,
    region: str | None,
    department: str | None,
    own_department: str | None,
    departments: Mapping[str, str],
    this_year: int,
) -> Filters:
    """The filters as asked, anything unusable replaced by the default: this year, every
    region, the person's own department (a planner's) or every department."""
    try:
        y = int(year or "")
    except ValueError:
        y = this_year
    if not FIRST_YEAR <= y <= LAST_YEAR:
        y = this_year
    r = region if region and _REGION.match(region) else ""
    if department == ALL:
        d = ""
    elif department and department in departments:
        d = department
    else:
        d = own_department if own_department and own_department in departments else ""
    return Filters(year=y, region=r, department=d)


def share(part: int, whole: int) -> str:
    """`12.5%` (one decimal, trailing zero dropped); `—` when there is nothing to divide."""
    if whole <= 0:
        return "—"
    text = f"{part * 100 / whole:.1f}".removesuffix(".0")
    return f"{text}%"


def percent(part: int, whole: int) -> float | None:
    """The same share as a number for a chart (None: no bar)."""
    return None if whole <= 0 else round(part * 100 / whole, 1)


@dataclass(frozen=True)
class Card:
    """A headline figure at the top."""

    label: str
    value: str
    detail: str


@dataclass(frozen=True)
class Series:
    """One bar series of a chart: its name and a value per category."""

    name: str
    values: list[float | int | None]


@dataclass(frozen=True)
class Table:
    """One section: a table (display strings), the chart of the same figures, its CSV key."""

    key: str
    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    note: str = ""
    categories: list[str] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    unit: str = ""

    def chart(self) -> dict[str, Any] | None:
        """What stats.js draws (ECharts bars), or None for a table without a chart."""
        if not self.series or not self.rows:
            return None
        return {
            "key": self.key,
            "title": self.title,
            "unit": self.unit,
            "categories": self.categories,
            "series": [{"name": s.name, "values": s.values} for s in self.series],
        }


@dataclass(frozen=True)
class StatsView:
    """The whole page."""

    filters: Filters
    cards: list[Card]
    tables: list[Table]
    regions: list[tuple[str, str]]

    def table(self, key: str) -> Table | None:
        """One section by its key (the CSV route)."""
        return next((t for t in self.tables if t.key == key), None)


def _risk(code: str) -> str:
    return RISK_CLASSES.get(code, f"{code}类")


def _coverage_by_class(
    entities: Mapping[str, Any],
    draws: Mapping[str, Any],
    tasks: Mapping[str, Any],
    *,
    region: str,
) -> Table:
    total: dict[str, int] = {}
    for g in entities["groups"]:
        key = g["key"].get("risk_class", "")
        total[key] = total.get(key, 0) + int(g["count"])
    drawn = {r["risk_class"]: int(r["entities"]) for r in draws["by_risk_class"]}
    checked = {r["risk_class"]: int(r["entities"]) for r in tasks.get("by_risk_class", [])}
    keys = sorted(set(total) | set(drawn) | set(checked), key=lambda k: (k == "", k))
    rows = [
        (
            _risk(k),
            number(total.get(k, 0)),
            number(drawn.get(k, 0)),
            share(drawn.get(k, 0), total.get(k, 0)),
            number(checked.get(k, 0)),
            share(checked.get(k, 0), total.get(k, 0)),
        )
        for k in keys
    ]
    return Table(
        key="coverage-class",
        title="各信用风险类别的抽查覆盖率",
        headers=(
            "信用风险类别",
            "在业主体（户）",
            "已抽取主体（户）",
            "已抽取占比",
            "已检查主体（户）",
            "检查覆盖率",
        ),
        rows=rows,
        note="已抽取：本年度各次抽取（不含被重新抽取取代的）选中的主体，同一主体在多个分层中被抽中计一户"
        + ("，不分区划" if region else "")
        + "。已检查：本年度任务已录入检查结果的主体（同一主体多次检查计一户），按抽取时名录库中的"
        "信用风险类别计，派发时未记录类别的任务（较早派发的任务）计入未分类。",
        categories=[_risk(k) for k in keys],
        series=[
            Series("已抽取占比", [percent(drawn.get(k, 0), total.get(k, 0)) for k in keys]),
            Series("检查覆盖率", [percent(checked.get(k, 0), total.get(k, 0)) for k in keys]),
        ],
        unit="%",
    )


def _ratios(plans: Mapping[str, Any], draws: Mapping[str, Any]) -> Table:
    planned = {r["risk_class"]: r for r in plans["by_risk_class"]}
    drawn = {r["risk_class"]: r for r in draws["by_risk_class"]}
    keys = sorted(set(planned) | set(drawn), key=lambda k: (k == "", k))
    zero = {"n": 0, "k": 0}
    rows, p_values, d_values = [], [], []
    for k in keys:
        p, d = planned.get(k, zero), drawn.get(k, zero)
        rows.append(
            (
                _risk(k),
                number(p["k"]),
                number(p["n"]),
                share(p["k"], p["n"]),
                number(d["k"]),
                number(d["n"]),
                share(d["k"], d["n"]),
            )
        )
        p_values.append(percent(p["k"], p["n"]))
        d_values.append(percent(d["k"], d["n"]))
    return Table(
        key="ratio-class",
        title="抽查比例：计划与实际抽取",
        headers=(
            "信用风险类别",
            "计划抽查（户）",
            "计划时候选（户）",
            "计划比例",
            "实际抽中（户）",
            "名单内（户）",
            "实际比例",
        ),
        rows=rows,
        note="计划比例按计划批准时估算的候选户数计；实际比例按抽取时冻结的名单计。",
        categories=[_risk(k) for k in keys],
        series=[Series("计划比例", list(p_values)), Series("实际比例", list(d_values))],
        unit="%",
    )


def _coverage_by_region(
    entities: Mapping[str, Any], tasks: Mapping[str, Any], names: Mapping[str, str]
) -> Table:
    total: dict[str, int] = {}
    for g in entities["groups"]:
        key = g["key"].get("region", "")
        total[key] = total.get(key, 0) + int(g["count"])
    checked = {r["region_code"]: int(r["entities"]) for r in tasks["by_region"]}
    keys = sorted(set(total) | set(checked))
    label = [f"{names.get(k, k)}（{k}）" for k in keys]
    return Table(
        key="coverage-region",
        title="各区划的检查覆盖率",
        headers=("区划", "在业主体（户）", "已检查主体（户）", "覆盖率"),
        rows=[
            (
                label[i],
                number(total.get(k, 0)),
                number(checked.get(k, 0)),
                share(checked.get(k, 0), total.get(k, 0)),
            )
            for i, k in enumerate(keys)
        ],
        note="已检查：本年度任务已录入检查结果的主体（同一主体多次检查计一户）。",
        categories=label,
        series=[Series("覆盖率", [percent(checked.get(k, 0), total.get(k, 0)) for k in keys])],
        unit="%",
    )


def _tally(
    key: str,
    title: str,
    first: str,
    rows_in: Sequence[Mapping[str, Any]],
    names: Mapping[str, str],
    entities_total: int | None,
) -> Table:
    headers: tuple[str, ...] = (first, "任务数", "已完成", "超期未完成", "完成率")
    if entities_total is not None:
        headers += ("已检查主体（户）", "占在业主体")
    rows: list[tuple[str, ...]] = []
    for r in rows_in:
        row: tuple[str, ...] = (
            str(names.get(r["key"], names.get(str(r["key"]).upper(), r["key"]))),
            number(r["tasks"]),
            number(r["completed"]),
            number(r["overdue"]),
            share(r["completed"], r["tasks"]),
        )
        if entities_total is not None:
            row += (number(r["entities"]), share(r["entities"], entities_total))
        rows.append(row)
    return Table(
        key=key,
        title=title,
        headers=headers,
        rows=rows,
        note="超期未完成：检查期限已过仍未录入结果。联合检查的任务计入每个参加部门。",
        categories=[row[0] for row in rows],
        series=[
            Series("已完成", [r["completed"] for r in rows_in]),
            Series("超期未完成", [r["overdue"] for r in rows_in]),
            Series("其他未完成", [r["tasks"] - r["completed"] - r["overdue"] for r in rows_in]),
        ],
        unit="项",
    )


def _timeliness(t: Mapping[str, int]) -> Table:
    due = t["on_time"] + t["late"] + t["overdue"]  # results whose deadline has come
    parts = (
        ("20个工作日内公示", t["on_time"]),
        ("超过期限后公示", t["late"]),
        ("已过期限仍未公示", t["overdue"]),
        ("尚在期限内未公示", t["pending"]),
    )
    return Table(
        key="timeliness",
        title="检查结果公示时效",
        headers=("情况", "结果数", "占已到期结果"),
        rows=[
            (name, number(n), "—" if name.startswith("尚在") else share(n, due))
            for name, n in parts
        ],
        note="自检查之日起20个工作日内通过国家企业信用信息公示系统公示；已到期结果不含尚在期限内的。",
        categories=[name for name, _ in parts],
        series=[Series("结果数", [n for _, n in parts])],
        unit="条",
    )


def _items(rows_in: Sequence[Mapping[str, Any]]) -> Table:
    label = [f"{r['item_name'] or r['item_code']}（{r['item_code']}）" for r in rows_in]
    return Table(
        key="items",
        title="各检查事项的问题发现率",
        headers=("检查事项", "检查次数", "发现问题", "问题发现率"),
        rows=[
            (
                label[i],
                number(r["checked"]),
                number(r["problems"]),
                share(r["problems"], r["checked"]),
            )
            for i, r in enumerate(rows_in)
        ],
        note="按各任务最新一版检查结果计；发现问题指结果类别属于违法违规情形。",
        categories=label,
        series=[Series("问题发现率", [percent(r["problems"], r["checked"]) for r in rows_in])],
        unit="%",
    )


def industry_division(code: str) -> str:
    """The 大类 (division) of a GB/T 4754-2017 code as the registry writes them, its 门类 letter
    in front: `C1311` → `C13`; a 门类 alone stays itself, `""` (none recorded) stays `""`."""
    return code[:3]


def _industries(rows_in: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> Table:
    results: dict[str, int] = {}
    problems: dict[str, int] = {}
    for r in rows_in:
        d = industry_division(r["industry_code"])
        results[d] = results.get(d, 0) + int(r["results"])
        problems[d] = problems.get(d, 0) + int(r["problems"])
    keys = sorted(results, key=lambda k: (k == "", k))
    label = [f"{names[k]}（{k}）" if names.get(k, k) != k else (k or "未记录行业") for k in keys]
    return Table(
        key="industries",
        title="问题发现率（按行业）",
        headers=("行业（国民经济行业分类大类）", "检查结果（条）", "发现问题（条）", "问题发现率"),
        rows=[
            (label[i], number(results[k]), number(problems[k]), share(problems[k], results[k]))
            for i, k in enumerate(keys)
        ],
        note="按各任务最新一版检查结果计，一项任务一条；发现问题指任一检查事项的结果类别属于"
        "违法违规情形。行业为抽取时名录库登记的行业，按GB/T 4754-2017大类汇总；"
        "未记录行业：派发时未记录行业的任务（较早派发的任务）。",
        categories=label,
        series=[Series("问题发现率", [percent(problems[k], results[k]) for k in keys])],
        unit="%",
    )


def _late(plans: Mapping[str, Any], departments: Mapping[str, str]) -> Table:
    return Table(
        key="late-plans",
        title="计划逾期报备",
        headers=("计划编号", "计划名称", "部门", "报送政府备案日期", "录入平台日期", "情况"),
        rows=[
            (
                p["plan_id"],
                p["title"] or "",
                "、".join(departments.get(d, d) for d in p["departments"]),
                day(p.get("filed_on")) or "未报送",
                day(p.get("entered_on")),
                "；".join(FLAGS.get(f, f) for f in p["flags"]),
            )
            for p in plans["late"]
        ],
        note="年度抽查计划应于2月底前报送同级人民政府备案，3月31日前录入平台。",
    )


def compose(
    *,
    filters: Filters,
    entities: Mapping[str, Any],
    tasks: Mapping[str, Any],
    plans: Mapping[str, Any],
    draws: Mapping[str, Any],
    departments: Mapping[str, str],
    region_names: Mapping[str, str],
    inspector_names: Mapping[str, str] | None = None,
    industry_names: Mapping[str, str] | None = None,
    triggered: Mapping[str, Any] | None = None,
) -> StatsView:
    """The page from the four services' replies (their `/stats/...` JSON). The registry's
    groups are of every region (they give the region filter its choices); a chosen region
    keeps its own. `industry_names` names the industries' 大类 (`industry_division`).
    `tasks` are the draws' tasks; `triggered` (the publisher's figures of triggered checks,
    触发检查) is one card of its own, never added to them."""
    every = list(entities["groups"])
    groups = [g for g in every if not filters.region or g["key"].get("region") == filters.region]
    entities = {"groups": groups, "total": sum(int(g["count"]) for g in groups)}
    total = int(entities["total"])
    t = tasks["timeliness"]
    due = t["on_time"] + t["late"] + t["overdue"]
    cards = [
        Card(
            "抽查覆盖率",
            share(tasks["entities_checked"], total),
            f"已检查{number(tasks['entities_checked'])}户，在业主体{number(total)}户",
        ),
        Card(
            "随机抽查事项占比",
            share(plans["general_items_planned"], plans["general_items"]),
            f"一般检查事项{number(plans['general_items'])}项中"
            f"{number(plans['general_items_planned'])}项纳入抽查计划（目标100%）",
        ),
        Card(
            "联合抽查占比（能联尽联）",
            share(plans["joint_strata"], plans["strata"]),
            f"抽查分层{number(plans['strata'])}个，其中联合抽查{number(plans['joint_strata'])}个",
        ),
        Card(
            "任务完成率",
            share(tasks["completed"], tasks["tasks"]),
            f"任务{number(tasks['tasks'])}项，已完成{number(tasks['completed'])}项，"
            f"超期未完成{number(tasks['overdue'])}项",
        ),
        Card(
            "按时公示率",
            share(t["on_time"], due),
            f"已到期结果{number(due)}条，20个工作日内公示{number(t['on_time'])}条",
        ),
        Card(
            "计划逾期报备",
            f"{number(len(plans['late']))}项",
            f"本年度批准的抽查计划{number(plans['plans'])}项",
        ),
    ]
    if triggered is not None:
        cards.append(
            Card(
                "触发检查（另计）",
                f"{number(triggered['tasks'])}项",
                f"已完成{number(triggered['completed'])}项；以上随机抽查的数字不含触发检查",
            )
        )
    names = {str(k): v for k, v in departments.items()}
    tables = [
        _coverage_by_class(entities, draws, tasks, region=filters.region),
        _ratios(plans, draws),
        _coverage_by_region(entities, tasks, region_names),
        _tally("departments", "各部门任务完成情况", "部门", tasks["by_department"], names, total),
        _tally(
            "inspectors",
            "各检查人员任务完成情况",
            "检查人员（工号）",
            tasks["by_inspector"],
            {k: f"{n}（{k}）" for k, n in (inspector_names or {}).items()},
            None,
        ),
        _timeliness(t),
        _items(tasks["by_item"]),
        _industries(tasks.get("by_industry", []), industry_names or {}),
        _late(plans, departments),
    ]
    regions = sorted({g["key"].get("region", "") for g in every} | ({filters.region} - {""}))
    return StatsView(
        filters=filters,
        cards=cards,
        tables=tables,
        regions=[(r, region_names.get(r, r)) for r in regions if r],
    )
