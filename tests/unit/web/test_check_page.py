"""检查码: what the entity's representative reads when they scan an inspector's code. A task
whose draw was redrawn is void, and the page says so instead of vouching for it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from starlette.requests import Request

from services.web.render import Pages


def _facts(status: str) -> dict[str, Any]:
    return {
        "task_id": "D-1:91360202MA35AAAA0A",
        "entity_name": "景德镇甲瓷业有限公司",
        "uscc": "91360202MA35AAAA0A",
        "period_start": date(2026, 3, 1),
        "period_end": date(2026, 6, 30),
        "items": [{"code": "SCJG-001", "name": "企业公示信息情况的检查"}],
        "inspectors": [],
        "status": status,
    }


@pytest.mark.parametrize(
    ("status", "void"),
    [("assigned", False), ("published", False), ("superseded", True), ("cancelled", True)],
)
def test_the_check_page_vouches_only_for_a_live_task(status: str, void: bool) -> None:
    scope = {"type": "http", "method": "GET", "path": "/m/tasks/x/code", "query_string": b""}
    page = Pages().render(
        Request({**scope, "headers": []}),
        "check.html",
        {"facts": _facts(status), "today": date(2026, 12, 3)},
    )
    html = page.body.decode()
    assert ("此任务已作废" in html) is void
    assert ("真实检查任务" in html) is not void
    assert "景德镇甲瓷业有限公司" in html
