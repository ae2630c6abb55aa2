"""Task progress and the merge window: a visit begun or finished is never absorbed by a later
plan's visit; a not-started one is, within the days both periods share."""

from __future__ import annotations

from datetime import date

import pytest

from services.draw.domain.tasks import (
    OpenTask,
    Progress,
    StratumSelection,
    TaskDraft,
    advance,
    build_tasks,
    merge_visits,
    shared_period,
)

Q3 = (date(2026, 7, 1), date(2026, 9, 30))


def _one_task(uscc: str = "U1") -> list[TaskDraft]:
    sel = StratumSelection("S.A", (("01", uscc),), ("ITEM-1",), ("SCJG",))
    return build_tasks(
        draw_id="D2", plan_id="P2", selections=[sel], period_start=Q3[0], period_end=Q3[1]
    )


def _open(progress: Progress, start: date = Q3[0], end: date = Q3[1]) -> OpenTask:
    return OpenTask("D1:U1", "P1", "U1", ("TAX-1",), ("SW",), ("documents",), start, end, progress)


@pytest.mark.parametrize(
    "progress", [Progress.IN_PROGRESS, Progress.RESULT_RECORDED, Progress.CANCELLED]
)
def test_a_started_or_finished_visit_is_never_absorbed(progress: Progress) -> None:
    merged, absorbed = merge_visits(_one_task(), [_open(progress)])
    assert absorbed == {}
    [t] = merged
    assert t.item_codes == ("ITEM-1",) and t.departments == ("SCJG",) and t.merged_from == ()
    assert (t.period_start, t.period_end) == Q3  # the new visit keeps its own period


def test_a_not_started_visit_within_the_window_is_absorbed() -> None:
    merged, absorbed = merge_visits(
        _one_task(), [_open(Progress.NOT_STARTED, date(2026, 9, 30), date(2026, 12, 31))]
    )
    assert absorbed == {"D1:U1": "D2:U1"}
    [t] = merged
    assert t.item_codes == ("ITEM-1", "TAX-1") and t.methods == ("documents",)
    assert (t.period_start, t.period_end) == (date(2026, 9, 30), date(2026, 9, 30))


def test_the_merge_window_is_the_shared_days_of_both_periods() -> None:
    assert shared_period(Q3, (date(2026, 8, 1), date(2026, 12, 31))) == (
        date(2026, 8, 1),
        date(2026, 9, 30),
    )
    assert shared_period(Q3, (date(2026, 9, 30), date(2026, 10, 31))) == (
        date(2026, 9, 30),
        date(2026, 9, 30),
    )
    assert shared_period(Q3, (date(2026, 10, 1), date(2026, 12, 31))) is None
    # Outside the window a not-started visit stays on its own.
    later = _open(Progress.NOT_STARTED, date(2026, 10, 1), date(2026, 12, 31))
    assert merge_visits(_one_task(), [later])[1] == {}


def test_progress_only_moves_forward() -> None:
    n, p, r = Progress.NOT_STARTED, Progress.IN_PROGRESS, Progress.RESULT_RECORDED
    assert [advance(n, x) for x in (n, p, r)] == [n, p, r]
    assert [advance(p, x) for x in (n, p, r)] == [p, p, r]
    # A start queued offline and delivered after the result changes nothing.
    assert [advance(r, x) for x in (n, p, r)] == [r, r, r]


def test_a_cancelled_task_stays_cancelled() -> None:
    for late in (Progress.NOT_STARTED, Progress.IN_PROGRESS, Progress.RESULT_RECORDED):
        assert advance(Progress.CANCELLED, late) is Progress.CANCELLED
    assert advance(Progress.IN_PROGRESS, Progress.CANCELLED) is Progress.CANCELLED
