"""Follow-up after a finding (pure): the events of a finding, a referral's acknowledgement and
outcome, the re-check of an order to correct."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.publisher import (
    RectificationCheck,
    ReferralAcknowledgement,
    ReferralConclusion,
    ReferralStatus,
)
from services.kit.errors import Conflict, NotFound
from services.publisher.domain.categories import CategoryTable, build_table
from services.publisher.domain.follow_up import (
    OrderToCorrect,
    ReferralRecord,
    acknowledge,
    check_rectification,
    conclude,
    parse_referral_id,
    rectification_overdue,
)
from services.publisher.domain.payloads import build_deliveries
from services.publisher.domain.validation import TaskView, check_submission
from services.web.domain.follow_up import follow_up_lines

NOW = datetime(2026, 3, 12, 9, tzinfo=UTC)
ACK = ReferralAcknowledgement(
    receiver="案件审理科", received_at=NOW, case_number="景市监案〔2026〕7号"
)


def _deliveries(
    sub: Any, task: TaskView, categories: CategoryTable
) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    checked = check_submission(
        sub,
        task=task,
        categories=categories,
        submitted_by=None,
        submitter_dept="scjg",
        latest_version=None,
        today=date(2026, 3, 11),
    )
    return build_deliveries(sub, checked, categories=categories, accepted_at=NOW)


def test_the_joint_punishment_categories_are_the_tables(categories: CategoryTable) -> None:
    flagged = {c.code for c in categories.all() if c.joint_punishment}
    assert flagged == {"B", "C", "6", "8"}
    row = {
        "code": "1",
        "name": "x",
        "violation": False,
        "referral": False,
        "credit_feedback": True,
        "licensing_feedback": False,
        "joint_punishment": True,
    }
    with pytest.raises(ValueError, match="joint punishment but is no violation"):
        build_table({"version": "t", "categories": [row]})


def test_a_finding_is_told_per_item_and_kind_with_its_legal_basis(
    task: TaskView, categories: CategoryTable, make_submission: Any
) -> None:
    task = dataclasses.replace(
        task,
        item_names={"ITEM-01": "企业公示信息", "ITEM-02": "住所"},
        legal_bases={"ITEM-01": "《企业信息公示暂行条例》第十四条"},
    )
    sub = make_submission(
        items=[
            {"item_code": "ITEM-01", "category": "C", "problems": "虚报"},
            {"item_code": "ITEM-02", "category": "6"},
        ]
    )
    rows = _deliveries(sub, task, categories)
    findings = {key: (dest, subject, body) for dest, key, subject, body in rows if ":v1:" in key}
    assert {k for k in findings if k.count(":") == 3} == {
        "R-T-1:v1:joint_punishment:ITEM-01",
        "R-T-1:v1:joint_punishment:ITEM-02",
        "R-T-1:v1:licensing_finding:ITEM-02",  # 6 is fed back to licensing too
    }
    dest, subject, body = findings["R-T-1:v1:joint_punishment:ITEM-01"]
    assert dest == "joint_punishment"
    assert subject == "spotcheck.v1.publisher.finding.joint_punishment"
    assert body["legal_basis"] == "《企业信息公示暂行条例》第十四条"
    assert body["item_name"] == "企业公示信息" and body["category_name"].startswith("公示信息")
    _, subject, body = findings["R-T-1:v1:licensing_finding:ITEM-02"]
    assert subject == "spotcheck.v1.publisher.finding.licensing_feedback"
    assert body["legal_basis"] == ""  # the plan named none for this item


def test_no_finding_is_told_of_a_clean_result_and_a_referral_names_its_receiver(
    task: TaskView, categories: CategoryTable, make_submission: Any
) -> None:
    clean = _deliveries(make_submission(), task, categories)
    assert [d for d, *_ in clean] == ["disclosure", "stream", "credit"]
    found = [
        {"item_code": "ITEM-01", "category": "E"},
        {"item_code": "ITEM-02", "category": "1"},
    ]
    corrected = make_submission(items=found, follow_up={"refer_to": "judicial"})
    rows = _deliveries(corrected, task, categories)
    [referral] = [body for dest, _, _, body in rows if dest == "referral"]
    assert referral["to"] == "judicial"
    legacy = make_submission(items=found, follow_up={"refer": True})
    [referral] = [
        body for dest, _, _, body in _deliveries(legacy, task, categories) if dest == "referral"
    ]
    assert referral["to"] == "case_handling"


def test_a_referral_id_names_a_result_version() -> None:
    assert parse_referral_id("R-D-1:U1:v2") == ("R-D-1:U1", 2)
    for bad in ("R-1", "R-1:v0", "R-1:vx", ":v1"):
        with pytest.raises(NotFound):
            parse_referral_id(bad)


def test_an_acknowledgement_is_recorded_once() -> None:
    fresh = ReferralRecord(referral_id="R-1:v1", result_id="R-1", version=1)
    assert fresh.status is ReferralStatus.REFERRED
    done = acknowledge(fresh, ACK, by="agency-1")
    assert done is not None and done.status is ReferralStatus.ACKNOWLEDGED
    assert done.case_number == ACK.case_number and done.acknowledged_by == "agency-1"
    assert acknowledge(done, ACK, by="agency-2") is None  # a repeat
    other = ACK.model_copy(update={"case_number": "另一个案号"})
    with pytest.raises(Conflict) as refused:
        acknowledge(done, other, by="agency-1")
    assert refused.value.code == "referral_already_acknowledged"


def test_an_outcome_is_recorded_once_and_keeps_the_case_number() -> None:
    fresh = ReferralRecord(referral_id="R-1:v1", result_id="R-1", version=1)
    end = ReferralConclusion(outcome="罚款5000元", decided_at=date(2026, 5, 1), penalty="罚款")
    # A body that only reports the end: the outcome implies the receipt.
    told = conclude(fresh, end, receiver="案审科", by="nats:e1")
    assert told is not None and told.status is ReferralStatus.CONCLUDED
    assert told.receiver == "案审科"
    assert conclude(told, end, receiver=None, by="x") is None
    with pytest.raises(Conflict, match="already has its outcome"):
        conclude(told, end.model_copy(update={"outcome": "不予处罚"}), receiver=None, by="x")
    acked = acknowledge(fresh, ACK, by="a")
    assert acked is not None
    wrong = end.model_copy(update={"case_number": "别的案号"})
    with pytest.raises(Conflict) as refused:
        conclude(acked, wrong, receiver=None, by="a")
    assert refused.value.code == "referral_case_number_differs"


ORDER = OrderToCorrect("R-1", 1, "T-1", check_date=date(2026, 3, 10), rectify_by=date(2026, 3, 20))


def test_a_recheck_is_after_the_check_not_in_the_future_and_says_what_failed() -> None:
    ok = RectificationCheck(checked_on=date(2026, 3, 21), rectified=True)
    assert check_rectification(ORDER, ok, today=date(2026, 3, 21)) == []
    bad = RectificationCheck(checked_on=date(2026, 3, 9), rectified=False)
    kinds = {r["type"] for r in check_rectification(ORDER, bad, today=date(2026, 3, 21))}
    assert kinds == {"checked_before_check", "note_missing"}
    future = RectificationCheck(checked_on=date(2026, 4, 1), rectified=False, note="未改")
    [why] = check_rectification(ORDER, future, today=date(2026, 3, 21))
    assert why["type"] == "checked_in_future"
    with pytest.raises(Conflict, match="no order to correct"):
        check_rectification(
            dataclasses.replace(ORDER, rectify_by=None), ok, today=date(2026, 3, 21)
        )


def test_an_order_is_overdue_after_its_deadline_until_rechecked() -> None:
    deadline = date(2026, 3, 20)
    assert not rectification_overdue(deadline, checked=False, today=deadline)
    assert rectification_overdue(deadline, checked=False, today=date(2026, 3, 21))
    assert not rectification_overdue(deadline, checked=True, today=date(2026, 3, 21))
    assert not rectification_overdue(None, checked=False, today=date(2026, 3, 21))


def test_the_phone_words_each_step_in_chinese() -> None:
    state: dict[str, Any] = {
        "rectify_by": "2026-03-20",
        "rectification": "补报年报",
        "rectification_overdue": True,
        "referrals": [
            {"version": 1, "to": "judicial", "status": "referred"},
            {
                "version": 2,
                "to": "case_handling",
                "status": "acknowledged",
                "case_number": "景市监案〔2026〕7号",
                "receiver": "案件审理科",
                "received_at": "2026-03-12T09:00:00+08:00",
            },
            {
                "version": 3,
                "status": "concluded",
                "outcome": "罚款5000元",
                "decided_at": "2026-05-01",
            },
        ],
    }
    lines = follow_up_lines(state)
    assert [line.text for line in lines] == [
        "整改期限已过，尚未复查",
        "已移送司法机关，待受理",
        "已受理（案号景市监案〔2026〕7号），受理单位：案件审理科，2026年3月12日",
        "办结（罚款5000元，2026年5月1日）",
    ]
    assert lines[0].label == "责令整改（期限2026年3月20日）" and lines[0].tone == "overdue"
    assert lines[1].label == "移送司法机关（第1版结果）"
    state["rectification_check"] = {"checked_on": "2026-03-21", "rectified": True, "note": ""}
    assert follow_up_lines(state)[0].text == "复查：已整改到位（2026年3月21日）"
    assert follow_up_lines(None) == []
