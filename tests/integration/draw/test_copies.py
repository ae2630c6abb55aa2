"""Two draw copies on one NATS and one PostgreSQL (DESIGN §11, issue 18).

A ceremony's step lives in its draw's row, not in a copy's memory: two officers pressing the
same step on two copies at once (start, seed, confirm a redraw) get one success and one clear
409 naming the step; the draw verifies afterwards and its audit holds the step once. A draw
started on one copy is continued on the other. Both copies run in-process (as the planner's
`test_copies.py` does) so the two requests really overlap.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from contracts import subjects
from services.draw import app as draw_app
from tests.integration.draw.standin import RegistryStandIn
from tests.integration.draw.test_draw_ceremony import (
    PLAN_ID,
    SEED,
    _entities,
    _inspectors,
    _plan,
    officer_as,
)
from tests.waiting import eventually

OTHER_SEED = "27182818284590452353602"


@pytest.fixture
async def registry(nats_url: str) -> AsyncIterator[RegistryStandIn]:
    standin = RegistryStandIn(_entities(), _inspectors())
    await standin.start(nats_url)
    yield standin
    await standin.stop()


@pytest.fixture
async def copies(run_service: Any, registry: RegistryStandIn) -> list[Any]:
    """Two in-process draw copies that both know the approved plan `PLAN_ID`."""
    one = await run_service(draw_app.spec)
    two = await run_service(draw_app.spec)
    await one.ctx.bus.publish_event(
        subjects.event("planner", "plan.approved"), _plan(), event_id="plan-copies"
    )

    async def known() -> bool:
        return bool(await one.ctx.db.pool.fetchval("SELECT count(*) FROM plans"))

    await eventually(known, what="the plan reaching the draw service")
    return [one, two]


async def _audit(svc: Any, draw_id: str, action: str) -> int:
    n: int = await svc.ctx.db.pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE subject = $1 AND action = $2", draw_id, action
    )
    return n


async def _verified(svc: Any, draw_id: str) -> None:
    r = await svc.http.get(f"/draws/{draw_id}/verify")
    assert r.status_code == 200 and r.json()["ok"] is True, r.text


def _one_wins(answers: list[Any], *, ok: int, refusals: dict[str, str]) -> tuple[int, Any]:
    """The index and body of the one answer that succeeded; the other is a 409 whose code is
    one of `refusals` and whose message names what that refusal maps to (the step, the plan
    or the draw). Which refusal depends on timing: still busy, or already done."""
    statuses = sorted(a.status_code for a in answers)
    assert statuses == sorted([ok, 409]), [a.text for a in answers]
    winner = next(i for i, a in enumerate(answers) if a.status_code == ok)
    error = answers[1 - winner].json()["error"]
    assert error["code"] in refusals, error
    assert refusals[error["code"]] in error["message"], error
    return winner, answers[winner].json()


async def test_two_officers_starting_one_plan_on_two_copies_freeze_it_once(
    copies: list[Any], registry: RegistryStandIn
) -> None:
    one, two = copies
    answers = list(
        await asyncio.gather(
            one.http.post("/draws", json={"plan_id": PLAN_ID}, headers=officer_as(one, "li")),
            two.http.post("/draws", json={"plan_id": PLAN_ID}, headers=officer_as(two, "wang")),
        )
    )
    _, status = _one_wins(
        answers, ok=201, refusals={"draw_starting": PLAN_ID, "already_drawn": PLAN_ID}
    )
    draw_id = status["draw_id"]
    assert status["state"] == "committed"
    assert registry.freezes == 1
    for svc in copies:
        [listed] = (await svc.http.get("/draws")).json()
        assert listed["draw_id"] == draw_id and listed["state"] == "committed"
    assert await _audit(one, draw_id, "draw.start") == 1
    assert await _audit(one, draw_id, "draw.committed") == 1
    # Once committed, a start on either copy is the plain "already drawn" refusal.
    for svc in copies:
        r = await svc.http.post("/draws", json={"plan_id": PLAN_ID}, headers=officer_as(svc, "z"))
        assert r.status_code == 409 and r.json()["error"]["code"] == "already_drawn", r.text
    r = await two.http.post(
        f"/draws/{draw_id}/seed",
        json={"seed": SEED, "source": "dice"},
        headers=officer_as(two, "z"),
    )
    assert r.status_code == 200, r.text
    await _verified(one, draw_id)


async def test_two_officers_seeding_on_two_copies_at_once_one_seed_wins(
    copies: list[Any],
) -> None:
    one, two = copies
    r = await one.http.post("/draws", json={"plan_id": PLAN_ID}, headers=officer_as(one, "li"))
    assert r.status_code == 201, r.text
    draw_id = r.json()["draw_id"]
    seeds = (SEED, OTHER_SEED)
    answers = list(
        await asyncio.gather(
            one.http.post(
                f"/draws/{draw_id}/seed",
                json={"seed": seeds[0], "source": "dice"},
                headers=officer_as(one, "li"),
            ),
            two.http.post(
                f"/draws/{draw_id}/seed",
                json={"seed": seeds[1], "source": "dice"},
                headers=officer_as(two, "wang"),
            ),
        )
    )
    winner, status = _one_wins(answers, ok=200, refusals={"seed_already_given": "seed"})
    assert status["state"] == "completed"
    assert status["seed_entered_by"] == ("li", "wang")[winner]
    for svc in copies:
        record = (await svc.http.get(f"/draws/{draw_id}/record")).json()
        assert record["seed"] == seeds[winner]
        await _verified(svc, draw_id)
    assert await _audit(two, draw_id, "draw.seeded") == 1
    assert await _audit(two, draw_id, "draw.completed") == 1
    tasks = await one.ctx.db.pool.fetchval("SELECT count(*) FROM tasks WHERE draw_id = $1", draw_id)
    assert tasks == 21


async def test_a_draw_started_on_one_copy_is_finished_on_the_other(copies: list[Any]) -> None:
    """Start on copy 1; parties register on both; the two last reveals at once on both copies
    derive the seed once; then a redraw asked on copy 2 is confirmed by two officers at once on
    both copies: one new draw."""
    one, two = copies
    li, wang, zhao = (officer_as(one, who) for who in ("li", "wang", "zhao"))
    r = await one.http.post("/draws", json={"plan_id": PLAN_ID}, headers=li)
    assert r.status_code == 201, r.text
    draw_id = r.json()["draw_id"]
    # The status read on copy 2 is the one copy 1 wrote.
    assert (await two.http.get(f"/draws/{draw_id}")).json()["state"] == "committed"

    secrets = {"party-a": "secret-one-" + "1" * 20, "party-b": "secret-two-" + "2" * 20}
    for svc, (party, secret) in zip(copies, secrets.items(), strict=True):
        commitment = hashlib.sha256(secret.encode()).hexdigest()
        r = await svc.http.post(
            f"/draws/{draw_id}/parties",
            json={"party_id": party, "commitment_sha256": commitment},
            headers=li,
        )
        assert r.status_code == 201, r.text
    answers = await asyncio.gather(
        *(
            svc.http.post(
                f"/draws/{draw_id}/parties/{party}/reveal", json={"secret": secret}, headers=wang
            )
            for svc, (party, secret) in zip((two, one), secrets.items(), strict=True)
        )
    )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert {a.json()["state"] for a in answers} == {"committed", "completed"}
    for svc in copies:
        await _verified(svc, draw_id)
    assert await _audit(one, draw_id, "draw.seeded") == 1
    assert await _audit(one, draw_id, "draw.completed") == 1

    r = await two.http.post(
        f"/draws/{draw_id}/redraw", json={"reason": "名录库导入错误"}, headers=li
    )
    assert r.status_code == 202, r.text
    answers = list(
        await asyncio.gather(
            one.http.post(f"/draws/{draw_id}/redraw/confirm", headers=wang),
            two.http.post(f"/draws/{draw_id}/redraw/confirm", headers=zhao),
        )
    )
    _, status = _one_wins(
        answers, ok=201, refusals={"draw_starting": PLAN_ID, "superseded": draw_id}
    )
    assert status["supersedes"] == draw_id and status["state"] == "committed"
    assert await _audit(two, draw_id, "draw.redraw") == 1
    listed = (await one.http.get("/draws")).json()
    assert sorted(d["state"] for d in listed) == ["committed", "superseded"]


async def test_a_seeded_draw_resumed_on_both_copies_at_once_is_completed_once(
    copies: list[Any], registry: RegistryStandIn, nats_url: str
) -> None:
    """The registry goes away after the seed; both copies then resume the seeded draw at
    once (as two copies restarting would): one set of tasks, one completion, and no officer
    told "conflict" because the other copy finished first."""
    one, two = copies
    li = officer_as(one, "li")
    r = await one.http.post("/draws", json={"plan_id": PLAN_ID}, headers=li)
    assert r.status_code == 201, r.text
    draw_id = r.json()["draw_id"]
    await registry.stop()
    r = await two.http.post(
        f"/draws/{draw_id}/seed", json={"seed": SEED, "source": "dice"}, headers=li
    )
    assert r.status_code == 503, r.text
    assert (await one.http.get(f"/draws/{draw_id}")).json()["state"] == "seeded"
    await registry.start(nats_url)
    answers = await asyncio.gather(
        *(svc.http.post(f"/draws/{draw_id}/resume", headers=li) for svc in (one, two, one, two))
    )
    for a in answers:
        # Done here, or found done by the time it looked (a resume of a completed draw).
        # Never a copy that began the work and then refused because the other finished it.
        assert a.status_code == 200 or (
            a.status_code == 409
            and a.json()["error"]["code"] == "wrong_state"
            and "only a seeded draw resumes" in a.json()["error"]["message"]
        ), a.text
    assert any(a.status_code == 200 for a in answers)
    for a in answers:
        if a.status_code == 200:
            assert a.json()["state"] == "completed" and a.json()["tasks"] == 21, a.text
    tasks = await one.ctx.db.pool.fetchval("SELECT count(*) FROM tasks WHERE draw_id = $1", draw_id)
    assert tasks == 21
    assert await _audit(two, draw_id, "draw.completed") == 1
    for svc in copies:
        await _verified(svc, draw_id)
