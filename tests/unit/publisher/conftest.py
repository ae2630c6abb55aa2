"""Shared builders for the publisher's unit tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from contracts.publisher import ResultSubmission
from services.kit.errors import Invalid
from services.publisher.domain.categories import CategoryTable, load_categories
from services.publisher.domain.validation import CheckedResult, TaskView, check_submission

TODAY = date(2026, 4, 1)


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


@pytest.fixture
def check(categories: CategoryTable) -> Any:
    """`check(sub, task)`: the submission checked by inspector I-1 on 2026-04-01, as nothing
    recorded yet; keyword arguments override `check_submission`'s."""

    def run(sub: ResultSubmission, task: TaskView | None, **kw: Any) -> CheckedResult:
        args: dict[str, Any] = {
            "categories": categories,
            "submitted_by": "I-1",
            "latest_version": None,
            "today": TODAY,
        }
        return check_submission(sub, task=task, **(args | kw))

    return run


@pytest.fixture
def refusal(check: Any) -> Any:
    """`refusal(sub, task)`: the reasons `check` refuses it with, type → loc."""

    def run(sub: ResultSubmission, task: TaskView | None, **kw: Any) -> dict[str, list[Any]]:
        with pytest.raises(Invalid) as caught:
            check(sub, task, **kw)
        return {d["type"]: d["loc"] for d in caught.value.details}

    return run
