"""Tasks: one visit per entity, batches in ticket order, merging visits across plans."""

from __future__ import annotations

from datetime import date

import pytest

from services.draw.domain.tasks import (
    OpenTask,
    StratumSelection,
    batch_of,
    build_tasks,
    merge_visits,
)
from services.kit.errors import Invalid

Q3 = (date(2026, 7, 1), date(2026, 9, 30))


def test_batches_spread_each_stratum_in_ticket_order() -> None:
    assert [batch_of(i, 10, 3) for i in range(10)] == [1, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert [batch_of(i, 2, 5) for i in range(2)] == [1, 3]
    assert [batch_of(i, 4, 1) for i in range(4)] == [1, 1, 1, 1]
    with pytest.raises(Invalid):
        batch_of(4, 4, 1)


def test_entity_in_several_strata_gets_one_task_with_all_items() -> None:
    a = StratumSelection(
        "S.A", (("01", "U1"), ("05", "U2"), ("09", "U3")), ("ITEM-1",), ("SCJG",), (), 2
    )
    b = StratumSelection(
        "S.B", (("02", "U3"), ("03", "U4")), ("ITEM-2",), ("SCJG",), ("on-site",), 2
    )
    tasks = build_tasks(
        draw_id="D1",
        plan_id="P1",
        selections=[a, b],
        period_start=Q3[0],
        period_end=Q3[1],
    )
    assert [t.uscc for t in tasks] == ["U1", "U3", "U2", "U4"]  # (batch, ticket)
    u3 = tasks[1]
    assert u3.task_id == "D1:U3" and u3.item_codes == ("ITEM-1", "ITEM-2")
    assert u3.strata == ("S.A", "S.B") and u3.batch == 1 and u3.first_ticket == "02"
    assert u3.methods == ("on-site",)
    assert [t.batch for t in tasks] == [1, 1, 1, 2]


def test_visits_from_other_plans_in_the_same_period_merge() -> None:
    sel = StratumSelection("S.A", (("01", "U1"), ("02", "U2")), ("ITEM-1",), ("SCJG",))
    tasks = build_tasks(
        draw_id="D2",
        plan_id="P2",
        selections=[sel],
        period_start=Q3[0],
        period_end=Q3[1],
    )
    open_tasks = [
        OpenTask(
            "D1:U1", "P1", "U1", ("TAX-1",), ("SW",), (), date(2026, 8, 1), date(2026, 12, 31)
        ),
        OpenTask("D0:U2", "P0", "U2", ("ENV-1",), ("HB",), (), date(2026, 1, 1), date(2026, 3, 31)),
        OpenTask("D9:U1", "P2", "U1", ("X",), ("SCJG",), (), Q3[0], Q3[1]),  # same plan: no
    ]
    merged, absorbed = merge_visits(tasks, open_tasks)
    assert absorbed == {"D1:U1": "D2:U1"}
    u1 = merged[0]
    assert u1.item_codes == ("ITEM-1", "TAX-1") and u1.departments == ("SCJG", "SW") and u1.joint
    assert (u1.period_start, u1.period_end) == (date(2026, 8, 1), date(2026, 9, 30))
    assert u1.merged_from == ("D1:U1",) and u1.plan_ids == ("P2", "P1")
    assert merged[1].merged_from == ()  # U2's open task is in another quarter


def test_period_must_be_ordered() -> None:
    with pytest.raises(Invalid):
        build_tasks(draw_id="D", plan_id="P", selections=[], period_start=Q3[1], period_end=Q3[0])
