"""A result's method must be one its task allows (class A: no proactive on-site visit), in the
vocabulary of the rule files (codes or their Chinese names); the publisher keeps the code."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from services.kit.errors import Invalid
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.validation import TaskView, check_submission

TODAY = date(2026, 4, 1)


def refuse(sub: Any, task: TaskView | None, categories: CategoryTable, **kw: Any) -> set[str]:
    kw.setdefault("submitted_by", "I-1")
    kw.setdefault("latest_version", None)
    with pytest.raises(Invalid) as caught:
        check_submission(sub, task=task, categories=categories, today=TODAY, **kw)
    return {d["type"] for d in caught.value.details}


def class_a(task: TaskView) -> TaskView:
    """The task as the draw sends it for a class-A entity: the rules forbid on-site visits."""
    return dataclasses.replace(task, methods=("documents", "online"))


def test_a_result_with_a_method_its_task_does_not_allow_is_refused(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    for method in ("on_site", "实地检查", "实地核查"):
        with pytest.raises(Invalid) as caught:
            check_submission(
                make_submission(method=method),
                task=class_a(task),
                categories=categories,
                submitted_by="I-1",
                latest_version=None,
                today=TODAY,
            )
        assert caught.value.code == "result_refused"
        [reason] = caught.value.details
        assert reason["type"] == "method_not_allowed" and reason["loc"] == ["method"]
        assert "on_site is not allowed for task T-1 (allowed: documents, online)" in reason["msg"]
        assert "无事不扰" in reason["msg_zh"] and "书面检查、网络监测" in reason["msg_zh"]


def test_a_result_with_an_allowed_method_is_kept_under_its_code(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    record = {"documents": ["营业执照"], "url": "https://shop.example.cn/1"}
    capture = {"name": "页面.png", "sha256": "a" * 64, "size": 1, "kind": "capture"}
    for given, code in (("documents", "documents"), ("网络监测", "online"), (" ONLINE ", "online")):
        ok = check_submission(
            make_submission(method=given, method_record=record, attachments=[capture]),
            task=class_a(task),
            categories=categories,
            submitted_by="I-1",
            latest_version=None,
            today=TODAY,
        )
        assert ok.method == code


def test_an_unknown_method_is_refused_even_where_the_task_names_none(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    assert task.methods == ()  # a task received before methods were kept
    assert refuse(make_submission(method="看了一眼"), task, categories) == {"method_unknown"}
    assert refuse(make_submission(method="看了一眼"), None, categories) == {
        "task_unknown",
        "method_unknown",
    }


def test_a_correction_may_not_switch_to_a_forbidden_method(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    sub = make_submission(method="on_site", corrects_version=1, correction_reason="补录检查方式")
    assert refuse(sub, class_a(task), categories, latest_version=1) == {"method_not_allowed"}
