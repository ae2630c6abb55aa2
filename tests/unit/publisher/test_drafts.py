"""Each member confirms with their own sign-in: the pure part (content hash, who is awaited,
the checks of a confirmation and a return, an inspector's own confirmations)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.publisher import Confirmation, DraftState
from services.kit.errors import Conflict, Forbidden, Invalid
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.drafts import (
    StoredDraft,
    awaiting,
    canonical,
    check_content,
    check_member,
    check_open,
    check_return_reason,
    content_sha256,
    own_confirmation,
)
from services.publisher.domain.validation import TaskView, check_submission

NOW = datetime(2026, 3, 10, 9, tzinfo=UTC)
TODAY = date(2026, 4, 1)


def refuse(sub: Any, task: TaskView | None, categories: CategoryTable, **kw: Any) -> set[str]:
    kw.setdefault("submitted_by", "I-1")
    kw.setdefault("latest_version", None)
    with pytest.raises(Invalid) as caught:
        check_submission(sub, task=task, categories=categories, today=TODAY, **kw)
    return {d["type"] for d in caught.value.details}


def _draft(make_submission: Any, **over: Any) -> StoredDraft:
    sub = make_submission(confirmations=[])
    fields: dict[str, Any] = {
        "draft_id": "DR-1",
        "task_id": "T-1",
        "submission": canonical(sub),
        "content_sha256": content_sha256(sub),
        "submitted_by": "I-1",
        "confirmations": (Confirmation(inspector_id="I-1", confirmed_at=NOW),),
        "created_at": NOW,
    }
    fields.update(over)
    return StoredDraft(**fields)


def test_the_content_hash_ignores_who_confirmed_and_the_key_but_not_the_content(
    make_submission: Any,
) -> None:
    base = make_submission()
    assert content_sha256(base) == content_sha256(
        make_submission(confirmations=[], idempotency_key="k-1")
    )
    assert content_sha256(base) != content_sha256(
        make_submission(
            items=[
                {"item_code": "ITEM-01", "category": "E"},
                {"item_code": "ITEM-02", "category": "未发现问题"},
            ]
        )
    )
    assert len(content_sha256(base)) == 64 and "confirmations" not in canonical(base)


def test_inline_evidence_counts_by_its_hash_not_its_encoding(make_submission: Any) -> None:
    att = {"name": "a.txt", "sha256": "1" * 64, "size": 3}
    inline = make_submission(attachments=[{**att, "content_base64": "YWJj"}])
    referenced = make_submission(attachments=[att])
    assert content_sha256(inline) == content_sha256(referenced)


def test_the_submitters_confirmation_is_implied_and_the_others_are_awaited(
    make_submission: Any,
) -> None:
    given = make_submission()  # I-1 and I-2 at 10:00
    assert own_confirmation(given, "I-2", now=NOW).confirmed_at.hour == 10
    implied = own_confirmation(make_submission(confirmations=[]), "I-1", now=NOW)
    assert implied == Confirmation(inspector_id="I-1", confirmed_at=NOW)
    assert awaiting(("I-1", "I-2", "I-3"), [implied]) == ["I-2", "I-3"]
    assert awaiting(("I-1",), [implied]) == []


def test_an_inspector_confirms_only_for_themselves(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    # The whole team's confirmations given with I-1's token: I-2's is refused, at its place.
    with pytest.raises(Invalid) as caught:
        check_submission(
            make_submission(),
            task=task,
            categories=categories,
            submitted_by="I-1",
            latest_version=None,
            today=TODAY,
            draft=True,
        )
    [detail] = caught.value.details
    assert detail["loc"] == ["confirmations", 1] and detail["type"] == "confirmation_not_own"
    assert detail["msg_zh"]
    # Their own (or none) is a draft the others confirm: no "missing" or "too few" yet.
    own = make_submission(confirmations=[{"inspector_id": "I-1", "confirmed_at": NOW}])
    for sub in (own, make_submission(confirmations=[])):
        ok = check_submission(
            sub,
            task=task,
            categories=categories,
            submitted_by="I-1",
            latest_version=None,
            today=TODAY,
            draft=True,
        )
        assert ok.version == 1
    # Department staff (no inspector id) still give the team's confirmations.
    assert refuse(make_submission(confirmations=[]), task, categories, submitted_by=None) >= {
        "confirmation_missing"
    }


def test_confirming_needs_the_current_draft_and_its_exact_content(make_submission: Any) -> None:
    draft = _draft(make_submission)
    assert check_open(draft, task_id="T-1", draft_id="DR-1") is draft
    with pytest.raises(Conflict) as caught:
        check_open(draft, task_id="T-1", draft_id="DR-0")
    assert caught.value.code == "draft_not_current"
    assert caught.value.details[0]["loc"] == ["draft_id"]
    with pytest.raises(Conflict) as caught:
        check_open(None, task_id="T-1", draft_id="DR-1")
    for state in (DraftState.ACCEPTED, DraftState.RETURNED, DraftState.REPLACED):
        closed = dataclasses.replace(draft, state=state, reason="x")
        with pytest.raises(Conflict) as caught:
            check_open(closed, task_id="T-1", draft_id="DR-1")
        assert caught.value.code == "draft_closed" and caught.value.details[0]["msg_zh"]
    check_content(draft, draft.content_sha256)
    with pytest.raises(Conflict) as caught:
        check_content(draft, "0" * 64)
    assert caught.value.code == "draft_content_mismatch"
    assert caught.value.details[0]["loc"] == ["content_sha256"]


def test_only_team_members_confirm_and_a_return_needs_a_reason() -> None:
    check_member("T-1", ("I-1", "I-2"), "I-2")
    with pytest.raises(Forbidden) as caught:
        check_member("T-1", ("I-1", "I-2"), "I-9")
    assert caught.value.details[0]["type"] == "inspector_not_on_team"
    assert check_return_reason("  类别有误 ") == "类别有误"
    with pytest.raises(Invalid) as bad:
        check_return_reason(" ")
    assert bad.value.details[0]["loc"] == ["reason"]


def test_a_finished_draft_carries_each_members_confirmation(make_submission: Any) -> None:
    draft = _draft(make_submission)
    later = datetime(2026, 3, 11, 8, tzinfo=UTC)
    confs = [*draft.confirmations, Confirmation(inspector_id="I-2", confirmed_at=later)]
    final = draft.finished(confs)
    assert [c.confirmed_at for c in final.confirmations] == [NOW, later]
    assert content_sha256(final) == draft.content_sha256
    view = draft.view(("I-1", "I-2"), full=True)
    assert view.awaiting == ["I-2"] and view.submission is not None
    assert draft.view(("I-1", "I-2")).submission is None
    assert draft.confirmed("I-1") and not draft.confirmed("I-2")
