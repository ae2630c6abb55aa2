"""The 监督平台's acknowledgement of a plan's filing (pure domain): its date replaces the typed
one and the flags follow it; a date before approval or after today is refused."""

from __future__ import annotations

from datetime import date

import pytest

from services.kit.errors import Invalid
from services.planner.domain.filing import acknowledged_flags, check_ack


def flags(
    typed: tuple[str | None, str | None],
    acked: tuple[date | None, date | None] = (None, None),
    submitted_on: date = date(2026, 3, 15),
) -> tuple[date | None, date, list[str]]:
    submitted = tuple(None if d is None else date.fromisoformat(d) for d in typed)
    return acknowledged_flags(
        year=2026, submitted=submitted, submitted_on=submitted_on, acknowledged=acked
    )


def test_the_acknowledged_date_decides_the_flags() -> None:
    on_time = ("2026-02-20", "2026-03-15")
    assert flags(on_time) == (date(2026, 2, 20), date(2026, 3, 15), [])
    # the platform says it arrived on 2 April: late, whatever the planner typed
    assert flags(on_time, (None, date(2026, 4, 2))) == (
        date(2026, 2, 20),
        date(2026, 4, 2),
        ["entered_late"],
    )
    # nothing typed: entered on the day of submission; not filed until a filing ack came
    assert flags((None, None), submitted_on=date(2026, 3, 1)) == (
        None,
        date(2026, 3, 1),
        ["not_filed"],
    )
    assert flags((None, None), (date(2026, 3, 2), None))[2] == ["filed_late"]
    assert flags((None, None), (date(2026, 2, 28), None))[2] == []


def test_an_ack_before_approval_or_after_today_is_refused() -> None:
    check_ack(
        acknowledged_on=date(2026, 3, 1), approved_on=date(2026, 3, 1), today=date(2026, 3, 1)
    )
    with pytest.raises(Invalid) as caught:
        check_ack(
            acknowledged_on=date(2026, 2, 28), approved_on=date(2026, 3, 1), today=date(2026, 3, 5)
        )
    assert caught.value.code == "ack_before_approval"
    with pytest.raises(Invalid) as caught:
        check_ack(
            acknowledged_on=date(2026, 3, 6), approved_on=date(2026, 3, 1), today=date(2026, 3, 5)
        )
    assert caught.value.code == "ack_in_future"
