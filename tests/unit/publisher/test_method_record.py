"""Each check method leaves its own trace in the result (检查方式记录): an on-site check its
place, a documents check the documents read, an online check the URL or platform and a capture,
a commissioned check the report. Without it the result is refused, with every reason at once,
each at the field it concerns."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.kit.errors import Invalid
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.validation import TaskView, check_submission

TODAY = date(2026, 4, 1)
CAPTURE = {"name": "页面.png", "sha256": "a" * 64, "size": 1, "kind": "capture"}
REPORT = {"name": "报告.pdf", "sha256": "b" * 64, "size": 1, "kind": "report"}
PHOTO = {"name": "现场.jpg", "sha256": "c" * 64, "size": 1}


def reasons(sub: Any, task: TaskView, categories: CategoryTable) -> dict[str, list[Any]]:
    """The refusal's reasons: type → loc."""
    with pytest.raises(Invalid) as caught:
        check_submission(
            sub,
            task=task,
            categories=categories,
            submitted_by="I-1",
            latest_version=None,
            today=TODAY,
        )
    return {d["type"]: d["loc"] for d in caught.value.details}


def accepted(sub: Any, task: TaskView, categories: CategoryTable) -> str:
    return check_submission(
        sub, task=task, categories=categories, submitted_by="I-1", latest_version=None, today=TODAY
    ).method


def test_an_on_site_check_needs_its_place(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    for record in ({}, {"place": "   "}):
        found = reasons(make_submission(method_record=record), task, categories)
        assert found == {"method_place_missing": ["method_record", "place"]}
    assert accepted(make_submission(method_record={"place": "店内"}), task, categories) == "on_site"


def test_a_documents_check_needs_the_documents_read(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    sub = make_submission(method="书面检查", method_record={"documents": ["", " "]})
    assert reasons(sub, task, categories) == {
        "method_documents_missing": ["method_record", "documents"]
    }
    ok = make_submission(method="书面检查", method_record={"documents": ["进货台账"]})
    assert accepted(ok, task, categories) == "documents"


def test_an_online_check_needs_what_was_watched_and_a_capture(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    # A photo of evidence is not a capture; neither URL nor platform: both reasons at once.
    sub = make_submission(method="online", method_record={}, attachments=[PHOTO])
    assert reasons(sub, task, categories) == {
        "method_url_missing": ["method_record", "url"],
        "method_capture_missing": ["attachments"],
    }
    bad_url = make_submission(
        method="online", method_record={"url": "shop.example.cn"}, attachments=[CAPTURE]
    )
    assert reasons(bad_url, task, categories) == {"method_url_invalid": ["method_record", "url"]}
    for record in ({"platform": "某电商平台"}, {"url": "https://shop.example.cn/91360"}):
        ok = make_submission(method="online", method_record=record, attachments=[CAPTURE])
        assert accepted(ok, task, categories) == "online"


def test_a_commissioned_check_needs_the_report(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    sub = make_submission(method="委托检验检测", method_record={}, attachments=[PHOTO, CAPTURE])
    assert reasons(sub, task, categories) == {"method_report_missing": ["attachments"]}
    ok = make_submission(method="commissioned", method_record={}, attachments=[PHOTO, REPORT])
    assert accepted(ok, task, categories) == "commissioned"


def test_a_method_the_task_forbids_is_refused_before_its_record_is_asked_for(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    import dataclasses

    class_a = dataclasses.replace(task, methods=("documents", "online"))
    sub = make_submission(method="on_site", method_record={})
    assert reasons(sub, class_a, categories) == {"method_not_allowed": ["method"]}
