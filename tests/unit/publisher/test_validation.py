"""Result validation: every refusal, all reasons at once; corrections as new versions."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import date
from typing import Any

import pytest

from services.kit.errors import Conflict, Invalid
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.deadlines import due_date
from services.publisher.domain.validation import TaskView, check_submission

TODAY = date(2026, 4, 1)


def refuse(sub: Any, task: TaskView | None, categories: CategoryTable, **kw: Any) -> set[str]:
    kw.setdefault("submitted_by", "I-1")
    kw.setdefault("latest_version", None)
    with pytest.raises(Invalid) as caught:
        check_submission(sub, task=task, categories=categories, today=TODAY, **kw)
    return {d["type"] for d in caught.value.details}


def test_a_good_submission_is_version_1_with_its_due_date(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    ok = check_submission(
        make_submission(),
        task=task,
        categories=categories,
        submitted_by="I-1",
        latest_version=None,
        today=TODAY,
    )
    assert ok.version == 1 and ok.supersedes is None
    assert ok.category_codes == ("1", "1")
    assert not ok.violation and not ok.referral and ok.credit_feedback
    # its due date is counted when it is stored (`Calendars.stamp`), with the same rule:
    assert due_date(date(2026, 3, 10)) == date(2026, 4, 8)  # 20 working days, 清明 Apr 4-6 off


def test_unknown_task(make_submission: Any, categories: CategoryTable) -> None:
    assert refuse(make_submission(), None, categories) == {"task_unknown"}


def test_inspector_not_on_the_team(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    assert "inspector_not_on_team" in refuse(
        make_submission(), task, categories, submitted_by="I-9"
    )
    sub = make_submission(
        confirmations=[
            {"inspector_id": "I-1", "confirmed_at": "2026-03-10T10:00:00"},
            {"inspector_id": "I-2", "confirmed_at": "2026-03-10T10:00:00"},
            {"inspector_id": "I-9", "confirmed_at": "2026-03-10T10:00:00"},
        ]
    )
    assert refuse(sub, task, categories) == {"inspector_not_on_team"}


def test_unknown_category(make_submission: Any, task: TaskView, categories: CategoryTable) -> None:
    sub = make_submission(
        items=[
            {"item_code": "ITEM-01", "category": "基本合格"},
            {"item_code": "ITEM-02", "category": "1"},
        ]
    )
    assert refuse(sub, task, categories) == {"category_unknown"}


def test_missing_confirmation_of_an_assigned_inspector(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    sub = make_submission(
        confirmations=[{"inspector_id": "I-1", "confirmed_at": "2026-03-10T10:00:00"}]
    )
    assert refuse(sub, task, categories) == {"confirmation_missing", "confirmation_too_few"}


def test_at_least_two_confirmations_even_for_a_team_of_one(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    one = dataclasses.replace(task, team=("I-1",))
    sub = make_submission(
        confirmations=[{"inspector_id": "I-1", "confirmed_at": "2026-03-10T10:00:00"}]
    )
    assert refuse(sub, one, categories) == {"confirmation_too_few"}


def test_check_date_outside_the_task_period(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    assert refuse(make_submission(check_date="2026-02-27"), task, categories) == {
        "check_date_outside_period"
    }


def test_oversized_attachment(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    att = {"name": "photo.jpg", "sha256": "0" * 64, "size": 30_000_000}
    assert refuse(
        make_submission(attachments=[att]), task, categories, max_attachment_bytes=20_000_000
    ) == {"attachment_too_large"}


def test_inline_attachment_must_match_its_hash(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    content = b"evidence"
    good = {
        "name": "a.txt",
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "content_base64": base64.b64encode(content).decode(),
    }
    ok = check_submission(
        make_submission(attachments=[good]),
        task=task,
        categories=categories,
        submitted_by="I-1",
        latest_version=None,
        today=TODAY,
    )
    assert ok.version == 1
    bad = {**good, "sha256": "1" * 64}
    assert refuse(make_submission(attachments=[bad]), task, categories) == {"attachment_mismatch"}


def test_every_reason_at_once(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    sub = make_submission(
        check_date="2026-07-15",
        items=[{"item_code": "ITEM-01", "category": "不存在"}],
        confirmations=[{"inspector_id": "I-7", "confirmed_at": "2026-03-10T10:00:00"}],
        attachments=[{"name": "big.mp4", "sha256": "0" * 64, "size": 10**9}],
    )
    reasons = refuse(sub, task, categories, submitted_by="I-1")
    assert {
        "inspector_not_on_team",
        "confirmation_missing",
        "confirmation_too_few",
        "category_unknown",
        "check_date_outside_period",
        "check_date_future",
        "attachment_too_large",
        "item_missing",
    } <= reasons


def test_items_must_match_the_task(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    sub = make_submission(
        items=[
            {"item_code": "ITEM-01", "category": "1"},
            {"item_code": "ITEM-01", "category": "1"},
            {"item_code": "OTHER", "category": "1"},
        ]
    )
    assert refuse(sub, task, categories) == {"item_duplicate", "item_not_in_task", "item_missing"}


def test_flags_follow_the_categories(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    sub = make_submission(
        items=[
            {
                "item_code": "ITEM-01",
                "category": "公示信息隐瞒真实情况、弄虚作假",
                "problems": "年报虚假",
            },
            {"item_code": "ITEM-02", "category": "发现问题已责令改正", "rooted_at_approval": True},
        ]
    )
    ok = check_submission(
        sub, task=task, categories=categories, submitted_by="I-2", latest_version=None, today=TODAY
    )
    assert ok.category_codes == ("C", "E")
    assert ok.violation and ok.referral and ok.credit_feedback and ok.licensing_feedback


def test_a_second_submission_without_correction_is_a_conflict(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    with pytest.raises(Conflict) as caught:
        check_submission(
            make_submission(),
            task=task,
            categories=categories,
            submitted_by="I-1",
            latest_version=1,
            today=TODAY,
        )
    assert caught.value.details[0]["type"] == "result_exists"


def test_a_correction_is_a_new_version(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    sub = make_submission(corrects_version=1, correction_reason="录入错误")
    ok = check_submission(
        sub, task=task, categories=categories, submitted_by="I-1", latest_version=1, today=TODAY
    )
    assert ok.version == 2 and ok.supersedes == 1


def test_a_correction_of_an_old_version_is_a_conflict(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    sub = make_submission(corrects_version=1, correction_reason="录入错误")
    with pytest.raises(Conflict):
        check_submission(
            sub, task=task, categories=categories, submitted_by="I-1", latest_version=2, today=TODAY
        )


def test_a_correction_needs_a_reason_and_something_to_correct(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    assert refuse(make_submission(corrects_version=1), task, categories) == {
        "correction_reason_missing",
        "nothing_to_correct",
    }


def test_department_staff_may_enter_results_only_for_their_tasks(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    ok = check_submission(
        make_submission(),
        task=task,
        categories=categories,
        submitted_by=None,
        submitter_dept="scjg",
        latest_version=None,
        today=TODAY,
    )
    assert ok.version == 1
    assert refuse(make_submission(), task, categories, submitted_by=None, submitter_dept="tax") == {
        "department_not_on_task"
    }
