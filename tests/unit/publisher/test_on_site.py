"""What an inspector records on site beyond the categories: checklist answers, the follow-up
(责令整改, 移送) and the representative's confirmation — each refusal at its field."""

from __future__ import annotations

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


E_AND_PASS = [
    {"item_code": "ITEM-01", "category": "E", "problems": "现场责令改正"},
    {"item_code": "ITEM-02", "category": "1"},
]


def _ok(sub: Any, task: TaskView, categories: CategoryTable) -> Any:
    return check_submission(
        sub, task=task, categories=categories, submitted_by="I-1", latest_version=None, today=TODAY
    )


def test_a_referral_needs_a_violation(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    assert refuse(make_submission(follow_up={"refer": True}), task, categories) == {
        "refer_without_violation"
    }
    # E (corrected on the spot) is a violation that is not referred by itself: on request it is.
    plain = _ok(make_submission(items=E_AND_PASS), task, categories)
    asked = _ok(make_submission(items=E_AND_PASS, follow_up={"refer": True}), task, categories)
    assert plain.violation and not plain.referral
    assert asked.referral


def test_an_unknown_category_is_refused_without_judging_the_referral(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    items = [{"item_code": "ITEM-01", "category": "?"}, {"item_code": "ITEM-02", "category": "1"}]
    sub = make_submission(items=items, follow_up={"refer": True})
    assert refuse(sub, task, categories) == {"category_unknown"}


def test_an_order_to_correct_has_a_later_deadline_and_says_what(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    sub = make_submission(follow_up={"rectify_by": "2026-03-10"})
    assert refuse(sub, task, categories) == {"rectify_by_not_after_check", "rectification_missing"}
    good = make_submission(
        items=E_AND_PASS, follow_up={"rectify_by": "2026-03-11", "rectification": "补报年报"}
    )
    assert _ok(good, task, categories).version == 1


def test_checklist_questions_are_answered_once(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    answers = [
        {"question_id": "Q1", "answer": "yes"},
        {"question_id": "Q2", "answer": "na", "note": "不适用"},
        {"question_id": "Q1", "answer": "no"},
    ]
    items = [
        {"item_code": "ITEM-01", "category": "1", "answers": answers},
        {"item_code": "ITEM-02", "category": "1", "answers": answers[:2]},
    ]
    with pytest.raises(Invalid) as caught:
        _ok(make_submission(items=items), task, categories)
    [d] = caught.value.details
    assert d["loc"] == ["items", 0, "answers", 2, "question_id"]
    assert d["type"] == "answer_duplicate" and d["msg_zh"]


def test_the_representatives_signature_is_an_attachment_of_the_result(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    rep = {"name": "张三", "confirmed_at": "2026-03-10T17:00:00", "signature_sha256": "a" * 64}
    assert refuse(make_submission(representative=rep), task, categories) == {
        "signature_not_attached"
    }
    att = {"name": "签名.png", "sha256": "a" * 64, "size": 10}
    assert _ok(make_submission(representative=rep, attachments=[att]), task, categories)
    blank = {"name": " ", "confirmed_at": "2026-03-10T17:00:00"}
    assert refuse(make_submission(representative=blank), task, categories) == {
        "representative_name_missing"
    }
