"""A redraw takes two different draw officers, and none once the draw's work has begun."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.draw.domain import machine
from services.draw.domain.machine import DrawState
from services.draw.domain.seeds import SeedSource
from services.kit.errors import Conflict, Forbidden

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
NONE = machine.WorkDone()


def seeded() -> machine.Draw:
    d = machine.commit(machine.new_draw("D1", "P1"), "ab" * 32, at=NOW)
    return machine.accept_seed(d, "1" * 20, source=SeedSource.DICE, entered_by="o", at=NOW)


def test_redraw_needs_a_second_officer_and_records_both() -> None:
    d = seeded()
    # Nobody asked yet: nothing to confirm.
    with pytest.raises(Conflict) as e:
        machine.confirm_redraw(d, new_draw_id="D2", by="officer.wang", at=NOW, done=NONE)
    assert e.value.code == "no_redraw_pending"
    asked = machine.request_redraw(d, reason="名录库导入错误", by="officer.li", at=NOW, done=NONE)
    assert asked.state is DrawState.SEEDED  # asking changes nothing else yet
    assert asked.redraw_pending == machine.RedrawRequest("名录库导入错误", "officer.li", NOW)
    # The one who asked cannot confirm; a second request waits for the first.
    with pytest.raises(Forbidden) as f:
        machine.confirm_redraw(asked, new_draw_id="D2", by="officer.li", at=NOW, done=NONE)
    assert f.value.code == "second_officer_required"
    with pytest.raises(Conflict) as e:
        machine.request_redraw(asked, reason="另一个理由", by="officer.wang", at=NOW, done=NONE)
    assert e.value.code == "redraw_pending"
    old, new = machine.confirm_redraw(asked, new_draw_id="D2", by="officer.wang", at=NOW, done=NONE)
    for x in (old, new):
        assert (x.redraw_by, x.redraw_confirmed_by) == ("officer.li", "officer.wang")
        assert x.redraw_reason == "名录库导入错误" and x.redraw_at == NOW
    assert old.redraw_pending is None and new.redraw_pending is None
    # A request can be withdrawn; then there is nothing to confirm.
    again = machine.request_redraw(d, reason="名录库导入错误", by="officer.li", at=NOW, done=NONE)
    cancelled = machine.cancel_redraw(again, by="officer.li")
    assert cancelled.redraw_pending is None
    with pytest.raises(Conflict):
        machine.confirm_redraw(cancelled, new_draw_id="D2", by="officer.wang", at=NOW, done=NONE)


@pytest.mark.parametrize(
    "done", [machine.WorkDone(results=1), machine.WorkDone(in_progress=2)], ids=str
)
def test_redraw_after_work_began_is_refused(done: machine.WorkDone) -> None:
    d = seeded()
    d = machine.mark_completed(machine.mark_selected(d))
    with pytest.raises(Conflict) as e:
        machine.request_redraw(d, reason="名录库导入错误", by="officer.li", at=NOW, done=done)
    assert e.value.code == "redraw_after_results"
    assert f"{done.results} task(s) with a result recorded" in e.value.message
    assert e.value.details == [{"results": done.results, "in_progress": done.in_progress}]
    # A result that arrives between the request and the confirmation still stops it.
    asked = machine.request_redraw(d, reason="名录库导入错误", by="officer.li", at=NOW, done=NONE)
    with pytest.raises(Conflict) as e:
        machine.confirm_redraw(asked, new_draw_id="D2", by="officer.wang", at=NOW, done=done)
    assert e.value.code == "redraw_after_results"
