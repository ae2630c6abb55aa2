"""Commissioned items (委托检验检测): the item's result waits for the body's report and must
agree with its conclusion; the opening and the report are checked, each reason at its field."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from contracts.publisher import (
    Attachment,
    CommissionConclusion,
    CommissionOpening,
    CommissionReporting,
)
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.commissions import (
    CommissionFacts,
    allowed_categories,
    check_opening,
    check_reporting,
)
from services.publisher.domain.validation import TaskView

TODAY = date(2026, 4, 1)
REPORT = Attachment(name="报告.pdf", sha256="b" * 64, size=1, kind="report")


def opening(**over: Any) -> CommissionOpening:
    body = {
        "item_code": "ITEM-01",
        "body_name": "江西省产品质量监督检测院",
        "qualification_no": "CMA 161412050123",
        "subject": "电线电缆 BV 2.5mm² 批号 20260301",
        "commissioned_on": "2026-03-11",
    }
    return CommissionOpening.model_validate({**body, **over})


def facts(conclusion: CommissionConclusion | None, categories: CategoryTable) -> CommissionFacts:
    return CommissionFacts(
        commission_id="C-1",
        item_code="ITEM-01",
        body_name="检测院",
        conclusion=conclusion,
        allowed_categories=()
        if conclusion is None
        else tuple(allowed_categories(conclusion, categories)),
    )


def test_a_conclusion_allows_its_own_categories_only(categories: CategoryTable) -> None:
    assert allowed_categories(CommissionConclusion.CONFORMING, categories) == ["1"]
    found = allowed_categories(CommissionConclusion.NONCONFORMING, categories)
    assert {"2", "3", "4", "D", "E"} <= set(found)
    # not a finding of a report: no problem, cannot be reached, refused to cooperate
    assert not {"1", "6", "8", "F"} & set(found)


def test_an_item_waits_for_its_report(
    make_submission: Any, task: TaskView, categories: CategoryTable, check: Any, refusal: Any
) -> None:
    waiting = dataclasses.replace(task, commissions=(facts(None, categories),))
    assert refusal(make_submission(), waiting) == {"commission_pending": ["items", 0, "category"]}


def test_a_result_agrees_with_the_report(
    make_submission: Any, task: TaskView, categories: CategoryTable, check: Any, refusal: Any
) -> None:
    failed = dataclasses.replace(
        task, commissions=(facts(CommissionConclusion.NONCONFORMING, categories),)
    )
    found = refusal(make_submission(), failed)
    assert found == {"commission_conclusion_mismatch": ["items", 0, "category"]}
    items = [
        {"item_code": "ITEM-01", "category": "4", "problems": "抽检不合格"},
        {"item_code": "ITEM-02", "category": "1"},
    ]
    ok = check(make_submission(items=items), failed)
    assert ok.category_codes == ("4", "1") and ok.violation


def test_a_reported_commission_stands_for_the_results_own_report(
    make_submission: Any, task: TaskView, categories: CategoryTable, check: Any, refusal: Any
) -> None:
    passed = dataclasses.replace(
        task, commissions=(facts(CommissionConclusion.CONFORMING, categories),)
    )
    sub = make_submission(method="委托检验检测", method_record={})
    ok = check(sub, passed)
    assert ok.method == "commissioned"
    # without a commission on file, the result needs its own report
    assert refusal(sub, task) == {"method_report_missing": ["attachments"]}


def test_an_opening_names_an_item_of_the_task_that_may_be_commissioned() -> None:
    def reasons(o: CommissionOpening, **kw: Any) -> dict[str, list[Any]]:
        kw = {"item_codes": ("ITEM-01",), "methods": (), "open_items": (), "today": TODAY} | kw
        return {r["type"]: r["loc"] for r in check_opening(o, **kw)}

    assert reasons(opening()) == {}
    assert reasons(opening(item_code="ITEM-09")) == {"item_not_on_task": ["item_code"]}
    assert reasons(opening(), open_items=("ITEM-01",)) == {"commission_open": ["item_code"]}
    assert reasons(opening(), methods=("on_site", "documents")) == {"method_not_allowed": ["kind"]}
    assert reasons(opening(commissioned_on="2026-04-02")) == {
        "commissioned_on_future": ["commissioned_on"]
    }


def test_a_report_is_dated_after_its_commission_and_attached_as_a_report() -> None:
    def reasons(**over: Any) -> set[str]:
        body = {"report": REPORT, "conclusion": "conforming", "reported_on": "2026-03-20"}
        r = CommissionReporting.model_validate(body | over)
        found = check_reporting(r, commissioned_on=date(2026, 3, 11), reported=False, today=TODAY)
        return {x["type"] for x in found}

    assert reasons() == set()
    assert reasons(reported_on="2026-03-10") == {"reported_on_outside"}
    assert reasons(reported_on="2026-04-02") == {"reported_on_outside"}
    photo = REPORT.model_copy(update={"kind": "evidence"})
    assert reasons(report=photo) == {"report_kind"}
