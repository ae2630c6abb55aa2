"""Re-staffing one task on real NATS and PostgreSQL: one member of one task is replaced by the
draw's seeded rules and nothing else moves; the record re-derives from the draw's seed; the
audit entry, `draw.task.restaffed` and a new `task.assigned` (which the publisher takes as the
task's team) follow; refusals; recusals added to the roster later; `spotcheck draw restaff`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from contracts import subjects
from contracts.common import Role
from services.draw import app as draw_app
from services.draw.domain import restaffing
from services.publisher.app import spec as publisher_spec
from services.publisher.settings import PublisherSettings
from spotcheck.embedded import free_port
from tests.integration.draw.standin import RegistryStandIn
from tests.integration.draw.test_draw_ceremony import (
    PLAN_ID,
    SEED,
    _entities,
    _events,
    _inspectors,
    _plan,
    _ready,
    _run,
    _until,
    officer_as,
)
from tests.unit.draw.conftest import load_verifier


async def _tasks(draw: Any, draw_id: str) -> dict[str, dict[str, Any]]:
    rows = (await draw.http.get(f"/draws/{draw_id}/tasks")).json()
    return {r["task"]["task_id"]: r for r in rows}


def _team(row: dict[str, Any]) -> list[str]:
    return [m["inspector_id"] for m in row["task"]["team"]]


async def test_restaffing_replaces_one_member_of_one_task(
    run_service: Any, nats_url: str, tmp_path: Path
) -> None:
    draw = await run_service(draw_app.spec)
    pub = await run_service(lambda: publisher_spec(PublisherSettings(relay_enabled=False)))
    li = officer_as(draw, "officer.li")
    registry = RegistryStandIn(_entities(), _inspectors())
    await registry.start(nats_url)
    events = await _events(draw.ctx.bus)
    try:
        await draw.ctx.bus.publish_event(
            subjects.event("planner", "plan.approved"), _plan(), event_id="plan-1"
        )

        async def start() -> Any:
            r = await draw.http.post("/draws", json={"plan_id": PLAN_ID}, headers=li)
            return r if r.status_code != 404 else None

        draw_id = (await _until(start)).json()["draw_id"]
        r = await draw.http.post(
            f"/draws/{draw_id}/seed", json={"seed": SEED, "source": "dice"}, headers=li
        )
        assert r.status_code == 200, r.text
        before = await _tasks(draw, draw_id)
        staffed = [t for t, row in before.items() if row["state"] == "assigned"]
        unstaffed = next(t for t, row in before.items() if row["state"] == "unstaffed")
        task_id = staffed[0]
        gone, kept = _team(before[task_id])

        # Refusals: nothing changes.
        async def restaff(tid: str, body: dict[str, Any], who: dict[str, str] = li) -> Any:
            return await draw.http.post(f"/tasks/{tid}/restaff", json=body, headers=who)

        r = await restaff(task_id, {"inspector_id": gone, "reason": "  "})
        assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required"
        assert r.json()["error"]["details"][0]["msg_zh"] == "请填写换人理由"
        r = await restaff(task_id, {"inspector_id": "ZS-01", "reason": "病假"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "not_on_team"
        r = await restaff(unstaffed, {"inspector_id": "ZS-01", "reason": "病假"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "task_not_open"
        assert (
            await restaff("D-nope:1", {"inspector_id": gone, "reason": "病假"})
        ).status_code == 404
        planner = draw.auth(Role.PLANNER, "SCJG")
        assert (
            await restaff(task_id, {"inspector_id": gone, "reason": "病假"}, planner)
        ).status_code == 403
        assert await _tasks(draw, draw_id) == before

        # Officer Li replaces the member who fell ill: one member of one task changes.
        r = await restaff(task_id, {"inspector_id": gone, "reason": "病假"})
        assert r.status_code == 200, r.text
        done = r.json()
        came = done["replacement"]["inspector_id"]
        assert done["replaced"]["inspector_id"] == gone and done["reason"] == "病假"
        assert (done["n"], done["by"], done["draw_id"]) == (1, "officer.li", draw_id)
        # Candidates: the six eligible SCJG inspectors of 360202 minus the team.
        assert [c["inspector_id"] for c in done["candidates"]] == sorted(
            {f"CJ-{i:02d}" for i in range(6)} - {gone, kept}
        )
        assert restaffing.rederive(SEED, done) is None
        after = await _tasks(draw, draw_id)
        assert _team(after[task_id]) == [came, kept]
        assert {t: row for t, row in after.items() if t != task_id} == {
            t: row for t, row in before.items() if t != task_id
        }
        assert (await draw.http.get(f"/draws/{draw_id}/restaffings")).json() == [done]

        # The audit entry, draw.task.restaffed and a task.assigned with the new team.
        audit = await draw.ctx.db.pool.fetch(
            "SELECT actor, subject, data FROM audit_log WHERE action = 'task.restaffed'"
        )
        assert [(a["actor"], a["subject"]) for a in audit] == [("officer.li", task_id)]
        assert audit[0]["data"]["replacement"] == came
        assert audit[0]["data"]["seed_input"] == f"{SEED}|{task_id}|restaff|1"

        def of(kind: str) -> list[dict[str, Any]]:
            return [json.loads(m.data) for m in events if m.event_type.endswith(kind)]

        await _until(
            lambda: _ready(len(of("task.restaffed")) == 1 and len(of("task.assigned")) == 22)
        )
        assert of("task.restaffed")[0] == done
        latest = [a for a in of("task.assigned") if a["task_id"] == task_id][-1]
        assert [m["inspector_id"] for m in latest["team"]] == [came, kept]

        # The publisher keeps the new team for the task.
        async def publisher_team() -> Any:
            team = await pub.ctx.db.pool.fetchval(
                "SELECT team FROM tasks WHERE task_id = $1", task_id
            )
            return team if team == [came, kept] else None

        await _until(publisher_team)

        # A recusal added to the roster later: the re-check replaces the member in conflict
        # (回避) and, where every other inspector is recused too, says so and changes nothing.
        other = staffed[1]
        first_of_other = _team(after[other])[0]
        uscc_of = {t: row["task"]["uscc"] for t, row in after.items()}
        everyone_but = {f"CJ-{i:02d}" for i in range(6)} - set(_team(after[other]))
        recused: dict[str, list[str]] = {kept: [uscc_of[task_id]]}
        for i in {first_of_other, *everyone_but}:
            recused.setdefault(i, []).append(uscc_of[other])
        registry.inspectors = [
            p.model_copy(update={"recusal_usccs": recused.get(p.inspector_id, [])})
            for p in registry.inspectors
        ]
        r = await draw.http.post(f"/draws/{draw_id}/restaff-recused", headers=li)
        assert r.status_code == 200, r.text
        checked = r.json()
        assert checked["checked"] == 18
        [again] = checked["restaffed"]
        assert (again["task_id"], again["n"], again["reason"]) == (task_id, 2, "回避")
        assert again["replaced"]["inspector_id"] == kept
        # Never back to the member who fell ill, nor to the one who stays.
        assert again["replacement"]["inspector_id"] not in {gone, kept, came}
        assert restaffing.rederive(SEED, again) is None
        [refused] = checked["refused"]
        assert (refused["task_id"], refused["inspector_id"]) == (other, first_of_other)
        assert refused["code"] == "no_replacement" and refused["reason"].startswith("recusal:")
        now = await _tasks(draw, draw_id)
        assert _team(now[other]) == _team(after[other])
        assert _team(now[task_id]) == [came, again["replacement"]["inspector_id"]]

        # The stand-alone tool re-derives both picks from the public record.
        record = (await draw.http.get(f"/draws/{draw_id}/record")).json()
        published = (await draw.http.get(f"/draws/{draw_id}/restaffings")).json()
        assert [(p["task_id"], p["n"]) for p in published] == [(task_id, 1), (task_id, 2)]
        tool = load_verifier()
        assert tool.verify_restaffings(record, published) == "OK 2 restaffing(s)"
        forged = [published[0], published[1] | {"replacement": published[0]["replaced"]}]
        with pytest.raises(tool.Difference, match="the candidates give"):
            tool.verify_restaffings(record, forged)

        await _restaff_with_the_command_line(draw, staffed[2], _team(now[staffed[2]])[1], tmp_path)
    finally:
        await registry.stop()


async def _restaff_with_the_command_line(
    draw: Any, task_id: str, inspector: str, tmp_path: Path
) -> None:
    """`spotcheck draw restaff` over real HTTP: a refusal in the officer's words, then a swap."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(draw.ctx.app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        await _until(lambda: _ready(server.started))
        env = {
            **os.environ,
            "SPOTCHECK_DRAW_URL": f"http://127.0.0.1:{port}",
            "SPOTCHECK_VAR_DIR": str(tmp_path / "var"),
        }
        env.pop("SPOTCHECK_TOKEN", None)
        cli = [sys.executable, "-m", "spotcheck", "draw", "restaff", task_id]
        code, _, err = await _run(*cli, "--inspector", "ZS-01", "--reason", "病假", env=env)
        assert code == 1 and "not on the team" in err
        code, out, err = await _run(
            *cli,
            "--inspector",
            inspector,
            "--reason",
            "利害关系",
            "--officer",
            "officer.zhao",
            env=env,
        )
        assert code == 0, err
        assert out.startswith(f"{task_id}: {inspector} -> ") and "利害关系" in out
        audit = await draw.ctx.db.pool.fetch(
            "SELECT actor FROM audit_log WHERE action = 'task.restaffed' AND subject = $1",
            task_id,
        )
        assert [a["actor"] for a in audit] == ["officer.zhao"]
    finally:
        server.should_exit = True
        await task
