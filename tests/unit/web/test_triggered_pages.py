"""Triggered tasks (触发检查) on the pages: 任务公告's card labels one as such with its trigger's
name and no draw record (it was not drawn), a draw's task keeps its draw record; the phone's
task list tells the inspector which tasks are triggered."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from services.web.domain.public import year_tasks
from services.web.pages.public import PROGRESS
from services.web.queries.public import Names
from services.web.render import Pages


def _card(**over: Any) -> str:
    task: dict[str, Any] = {
        "task_id": "T-1",
        "draw_id": "D-1",
        "plan_id": "P-1",
        "plan_title": None,
        "uscc": "91360202MA35XXXX0A",
        "entity_name": "景德镇某某饭店",
        "region_code": "360202",
        "departments": ["SCJG"],
        "items": [{"code": "SCJG-001", "name": "企业公示信息的检查", "department": "SCJG"}],
        "period_start": "2026-07-01",
        "period_end": "2026-07-31",
        "progress": "not_started",
        "merged_into": None,
        "draw_superseded_by": None,
        "kind": "random",
        "trigger": None,
    }
    task.update(over)
    template = Pages().env.get_template("public/includes/task.html")
    return template.render(t=task, loop_index=1, names=Names(), labels=PROGRESS)


def test_a_triggered_task_shows_its_trigger_and_no_draw() -> None:
    html = _card(task_id="TT-1", draw_id="", plan_id="", kind="triggered", trigger="big_data")
    assert "触发检查" in html and "大数据监测" in html
    assert "抽取记录" not in html and 'href="/draws/' not in html


def test_a_drawn_task_keeps_its_draw_record() -> None:
    html = _card()
    assert "抽取记录" in html and 'href="/draws/D-1"' in html
    assert "触发检查" not in html


def _phone_list(**over: Any) -> str:
    card: dict[str, Any] = {
        "task_id": "TT-1",
        "entity_name": "景德镇某某饭店",
        "uscc": "91360202MA35XXXX0A",
        "items": [],
        "period_end": "2026-07-31",
        "status": "assigned",
        "overdue": False,
        "kind": "random",
        "trigger": None,
    }
    card.update(over)
    template = Pages().env.get_template("m/task_list.html")
    return template.render(count=1, groups=[{"label": "本周", "tasks": [card]}])


def test_the_phone_list_marks_a_triggered_task() -> None:
    assert "触发检查·转办交办" in _phone_list(kind="triggered", trigger="referral")
    assert "触发检查" not in _phone_list()


def test_a_companys_triggered_check_is_not_counted_as_drawn() -> None:
    """The company page's 随机抽取 section counts the draws' tasks only; a triggered check is
    named apart with its trigger."""
    drawn = {"plan_year": 2026, "period_start": "2026-03-01", "progress": "not_started"}
    merged = {**drawn, "progress": "merged"}
    trig = {
        "plan_year": None,
        "period_start": "2026-07-01",
        "progress": "not_started",
        "kind": "triggered",
        "trigger": "complaint",
    }
    other_year = {**trig, "period_start": "2025-07-01"}
    got, triggered = year_tasks([drawn, merged, trig, other_year], 2026)
    assert (got, triggered) == ([drawn], [trig])
    scope = {"type": "http", "method": "GET", "path": "/companies/x", "headers": []}
    page = Pages().render(
        Request({**scope, "query_string": b""}),
        "public/company.html",
        {
            "c": {
                "uscc": "91360202MA35XXXX0A",
                "entity_name": "某饭店",
                "tasks": [],
                "results": [],
            },
            "year": 2026,
            "this_year": [],
            "triggered_this_year": triggered,
            "plans": [],
            "names": Names(),
            "labels": PROGRESS,
        },
    )
    html = page.body.decode()
    assert "2026年度至今未被随机抽中" in html and "另有触发检查 1 次（投诉举报）" in html
