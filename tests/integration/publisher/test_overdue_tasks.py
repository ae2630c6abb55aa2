"""Overdue tasks (the plan's period ended, no result recorded) as a filter of the task list, for
a department's staff, an auditor and one inspector: the report `spotcheck results overdue`
counts per department, team and inspector."""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.common import Role
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings

from .conftest import bearer, publish_tasks, result_body, task_assigned


async def test_overdue_tasks_by_filter(run_service: Any) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    await publish_tasks(
        svc,
        [
            task_assigned("T-1"),  # period ended 2026-06-30
            task_assigned("T-2", uscc="91360202MA35BBBB0B"),
            task_assigned(
                "T-3", uscc="91360202MA35CCCC0C", team=("I-3", "I-4"), period_end=date(2099, 1, 1)
            ),
            task_assigned("T-4", uscc="91360202MA35DDDD0D", team=("I-3", "I-5"), dept="sw"),
        ],
    )
    staff = bearer(svc, Role.PLANNER, "staff-1")
    assert (await svc.http.post("/results", json=result_body("T-2"), headers=staff)).is_success

    async def ids(headers: dict[str, str], **params: Any) -> list[str]:
        r = await svc.http.get("/tasks", params=params, headers=headers)
        assert r.status_code == 200, r.text
        return [c["task_id"] for c in r.json()]

    auditor = bearer(svc, Role.AUDITOR, "audit-1")
    assert await ids(auditor, overdue="true") == ["T-1", "T-4"]
    assert sorted(await ids(auditor, overdue="false")) == ["T-2", "T-3"]
    assert await ids(auditor, overdue="true", inspector="I-3") == ["T-4"]
    assert await ids(staff, overdue="true") == ["T-1"]  # the department's own
    assert await ids(bearer(svc, Role.INSPECTOR, "I-3"), overdue="true") == ["T-4"]
