"""Shared builders for the publisher's unit tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from contracts.publisher import ResultSubmission
from services.publisher.domain.categories import CategoryTable, load_categories
from services.publisher.domain.validation import TaskView


@pytest.fixture(scope="session")
def categories() -> CategoryTable:
    return load_categories()


@pytest.fixture
def task() -> TaskView:
    return TaskView(
        task_id="T-1",
        draw_id="D-1",
        plan_id="P-1",
        uscc="91360202MA35XXXX0A",
        entity_name="景德镇市昌江区测试瓷业有限公司",
        region_code="360202",
        departments=("scjg",),
        lead_department="scjg",
        item_codes=("ITEM-01", "ITEM-02"),
        team=("I-1", "I-2"),
        period_start=date(2026, 3, 1),
        period_end=date(2026, 6, 30),
    )


def _submission(**over: Any) -> ResultSubmission:
    body: dict[str, Any] = {
        "task_id": "T-1",
        "check_date": "2026-03-10",
        "method": "实地检查",
        "method_record": {"place": "景德镇市昌江区瓷都大道1号"},
        "items": [
            {"item_code": "ITEM-01", "category": "1"},
            {"item_code": "ITEM-02", "category": "未发现问题"},
        ],
        "confirmations": [
            {"inspector_id": "I-1", "confirmed_at": datetime(2026, 3, 10, 10).isoformat()},
            {"inspector_id": "I-2", "confirmed_at": datetime(2026, 3, 10, 10).isoformat()},
        ],
    }
    body.update(over)
    return ResultSubmission.model_validate(body)


@pytest.fixture
def make_submission() -> Any:
    """A builder of valid submissions for the task above; keyword arguments override fields."""
    return _submission
