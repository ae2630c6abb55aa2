"""The draw follows each task's progress from the publisher's events — real draw and publisher
services on one NATS and one PostgreSQL.

An inspector starts one task (`task.started`) and records the result of another
(`result.accepted`); the draw shows both, a later plan's visit absorbs only the tasks not
started, and the first draw can no longer be redrawn. A result claiming a method the task does
not allow is refused by the publisher.
"""

from __future__ import annotations

import functools
from typing import Any

from contracts import subjects
from contracts.common import Role
from contracts.planner import PlanApproved
from services.draw import app as draw_app
from services.kit.auth import issue_token, load_or_create_key
from services.kit.bus import Bus
from services.publisher.app import spec as publisher_spec
from services.publisher.settings import PublisherSettings
from tests.integration.draw.standin import RegistryStandIn
from tests.integration.draw.test_draw_ceremony import _entities, _until
from tests.integration.draw.test_draw_merging import SEED, _plan, _roster

CHECK_DATE = "2026-09-15"  # inside the plans' period (Q3 2026), in the past


def _scjg_plan() -> PlanApproved:
    """Six SCJG visits whose rules allow only documents and online checks (as for class A)."""
    plan = _plan("P-SCJG", "SCJG", "SCJG-001", 1000)
    strata = [s.model_copy(update={"methods": ["documents", "online"]}) for s in plan.strata]
    return plan.model_copy(update={"strata": strata})


def _bearer(svc: Any, role: Role, sub: str, dept: str | None = None) -> dict[str, str]:
    key = load_or_create_key(svc.ctx.settings.key_file())
    return {"Authorization": "Bearer " + issue_token(key, role=role, sub=sub, dept=dept)}


def _result(task: dict[str, Any], method: str) -> dict[str, Any]:
    """The first member's submission: their own confirmation (the others confirm with theirs)."""
    return {
        "task_id": task["task_id"],
        "check_date": CHECK_DATE,
        "method": method,
        "method_record": {"place": "景德镇市昌江区", "documents": ["营业执照", "进货台账"]},
        "items": [{"item_code": i["code"], "category": "1"} for i in task["items"]],
        "confirmations": [
            {
                "inspector_id": task["team"][0]["inspector_id"],
                "confirmed_at": f"{CHECK_DATE}T16:00:00+08:00",
            }
        ],
    }


async def test_progress_from_the_publisher_stops_merging_and_redraws(
    run_service: Any, nats_url: str
) -> None:
    draw = await run_service(draw_app.spec)
    pub = await run_service(lambda: publisher_spec(PublisherSettings(relay_enabled=False)))
    officer = draw.auth(Role.DRAW_OFFICER)
    registry = RegistryStandIn(_entities(), _roster())
    await registry.start(nats_url)
    bus = await Bus.connect(nats_url, name="test-progress")
    try:
        plans = [_scjg_plan(), _plan("P-SW", "SW", "SW-001", 10000)]
        for p in plans:
            await bus.publish_event(
                subjects.event("planner", "plan.approved"), p, event_id=p.plan_id
            )

        async def start(plan_id: str) -> Any:
            r = await draw.http.post("/draws", json={"plan_id": plan_id}, headers=officer)
            return r if r.status_code != 404 else None

        async def run(plan_id: str) -> str:
            r = await _until(functools.partial(start, plan_id))
            assert r.status_code == 201, r.text
            draw_id: str = r.json()["draw_id"]
            r = await draw.http.post(
                f"/draws/{draw_id}/seed", json={"seed": SEED, "source": "dice"}, headers=officer
            )
            assert r.status_code == 200, r.text
            return draw_id

        first = await run("P-SCJG")
        rows = (await draw.http.get(f"/draws/{first}/tasks")).json()
        assert len(rows) == 6 and {x["progress"] for x in rows} == {"not_started"}
        started, finished, called_off = rows[0]["task"], rows[1]["task"], rows[2]["task"]
        ids = [x["task"]["task_id"] for x in rows]

        async def publisher_has_tasks() -> bool:
            n = await pub.ctx.db.pool.fetchval(
                "SELECT count(*) FROM tasks WHERE task_id = ANY($1::text[])", ids
            )
            return bool(n == 6)

        await _until(publisher_has_tasks)

        # An inspector of the team begins one visit; starting again changes nothing.
        first_member = started["team"][0]
        inspector = _bearer(
            pub, Role.INSPECTOR, first_member["inspector_id"], first_member["department"]
        )
        r = await pub.http.post(f"/tasks/{started['task_id']}/start", headers=inspector)
        assert r.status_code == 200, r.text
        again = await pub.http.post(f"/tasks/{started['task_id']}/start", headers=inspector)
        assert again.json() == r.json()
        stranger = _bearer(pub, Role.INSPECTOR, "SW-0", "SW")
        r = await pub.http.post(f"/tasks/{started['task_id']}/start", headers=stranger)
        assert r.status_code == 422 and r.json()["error"]["code"] == "start_refused"

        # The rules allow no on-site visit for these tasks: such a result is refused, whole.
        first_member = finished["team"][0]
        inspector = _bearer(
            pub, Role.INSPECTOR, first_member["inspector_id"], first_member["department"]
        )
        r = await pub.http.post("/results", json=_result(finished, "实地核查"), headers=inspector)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "result_refused"
        [reason] = r.json()["error"]["details"]
        assert reason["type"] == "method_not_allowed" and "documents, online" in reason["msg"]
        r = await pub.http.post("/results", json=_result(finished, "书面检查"), headers=inspector)
        assert r.status_code == 202, r.text  # a draft until the rest of the team confirms
        confirm = {"draft_id": r.json()["draft_id"], "content_sha256": r.json()["content_sha256"]}
        for member in finished["team"][1:]:
            mine = _bearer(pub, Role.INSPECTOR, member["inspector_id"], member["department"])
            r = await pub.http.post(
                f"/tasks/{finished['task_id']}/draft/confirm", json=confirm, headers=mine
            )
        assert r.status_code == 201, r.text
        stored = await pub.ctx.db.pool.fetchval(
            "SELECT method FROM results WHERE task_id = $1", finished["task_id"]
        )
        assert stored == "documents"

        # Department staff call a third visit off: the entity was deregistered (注销).
        staff = _bearer(pub, Role.PLANNER, "staff-scjg", "SCJG")
        r = await pub.http.post(
            f"/tasks/{called_off['task_id']}/cancel", json={"reason": "deregistered"}, headers=staff
        )
        assert r.status_code == 200, r.text

        # The draw hears all three through its durable consumers.
        expected = {x: "not_started" for x in ids}
        expected[started["task_id"]] = "in_progress"
        expected[finished["task_id"]] = "result_recorded"
        expected[called_off["task_id"]] = "cancelled"

        async def draw_knows() -> bool:
            got = (await draw.http.get(f"/draws/{first}/tasks")).json()
            return {x["task"]["task_id"]: x["progress"] for x in got} == expected

        await _until(draw_knows)
        # The public task notice (任务公告) shows the same, from the publisher's own facts.
        html = (await pub.http.get("/public/tasks", params={"draw": first})).text
        assert [html.count(x) for x in ("未开始", "检查中", "已录入结果", "已取消")] == [3, 1, 1, 1]
        audit = await draw.ctx.db.pool.fetch(
            "SELECT subject, data FROM audit_log WHERE action = 'task.progress' ORDER BY seq"
        )
        assert {(a["subject"], a["data"]["to"]) for a in audit} == {
            (started["task_id"], "in_progress"),
            (finished["task_id"], "result_recorded"),
            (called_off["task_id"], "cancelled"),
        }

        # Work began: the first draw cannot be redrawn.
        r = await draw.http.post(
            f"/draws/{first}/redraw", json={"reason": "名录库导入错误"}, headers=officer
        )
        assert r.status_code == 409, r.text
        err = r.json()["error"]
        assert err["code"] == "redraw_after_results"
        assert "1 task(s) with a result recorded and 1 in progress" in err["message"]
        assert (await draw.http.get(f"/draws/{first}")).json()["redraw_pending"] is None

        # A later plan for the same entities absorbs only the three tasks not started (neither
        # the begun, the finished nor the cancelled one).
        second = await run("P-SW")
        rows = (await draw.http.get(f"/draws/{first}/tasks")).json()
        state = {x["task"]["task_id"]: x["state"] for x in rows}
        assert state[started["task_id"]] == state[finished["task_id"]] == "assigned"
        assert sorted(state.values()).count("merged") == 3
        by_uscc = {
            x["task"]["uscc"]: x["task"]
            for x in (await draw.http.get(f"/draws/{second}/tasks", params={"limit": 100})).json()
        }
        assert len(by_uscc) == 60
        for done in (started, finished, called_off):
            alone = by_uscc[done["uscc"]]
            assert alone["merged_from"] == [] and [i["code"] for i in alone["items"]] == ["SW-001"]
        for x in rows:
            if x["state"] == "merged":
                absorbing = by_uscc[x["task"]["uscc"]]
                assert absorbing["merged_from"] == [x["task"]["task_id"]]
                assert x["merged_into"] == absorbing["task_id"]
                assert {i["code"] for i in absorbing["items"]} == {"SCJG-001", "SW-001"}
    finally:
        await bus.close()
        await registry.stop()
