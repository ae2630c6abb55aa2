"""Each check method leaves its own trace in the result (检查方式记录): an on-site check its
place, a documents check the documents read, an online check the URL or platform and a capture,
a commissioned check the report. Without it the result is refused, with every reason at once,
each at the field it concerns."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.publisher.domain.validation import TaskView

TODAY = date(2026, 4, 1)
CAPTURE = {"name": "页面.png", "sha256": "a" * 64, "size": 1, "kind": "capture"}
REPORT = {"name": "报告.pdf", "sha256": "b" * 64, "size": 1, "kind": "report"}
PHOTO = {"name": "现场.jpg", "sha256": "c" * 64, "size": 1}


def test_an_on_site_check_needs_its_place(
    make_submission: Any, task: TaskView, check: Any, refusal: Any
) -> None:
    for record in ({}, {"place": "   "}):
        found = refusal(make_submission(method_record=record), task)
        assert found == {"method_place_missing": ["method_record", "place"]}
    assert check(make_submission(method_record={"place": "店内"}), task).method == "on_site"


def test_a_documents_check_needs_the_documents_read(
    make_submission: Any, task: TaskView, check: Any, refusal: Any
) -> None:
    sub = make_submission(method="书面检查", method_record={"documents": ["", " "]})
    assert refusal(sub, task) == {"method_documents_missing": ["method_record", "documents"]}
    ok = make_submission(method="书面检查", method_record={"documents": ["进货台账"]})
    assert check(ok, task).method == "documents"


def test_an_online_check_needs_what_was_watched_and_a_capture(
    make_submission: Any, task: TaskView, check: Any, refusal: Any
) -> None:
    # A photo of evidence is not a capture; neither URL nor platform: both reasons at once.
    sub = make_submission(method="online", method_record={}, attachments=[PHOTO])
    assert refusal(sub, task) == {
        "method_url_missing": ["method_record", "url"],
        "method_capture_missing": ["attachments"],
    }
    bad_url = make_submission(
        method="online", method_record={"url": "shop.example.cn"}, attachments=[CAPTURE]
    )
    assert refusal(bad_url, task) == {"method_url_invalid": ["method_record", "url"]}
    for record in ({"platform": "某电商平台"}, {"url": "https://shop.example.cn/91360"}):
        ok = make_submission(method="online", method_record=record, attachments=[CAPTURE])
        assert check(ok, task).method == "online"


def test_a_commissioned_check_needs_the_report(
    make_submission: Any, task: TaskView, check: Any, refusal: Any
) -> None:
    sub = make_submission(method="委托检验检测", method_record={}, attachments=[PHOTO, CAPTURE])
    assert refusal(sub, task) == {"method_report_missing": ["attachments"]}
    ok = make_submission(method="commissioned", method_record={}, attachments=[PHOTO, REPORT])
    assert check(ok, task).method == "commissioned"


def test_a_method_the_task_forbids_is_refused_before_its_record_is_asked_for(
    make_submission: Any, task: TaskView, check: Any, refusal: Any
) -> None:
    import dataclasses

    class_a = dataclasses.replace(task, methods=("documents", "online"))
    sub = make_submission(method="on_site", method_record={})
    assert refusal(sub, class_a) == {"method_not_allowed": ["method"]}
