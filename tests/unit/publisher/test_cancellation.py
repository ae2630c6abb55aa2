"""Calling a task off before its visit (取消任务): staff of its department, with a reason, before
any result; afterwards the task takes no start and no result."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from contracts.publisher import TaskCancellation
from services.kit.errors import Invalid
from services.publisher.domain.cancellation import check_cancel
from services.publisher.domain.validation import TaskView, check_start

GONE = TaskCancellation(reason="deregistered")


def kinds(task: TaskView | None, c: TaskCancellation = GONE, **kw: Any) -> set[str]:
    args = {"dept": "scjg", "recorded": False, "draft_waiting": False} | kw
    return {r["type"] for r in check_cancel("T-1", task, c, **args)}


def test_staff_of_the_department_cancel_an_open_task(task: TaskView) -> None:
    assert kinds(task) == set()
    assert kinds(task, dept="sw") == {"department_not_on_task"}
    assert kinds(None) == {"task_unknown"}


def test_a_task_with_a_result_or_one_waiting_is_past_cancelling(task: TaskView) -> None:
    assert kinds(task, recorded=True) == {"task_has_result"}
    assert kinds(task, draft_waiting=True) == {"task_has_result"}


def test_nothing_is_left_to_cancel_of_a_merged_or_superseded_task(task: TaskView) -> None:
    assert kinds(dataclasses.replace(task, merged_into="T-9")) == {"task_merged"}
    assert kinds(dataclasses.replace(task, draw_superseded_by="D-2")) == {"draw_superseded"}


def test_another_reason_is_said(task: TaskView) -> None:
    assert kinds(task, TaskCancellation(reason="other")) == {"cancel_note_missing"}
    assert kinds(task, TaskCancellation(reason="other", note="  ")) == {"cancel_note_missing"}
    assert kinds(task, TaskCancellation(reason="other", note="经营场所拆迁")) == set()


def test_a_cancelled_task_takes_no_start_and_no_result(
    task: TaskView, make_submission: Any, refusal: Any
) -> None:
    gone = dataclasses.replace(task, cancel_reason="deregistered")
    assert refusal(make_submission(), gone) == {"task_cancelled": ["task_id"]}
    with pytest.raises(Invalid) as caught:
        check_start("T-1", gone, started_by="I-1")
    [why] = caught.value.details
    assert why["type"] == "task_cancelled" and "主体已注销" in why["msg_zh"]
