"""The task card on the phone shows each commissioned item's body and whether its report has
come: an item waiting for a report cannot take its result yet, and the inspector sees why."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from starlette.requests import Request

from services.web.render import Pages

COMMISSION = {
    "commission_id": "C-1",
    "item_code": "SCJG-005",
    "kind": "test",
    "body_name": "江西省产品质量监督检测院",
    "qualification_no": "CMA 161412050123",
    "subject": "电子秤 3 台",
    "commissioned_on": "2026-03-10",
    "conclusion": None,
    "reported_on": None,
}


def _render(commission: dict[str, Any]) -> str:
    task = {
        "task_id": "D-1:91360202MA35AAAA0A",
        "entity_name": "景德镇甲瓷业有限公司",
        "uscc": "91360202MA35AAAA0A",
        "period_start": "2026-03-01",
        "period_end": "2026-06-30",
        "methods": ["on_site", "commissioned"],
        "items": [{"code": "SCJG-005"}],
        "status": "in_progress",
        "batch": 1,
        "commissions": [commission],
    }
    person = SimpleNamespace(
        account=SimpleNamespace(role=SimpleNamespace(value="inspector"), display_name="胡艳")
    )
    scope = {"type": "http", "method": "GET", "path": "/m/tasks/x", "query_string": b""}
    page = Pages().render(
        Request({**scope, "headers": []}),
        "m/task.html",
        {
            "task": task,
            "entity": None,
            "items": [{"code": "SCJG-005", "name": "计量器具的检查", "legal_basis": "计量法"}],
            "team": [],
            "person": person,
            "csrf_token": "x",
            "draft": None,
            "awaiting_me": False,
        },
    )
    return page.body.decode()


def test_a_commission_waiting_for_its_report_is_shown_with_its_item() -> None:
    html = _render(COMMISSION)
    assert "委托检验检测：江西省产品质量监督检测院（CMA 161412050123）" in html
    assert "等待报告" in html and "报告返回后才能录入本事项结果" in html


def test_a_reported_commission_shows_its_conclusion() -> None:
    html = _render({**COMMISSION, "conclusion": "nonconforming", "reported_on": "2026-03-20"})
    assert "报告结论：不合格" in html and "等待报告" not in html
