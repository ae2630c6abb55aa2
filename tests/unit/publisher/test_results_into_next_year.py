"""A result whose 20 working days run into a year with no published holidays is accepted
(issue 11, defect 4): its check used to be refused with `calendar_unknown` from 2026-12-04 on."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.deadlines import due_date
from services.publisher.domain.validation import TaskView, check_submission


def test_a_result_checked_on_2026_12_04_is_accepted(
    make_submission: Any, task: TaskView, categories: CategoryTable
) -> None:
    december = dataclasses.replace(
        task, period_start=date(2026, 11, 1), period_end=date(2026, 12, 31)
    )
    for day in ("2026-12-04", "2026-12-18", "2026-12-31"):
        sub = make_submission(
            check_date=day,
            confirmations=[
                {"inspector_id": i, "confirmed_at": f"{day}T10:00:00"} for i in ("I-1", "I-2")
            ],
        )
        ok = check_submission(
            sub,
            task=december,
            categories=categories,
            submitted_by="I-1",
            latest_version=None,
            today=date(2027, 1, 8),
        )
        assert ok.version == 1 and due_date(sub.check_date).year == 2027, day
    # (the provisional mark is the publisher's, counted on its stored calendar when it stores
    # the result: tests/integration/publisher/test_holiday_calendar.py)
