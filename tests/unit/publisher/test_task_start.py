"""Who may mark a task's visit begun (开始检查): the people who may record its result."""

from __future__ import annotations

import dataclasses

import pytest

from services.kit.errors import Invalid
from services.publisher.domain.validation import TaskView, check_start


def test_who_may_start_a_task(task: TaskView) -> None:
    assert check_start("T-1", task, started_by="I-1") is task
    assert check_start("T-1", task, started_by=None, starter_dept="scjg") is task
    cases = {
        "task_unknown": ("T-404", None, {"started_by": "I-1"}),
        "task_merged": ("T-1", dataclasses.replace(task, merged_into="T-9"), {"started_by": "I-1"}),
        "inspector_not_on_team": ("T-1", task, {"started_by": "I-9"}),
        "department_not_on_task": ("T-1", task, {"started_by": None, "starter_dept": "tax"}),
        "task_unstaffed": (
            "T-1",
            dataclasses.replace(task, team=()),
            {"started_by": None, "starter_dept": "scjg"},
        ),
    }
    for expected, (task_id, view, kw) in cases.items():
        with pytest.raises(Invalid) as caught:
            check_start(task_id, view, **kw)
        assert caught.value.code == "start_refused"
        assert [d["type"] for d in caught.value.details] == [expected]
