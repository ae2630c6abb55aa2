"""The holiday calendar across services, on real NATS and PostgreSQL (issue 11, defect 4).

Results whose 20 working days run into 2027 are accepted with provisional due dates; when the
planner activates a rule set with a 2027 holiday file, the publisher stores the calendar,
recomputes exactly the deadlines it changes and announces them in `publisher.deadline.changed`;
results accepted afterwards are counted on the new calendar at once.

The 2027 schedule here is made-up test data, not the State Council's.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import nats
import yaml

from contracts import subjects
from contracts.common import Role
from contracts.holidays import HolidaySchedule
from contracts.planner import RulesActivated
from contracts.publisher import DeadlinesChanged, ResultSubmission
from services.planner.app import spec as planner_spec
from services.publisher import store
from services.publisher.app import spec
from services.publisher.commands.intake import Submitter
from services.publisher.domain.workdays import package_data
from services.publisher.settings import PublisherSettings

from ..planner.support import ROOT, shipped_text
from .conftest import publish_tasks, result_body, task_assigned

TEST_2027 = """\
holidays:
  year: 2027
  source: 测试用安排（非国务院通知）
  breaks:
    - {name: 元旦, start: 2027-01-01, end: 2027-01-04}
    - {name: 春节, start: 2027-02-05, end: 2027-02-13, work: [2027-01-31, 2027-02-20]}
"""
STAFF = Submitter(actor="test-staff", inspector_id=None, dept="scjg")
TODAY = date(2027, 1, 25)  # the inspectors' "today" in this test; check dates are before it


def december_task(task_id: str) -> Any:
    return task_assigned(task_id).model_copy(
        update={"period_start": date(2026, 11, 1), "period_end": date(2027, 1, 31)}
    )


async def submit(svc: Any, task_id: str, check_date: str) -> Any:
    sub = ResultSubmission.model_validate(result_body(task_id, check_date=check_date))
    [outcome] = await svc.wiring.intake.submit([sub], by=STAFF, today=TODAY)
    assert outcome.accepted is not None, outcome.error
    return outcome.accepted


async def stored(svc: Any) -> dict[str, tuple[str, bool]]:
    rows = await svc.ctx.db.pool.fetch(
        "SELECT result_id, due_date, due_date_provisional FROM results ORDER BY result_id"
    )
    return {r["result_id"]: (r["due_date"].isoformat(), r["due_date_provisional"]) for r in rows}


async def wait_for(check: Any, what: str, *, timeout: float = 30.0) -> Any:
    end = asyncio.get_running_loop().time() + timeout
    while True:
        got = await check()
        if got:
            return got
        assert asyncio.get_running_loop().time() < end, f"{what} did not happen in {timeout}s"
        await asyncio.sleep(0.1)


async def deadline_events(svc: Any) -> list[tuple[str, DeadlinesChanged]]:
    """The `deadline.changed` events on the PUBLISHER stream, with their ids."""
    nc = await nats.connect(svc.ctx.settings.nats_url)
    out: list[tuple[str, DeadlinesChanged]] = []
    try:
        sub = await nc.jetstream().pull_subscribe(
            subjects.event("publisher", "deadline.changed"), stream="PUBLISHER"
        )
        while True:
            try:
                msgs = await sub.fetch(50, timeout=1)
            except Exception:
                break
            for m in msgs:
                out.append(
                    (
                        (m.headers or {}).get("Nats-Msg-Id", ""),
                        DeadlinesChanged.model_validate_json(m.data),
                    )
                )
                await m.ack()
    finally:
        await nc.close()
    return out


async def test_activating_a_2027_file_recomputes_provisional_deadlines_and_says_which(
    run_service: Any,
) -> None:
    assert 2027 not in package_data().years, (
        "this test reasons from a holiday package that does not know 2027: move it to the "
        "first year the installed chinese-calendar does not know"
    )
    planner = await run_service(planner_spec, rules_dir=ROOT / "rules")
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    await publish_tasks(svc, [december_task(t) for t in ("T-A", "T-B", "T-C", "T-D")])

    # Before any 2027 schedule: accepted, never refused; provisional where 2027 is counted.
    a = await submit(svc, "T-A", "2026-12-04")  # 19 working days in December, then 2027
    b = await submit(svc, "T-B", "2027-01-20")  # across the provisional 春节 (Feb 5-10 off)
    c = await submit(svc, "T-C", "2026-11-20")  # wholly in 2026: firm
    assert (a.due_date.isoformat(), a.due_date_provisional) == ("2027-01-04", True)
    assert (b.due_date.isoformat(), b.due_date_provisional) == ("2027-02-23", True)
    assert (c.due_date.isoformat(), c.due_date_provisional) == ("2026-12-18", False)
    ops = svc.wiring.queries
    listed = await ops.at_risk_and_overdue(today=date(2027, 1, 1))
    assert [(d.result_id, d.state, d.due_date.isoformat(), d.provisional) for d in listed] == [
        ("R-T-C", "overdue", "2026-12-18", False),
        ("R-T-A", "at_risk", "2027-01-04", True),
    ]
    versions = await svc.http.get("/results/R-T-A", headers=svc.auth(Role.AUDITOR))
    assert versions.json()[0]["due_date_provisional"] is True

    # The planner activates the shipped rules plus a 2027 file.
    files = {**shipped_text(), "holidays/2027.yaml": TEST_2027}
    reply = await planner.http.post(
        "/rules/activate", json={"files": files}, headers=planner.auth(Role.POLICY)
    )
    assert reply.status_code == 200, reply.text
    activated = RulesActivated.model_validate(reply.json())
    assert [h.year for h in activated.holidays] == [2026, 2027]

    async def calendar_stored() -> bool:
        version = await svc.ctx.db.pool.fetchval("SELECT rules_version FROM holiday_calendar")
        return bool(version == activated.version)

    await wait_for(calendar_stored, "the publisher storing the activated calendar")
    # T-A: 元旦 now runs to Mon Jan 4, so the 20th working day is Tue Jan 5, firm.
    # T-B: Sun Jan 31 worked, Feb 5-13 off, Sat Feb 20 worked: Feb 23 again, but firm.
    assert await stored(svc) == {
        "R-T-A": ("2027-01-05", False),
        "R-T-B": ("2027-02-23", False),
        "R-T-C": ("2026-12-18", False),
    }
    events = await wait_for(lambda: deadline_events(svc), "the deadline.changed event")
    assert len(events) == 1
    event_id, event = events[0]
    assert event_id.startswith("deadline.changed:rules.activated:") and event_id.endswith(":1")
    assert (event.rules_version, event.years, event.part, event.parts) == (
        activated.version,
        [2027],
        1,
        1,
    )
    assert [
        (
            c.result_id,
            c.previous_due_date.isoformat(),
            c.previous_provisional,
            c.due_date.isoformat(),
            c.provisional,
        )
        for c in event.changes
    ] == [
        ("R-T-A", "2027-01-04", True, "2027-01-05", False),
        ("R-T-B", "2027-02-23", True, "2027-02-23", False),
    ]
    audit = await svc.ctx.db.pool.fetch(
        "SELECT subject, data FROM audit_log WHERE action = 'calendar.activated' ORDER BY seq"
    )
    assert audit[-1]["subject"] == activated.version
    assert audit[-1]["data"]["holiday_files"] == [2026, 2027]
    assert audit[-1]["data"]["deadlines_changed"] == 2

    # Delivered again (a redelivery after the commit): nothing changes, nothing is queued.
    outbox = await svc.ctx.db.pool.fetchval("SELECT count(*) FROM event_outbox")
    again = await svc.wiring.calendars.activate(activated, cause="rules.activated:again")
    assert again == 0
    assert await svc.ctx.db.pool.fetchval("SELECT count(*) FROM event_outbox") == outbox

    # A result accepted now is counted on the 2027 file at once: Wed Jan 6 + 20 = Tue Feb 2
    # (Sun Jan 31 worked); the provisional calendar would have said Wed Feb 3.
    d = await submit(svc, "T-D", "2027-01-06")
    assert (d.due_date.isoformat(), d.due_date_provisional) == ("2027-02-02", False)


async def test_a_result_written_during_an_activation_is_counted_on_the_new_calendar(
    run_service: Any,
) -> None:
    # An activation's critical section, held open: the calendar replaced, not yet committed.
    # A result written meanwhile waits for it, then counts on the new calendar (no stale,
    # provisional deadline left behind that the activation's recomputation did not see).
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    await publish_tasks(svc, [december_task("T-A")])
    schedule = HolidaySchedule.model_validate(yaml.safe_load(TEST_2027)["holidays"])
    async with svc.ctx.db.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await store.lock_calendar(conn, exclusive=True)
        await store.save_calendar(
            conn,
            rules_version="v-test",
            activated_at=datetime.now(UTC),
            schedules=[schedule.model_dump(mode="json")],
        )
        writing = asyncio.create_task(submit(svc, "T-A", "2026-12-04"))

        async def waiting() -> bool:
            n = await svc.ctx.db.pool.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            return bool(n)

        await wait_for(waiting, "the result's write waiting for the calendar")
        await tx.commit()
    accepted = await writing
    assert (accepted.due_date.isoformat(), accepted.due_date_provisional) == ("2027-01-05", False)
    assert await stored(svc) == {"R-T-A": ("2027-01-05", False)}
