"""Public disclosure pages (公示) in Chinese: the four notices as HTML.

Pure functions from notice rows to HTML text. Every piece of data goes through `e()` (HTML
escape including quotes) because entity names, problems and reasons are user input; URLs are
built with `quote` before escaping. The pages carry no script and forbid any by their CSP
meta tag, as a second line of defence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from html import escape
from urllib.parse import urlencode

from services.publisher.domain.notices import (
    DrawNotice,
    ItemNotice,
    PlanNotice,
    ResultNotice,
    TaskNotice,
    normalise_query,
)

BASE = "/public"
NAV = (
    ("items", "抽查事项清单"),
    ("plans", "计划公告"),
    ("tasks", "任务公告"),
    ("results", "结果公告"),
)
KIND_ZH = {"general": "一般检查事项", "priority": "重点检查事项"}
PROGRESS_ZH = {
    "not_started": "未开始",
    "in_progress": "检查中",
    "result_recorded": "已录入结果",
    "merged": "已并入其他任务",
}


def e(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    if isinstance(value, datetime):
        value = value.strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, date):
        value = value.isoformat()
    return escape(str(value), quote=True)


def _join(values: Iterable[str]) -> str:
    return e("、".join(values))


def _layout(title: str, current: str, body: str, *, query: str | None = None) -> str:
    current_attr = ' aria-current="page"'
    nav = " | ".join(
        f'<a href="{e(BASE)}/{key}"{current_attr if key == current else ""}>{e(label)}</a>'
        for key, label in NAV
    )
    search = ""
    if current in ("tasks", "results"):
        search = (
            f'<form method="get" action="{e(BASE)}/{e(current)}" role="search">'
            "<label>统一社会信用代码或名称 "
            f'<input type="search" name="q" value="{e((query or "").strip())}" maxlength="100">'
            '</label> <button type="submit">查询</button></form>'
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} — “双随机、一公开”公示</title>"
        "<style>body{font-family:sans-serif;max-width:70em;margin:auto;padding:1em}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3em}"
        ".violation{color:#b00}.superseded{color:#a60}</style></head><body>"
        f"<header><nav>{nav}</nav><h1>{e(title)}</h1>{search}</header>"
        f"<main>{body}</main>"
        f'<footer><a href="{e(BASE)}/results.json">JSON</a> · '
        f'<a href="{e(BASE)}/results.csv">CSV</a> · '
        f'<a href="{e(BASE)}/feed.atom">Atom</a></footer>'
        "</body></html>\n"
    )


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> str:
    """A table; cells must already be escaped HTML."""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return f"<p>{e(empty)}</p>"
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_items(items: Sequence[ItemNotice]) -> str:
    """抽查事项清单."""
    rows = (
        (e(i.code), e(i.name), e(KIND_ZH.get(i.kind, i.kind)), e(i.department), e(i.basis))
        for i in items
    )
    body = _table(
        ("事项编码", "抽查事项", "事项类别", "检查部门", "检查依据"), rows, "暂无抽查事项。"
    )
    return _layout("抽查事项清单", "items", body)


def render_plans(plans: Sequence[PlanNotice]) -> str:
    """计划公告."""
    rows = (
        (
            e(p.year),
            e(p.title),
            _join(p.departments),
            e(p.strata),
            e(p.approved_at),
            f"<code>{e(p.rules_version[:12])}</code>",
        )
        for p in plans
    )
    body = _table(
        ("年度", "抽查计划", "部门", "抽查范围（层数）", "批准时间", "规则版本"),
        rows,
        "暂无抽查计划。",
    )
    return _layout("计划公告", "plans", body)


def _draw_state(d: DrawNotice) -> str:
    if d.superseded_by is not None:
        text = f"已被重新抽取 {e(d.superseded_by)} 取代"
        if d.superseded_at is not None:
            text += f"（{e(d.superseded_at)}）"
        if d.superseded_reason:
            text += f"；理由：{e(d.superseded_reason)}"
        if d.superseded_requested_by:
            text += f"；提出：{e(d.superseded_requested_by)}"
        if d.superseded_confirmed_by:
            text += f"，确认：{e(d.superseded_confirmed_by)}"
        return f'<span class="superseded">{text}</span>'
    if d.completed_at is None:
        return "抽取未完成"
    return "有效" + (f"（重新抽取，取代 {e(d.supersedes)}）" if d.supersedes else "")


def render_draws(draws: Sequence[DrawNotice]) -> str:
    """The draws whose tasks are announced, each linking to its tasks; superseded ones marked."""
    rows = (
        (
            f'<a href="{e(BASE)}/tasks?{e(urlencode({"draw": d.draw_id}))}">{e(d.draw_id)}</a>',
            e(d.plan_id or ""),
            e(d.completed_at or ""),
            e("" if d.tasks is None else d.tasks),
            f"<code>{e(d.seed or '')}</code>"
            + (f"（{e(d.seed_source)}）" if d.seed_source else ""),
            _draw_state(d),
        )
        for d in draws
    )
    return _table(
        ("抽取编号", "抽查计划", "抽取完成时间", "任务数", "随机种子", "状态"),
        rows,
        "暂无抽取记录。",
    )


def render_tasks(
    tasks: Sequence[TaskNotice],
    *,
    query: str | None = None,
    draws: Sequence[DrawNotice] = (),
) -> str:
    """任务公告: the draws, then their tasks (entity, items, authority, period, progress);
    searchable.

    A task of a superseded draw stays listed, marked, beside the tasks of the redraw.
    """
    rows = (
        (
            e(t.uscc),
            e(t.entity_name),
            _join(t.items),
            _join(t.authority),
            f"{e(t.period_start)} 至 {e(t.period_end)}",
            e(PROGRESS_ZH.get(t.progress, t.progress)),
            e(t.draw_id)
            + (
                f'<br><span class="superseded">已被重新抽取 {e(t.superseded_by)} 取代</span>'
                if t.superseded_by
                else ""
            ),
        )
        for t in tasks
    )
    body = _table(
        ("统一社会信用代码", "检查对象", "抽查事项", "检查机关", "检查期限", "进度", "抽取"),
        rows,
        "没有符合条件的抽查任务。",
    )
    if draws:
        body = f"<h2>抽取记录</h2>{render_draws(draws)}<h2>抽查任务</h2>{body}"
    return _layout("任务公告", "tasks", body, query=query)


def _result_cell(r: ResultNotice) -> str:
    parts = []
    for item in r.items:
        text = f"{e(item.item_code)}：{e(item.category_name)}"
        if item.problems:
            text += f"（{e(item.problems)}）"
        parts.append(text)
    return "<br>".join(parts)


def _history(r: ResultNotice) -> str:
    if not r.history and r.version == 1:
        return "—"
    lines = [
        f"第{e(r.version)}版（现行）"
        + (f"：{e(r.correction_reason)}" if r.correction_reason else "")
    ]
    for h in sorted(r.history, key=lambda h: -h.version):
        text = f"第{e(h.version)}版 {e(h.published_at)}：{_join(h.categories)}"
        if h.correction_reason:
            text += f"；更正理由：{e(h.correction_reason)}"
        lines.append(text)
    return "<br>".join(lines)


PROVISIONAL_NOTE = (
    "标注“暂定”的公示期限按周末和《全国年节及纪念日放假办法》规定的节假日推算："
    "该年度的放假调休安排尚未公布，公布后重新计算。"
)


def _due(r: ResultNotice) -> str:
    if r.due_date is None:
        return ""
    return e(r.due_date) + ("（暂定）" if r.due_date_provisional else "")


def render_results(results: Sequence[ResultNotice], *, query: str | None = None) -> str:
    """结果公告: the latest version of each result with its history; searchable.

    The last day to publish (公示期限) is marked 暂定 (provisional) when it counts days of a
    year whose holidays are not yet published; a note under the table says what that means.
    """
    rows = (
        (
            e(r.uscc),
            e(r.entity_name),
            _join(r.authority),
            e(r.check_date),
            ('<span class="violation">' if r.violation else "<span>") + _result_cell(r) + "</span>",
            _due(r),
            e(r.published_at),
            _history(r),
        )
        for r in results
    )
    body = _table(
        (
            "统一社会信用代码",
            "检查对象",
            "检查机关",
            "检查日期",
            "检查结果",
            "公示期限",
            "公示时间",
            "更正记录",
        ),
        rows,
        "没有符合条件的检查结果。",
    )
    if any(r.due_date_provisional for r in results):
        body += f'<p class="note">{e(PROVISIONAL_NOTE)}</p>'
    return _layout("结果公告", "results", body, query=query)


def search_link(kind: str, query: str) -> str:
    """The escaped href of a search (for links between pages)."""
    return e(f"{BASE}/{kind}?{urlencode({'q': normalise_query(query)})}")
