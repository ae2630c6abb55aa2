"""Public disclosure pages (公示) in Chinese: the four notices as HTML, from Jinja2 templates.

Pure functions from notice rows to HTML text: each page function passes its rows to its
template (`services/publisher/templates/`, one base layout and small includes) through
`render`. Entity names, problems and reasons are user input, so autoescaping is on and every
printed value goes through `e()` (HTML escape including quotes, dates formatted) before the
page sees it; URLs are built with `urlencode` before escaping. The pages carry no script and
forbid any by their CSP meta tag, as a second line of defence.

The environment is built on the first render, not at import, and kept: templates compile once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import cache
from html import escape
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

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
    "cancelled": "已取消",
}


def e(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    if isinstance(value, datetime):
        value = value.strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, date):
        value = value.isoformat()
    return escape(str(value), quote=True)


def _finalize(value: object) -> object:
    # Every `{{ … }}` passes here before autoescape: the house escape (`&quot;` for quotes,
    # dates as the notices print them); markup the templates built themselves passes as is.
    return value if isinstance(value, Markup) else Markup(e(value))


def _joined(values: Iterable[str]) -> str:
    return "、".join(values)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("services.publisher", "templates"),
        autoescape=True,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["joined"] = _joined
    env.filters["query"] = urlencode
    env.globals.update(base=BASE, nav=NAV, kind_zh=KIND_ZH, progress_zh=PROGRESS_ZH)
    return env


def render(template: str, **context: object) -> str:
    """A page from its template and context (no I/O but the first load of the templates)."""
    return _environment().get_template(template).render(**context)


def render_items(items: Sequence[ItemNotice]) -> str:
    """抽查事项清单."""
    return render("items.html", title="抽查事项清单", current="items", items=items)


def render_plans(plans: Sequence[PlanNotice]) -> str:
    """计划公告."""
    return render("plans.html", title="计划公告", current="plans", plans=plans)


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
    return render(
        "tasks.html", title="任务公告", current="tasks", tasks=tasks, draws=draws, query=query
    )


def render_results(results: Sequence[ResultNotice], *, query: str | None = None) -> str:
    """结果公告: the latest version of each result with its history; searchable.

    The last day to publish (公示期限) is marked 暂定 (provisional) when it counts days of a
    year whose holidays are not yet published; a note under the table says what that means.
    """
    return render("results.html", title="结果公告", current="results", results=results, query=query)


def search_link(kind: str, query: str) -> str:
    """The escaped href of a search (for links between pages)."""
    return e(f"{BASE}/{kind}?{urlencode({'q': normalise_query(query)})}")
