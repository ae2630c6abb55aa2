"""Joint plans (联合抽查, 能联尽联, #13): the lead department starts a draft, the invited
departments join with their own items, the lead submits it through the ordinary submission."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from contracts.common import Role
from contracts.planner import JointPlanJoined, JointPlanStarted
from services.planner.app import spec
from tests.waiting import eventually

from .support import ROOT, StatsDouble


def start_body(plan_id: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plan_id": plan_id,
        "title": "2026年度食品经营联合抽查",
        "year": 2026,
        "departments": ["SCJG", "SW"],
        "scope": {"regions": ["360202", "360203"]},
        "period": {"start": "2026-04-01", "end": "2026-11-30"},
        "items": [{"item": "SCJG-002", "ratio": "3%"}, {"item": "SCJG-006", "ratio": "1%"}],
        "filed_on": "2026-02-20",
        "entered_on": "2026-03-15",
    }
    body.update(over)
    return body


async def test_start_join_submit(run_service: Any, stats_double: StatsDouble) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    scjg, sw = svc.auth(Role.PLANNER, "SCJG"), svc.auth(Role.PLANNER, "SW")
    other = svc.auth(Role.PLANNER, "STHJ")

    r = await svc.http.post("/plans/joint", json=start_body("J-1"), headers=scjg)
    assert r.status_code == 201, r.text
    draft = r.json()
    assert (draft["lead_department"], draft["departments"]) == ("SCJG", ["SCJG", "SW"])
    assert draft["state"] == "open" and draft["waiting"] == ["SW"]
    assert [m["joined"] for m in draft["members"]] == [True, False]

    # SW sees it among the drafts it is invited to; a third department does not.
    assert [d["plan_id"] for d in (await svc.http.get("/plans/joint", headers=sw)).json()] == [
        "J-1"
    ]
    assert (await svc.http.get("/plans/joint", headers=other)).json() == []
    assert (await svc.http.get("/plans/joint/J-1", headers=other)).status_code == 403
    policy = svc.auth(Role.POLICY)
    assert (await svc.http.get("/plans/joint/J-1", headers=policy)).status_code == 200
    assert (await svc.http.get("/plans/joint/NOPE", headers=policy)).status_code == 404

    # Submitted before SW joined: refused, naming SW.
    r = await svc.http.post("/plans/joint/J-1/submit", headers=scjg)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["details"][0]["msg_zh"] == "尚未加入的部门：SW"

    # A department not invited may not join; SW may not bring another department's items.
    join = {"items": [{"item": "SW-001", "ratio": "2%"}]}
    r = await svc.http.post("/plans/joint/J-1/join", json=join, headers=other)
    assert r.status_code == 403, r.text
    bad = {"items": [{"item": "SCJG-001", "ratio": "2%"}, {"item": "NOPE", "ratio": "1%"}]}
    r = await svc.http.post("/plans/joint/J-1/join", json=bad, headers=sw)
    assert r.status_code == 422, r.text
    zh = {d["loc"]: d["msg_zh"] for d in r.json()["error"]["details"]}
    assert zh == {
        "items[0].item": "事项SCJG-001属于SCJG，不是本部门（SW）的事项",
        "items[1].item": "事项“NOPE”不在检查事项清单中",
    }

    # SW joins; joining again replaces its items.
    first = {"items": [{"item": "SW-001", "ratio": "5%"}, {"item": "SW-002", "count": 3}]}
    r = await svc.http.post("/plans/joint/J-1/join", json=first, headers=sw)
    assert r.status_code == 200, r.text
    r = await svc.http.post("/plans/joint/J-1/join", json=join, headers=sw)
    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["waiting"] == [] and all(m["joined"] for m in shown["members"])
    sw_member = next(m for m in shown["members"] if m["department"] == "SW")
    assert [(i["item"], i["ratio_bp"]) for i in sw_member["items"]] == [("SW-001", 200)]

    # Only the lead submits.
    assert (await svc.http.post("/plans/joint/J-1/submit", headers=sw)).status_code == 403
    r = await svc.http.post("/plans/joint/J-1/submit", headers=scjg)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "approved" and r.json()["plan_id"] == "J-1"

    plan = (await svc.http.get("/plans/J-1", headers=scjg)).json()
    assert plan["status"] == "approved"
    approved = plan["approved"]
    assert approved["joint"] is True and approved["lead_department"] == "SCJG"
    assert {i["code"] for i in approved["items"]} == {"SCJG-002", "SCJG-006", "SW-001"}
    assert approved["joint_share_bp"] is not None

    # Submitted: no second submission, no more joining.
    assert (await svc.http.post("/plans/joint/J-1/submit", headers=scjg)).status_code == 409
    r = await svc.http.post("/plans/joint/J-1/join", json=join, headers=sw)
    assert r.status_code == 409, r.text
    done = (await svc.http.get("/plans/joint/J-1", headers=sw)).json()
    assert (done["state"], done["plan_status"]) == ("submitted", "approved")

    await svc.ctx.outbox.flush()
    rows = await svc.ctx.db.pool.fetch(
        "SELECT event_id FROM event_outbox WHERE subject LIKE '%plan.%'"
    )
    assert [r["event_id"] for r in rows] == ["plan.approved:J-1"]
    last = await svc.ctx.bus.js.get_last_msg("PLANNER", "spotcheck.v1.planner.plan.approved")
    assert json.loads(last.data or b"")["plan_id"] == "J-1"
    actions = await svc.ctx.db.pool.fetch(
        "SELECT action FROM audit_log WHERE subject = 'J-1' ORDER BY seq"
    )
    assert [a["action"] for a in actions] == [
        "joint.start",
        "joint.join",
        "joint.join",
        "plan.approve",
        "joint.submit",
    ]


async def test_a_start_and_each_join_are_events_on_nats(
    run_service: Any, stats_double: StatsDouble
) -> None:
    """`planner.joint.started` and `planner.joint.joined` arrive on NATS as the draft is
    started and joined (again), each with its CloudEvents headers and the fields its contract
    names; a refused join sends nothing."""
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    scjg, sw = svc.auth(Role.PLANNER, "SCJG"), svc.auth(Role.PLANNER, "SW")
    got: list[Any] = []

    async def collect(msg: Any) -> None:
        got.append(msg)

    sub = await svc.ctx.bus.nc.subscribe("spotcheck.v1.planner.joint.>", cb=collect)
    body = start_body("J-EV", departments=["SW", "STHJ"])  # the lead is added first
    r = await svc.http.post("/plans/joint", json=body, headers=scjg)
    assert r.status_code == 201, r.text
    await eventually(lambda: len(got) == 1, what="joint.started on NATS")
    started_msg = got[0]
    assert started_msg.subject == "spotcheck.v1.planner.joint.started"
    assert started_msg.headers["ce-type"] == "spotcheck.v1.planner.joint.started"
    assert started_msg.headers["ce-id"] == "joint.started:J-EV"
    started = JointPlanStarted.model_validate_json(started_msg.data)
    assert (started.plan_id, started.title, started.year) == ("J-EV", body["title"], 2026)
    assert started.lead_department == "SCJG"
    assert (started.departments, started.invited) == (["SCJG", "SW", "STHJ"], ["SW", "STHJ"])
    assert started.scope.regions == ["360202", "360203"]
    assert (str(started.period.start), str(started.period.end)) == ("2026-04-01", "2026-11-30")
    assert [(i.item, i.ratio_bp, i.count) for i in started.items] == [
        ("SCJG-002", 300, None),
        ("SCJG-006", 100, None),
    ]
    draft = r.json()
    assert started.started_by == draft["started_by"] == "test-planner"
    assert started.started_at == datetime.fromisoformat(draft["created_at"])

    # A refused join (another department's item) is no event; SW joins, then again.
    bad = {"items": [{"item": "SCJG-001", "ratio": "2%"}]}
    r = await svc.http.post("/plans/joint/J-EV/join", json=bad, headers=sw)
    assert r.status_code == 422, r.text
    for items in (
        [{"item": "SW-001", "ratio": "5%"}, {"item": "SW-002", "count": 3}],
        [{"item": "SW-001", "ratio": "2%"}],
    ):
        r = await svc.http.post("/plans/joint/J-EV/join", json={"items": items}, headers=sw)
        assert r.status_code == 200, r.text
    await eventually(lambda: len(got) == 3, what="two joint.joined on NATS")
    await svc.ctx.outbox.flush()
    await sub.unsubscribe()
    assert len(got) == 3, [m.subject for m in got]  # the refused join sent nothing
    first, again = (JointPlanJoined.model_validate_json(m.data) for m in got[1:])
    for msg in got[1:]:
        assert msg.subject == "spotcheck.v1.planner.joint.joined"
        assert msg.headers["ce-type"] == "spotcheck.v1.planner.joint.joined"
        assert msg.headers["ce-id"].startswith("joint.joined:J-EV:SW:")
    assert got[1].headers["ce-id"] != got[2].headers["ce-id"]  # two facts, two ids
    assert (first.plan_id, first.department, first.joined_by) == ("J-EV", "SW", "test-planner")
    assert [(i.item, i.ratio_bp, i.count) for i in first.items] == [
        ("SW-001", 500, None),
        ("SW-002", None, 3),
    ]
    assert (first.rejoined, first.waiting) == (False, ["STHJ"])
    assert [(i.item, i.ratio_bp) for i in again.items] == [("SW-001", 200)]
    assert (again.rejoined, again.waiting) == (True, ["STHJ"])
    sw_member = next(m for m in r.json()["members"] if m["department"] == "SW")
    assert again.joined_at == datetime.fromisoformat(sw_member["joined_at"]) >= first.joined_at
    # The stream keeps them too (what a subscriber that was away reads later).
    info = await svc.ctx.bus.js.stream_info(
        "PLANNER", subjects_filter="spotcheck.v1.planner.joint.>"
    )
    assert info.state.subjects == {
        "spotcheck.v1.planner.joint.started": 1,
        "spotcheck.v1.planner.joint.joined": 2,
    }


async def test_start_is_checked(run_service: Any, stats_double: StatsDouble) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    scjg = svc.auth(Role.PLANNER, "SCJG")
    # Alone is not joint; another department's items are not the lead's.
    alone = start_body("J-2", departments=["SCJG"], items=[{"item": "SW-001", "ratio": "2%"}])
    r = await svc.http.post("/plans/joint", json=alone, headers=scjg)
    assert r.status_code == 422, r.text
    zh = {d["loc"]: d["msg_zh"] for d in r.json()["error"]["details"]}
    assert zh["departments"] == "联合抽查须邀请至少一个其他部门"
    assert zh["items[0].item"].startswith("事项SW-001属于SW")
    # Only planners start one; the same id twice is one draft.
    policy = svc.auth(Role.POLICY)
    assert (
        await svc.http.post("/plans/joint", json=start_body("J-3"), headers=policy)
    ).status_code == 403
    answers = await asyncio.gather(
        *(svc.http.post("/plans/joint", json=start_body("J-3"), headers=scjg) for _ in range(2))
    )
    assert sorted(r.status_code for r in answers) == [201, 409]
    # A plan id already taken by a plan is refused as well.
    assert (
        await svc.http.post(
            "/plans/joint/J-3/join",
            json={"items": [{"item": "SW-001", "ratio": "2%"}]},
            headers=svc.auth(Role.PLANNER, "SW"),
        )
    ).status_code == 200
    assert (await svc.http.post("/plans/joint/J-3/submit", headers=scjg)).status_code == 201
    r = await svc.http.post("/plans/joint", json=start_body("J-3"), headers=scjg)
    assert r.status_code == 409


async def test_a_submission_that_died_half_way_is_taken_up_again(
    run_service: Any, stats_double: StatsDouble
) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    scjg, sw = svc.auth(Role.PLANNER, "SCJG"), svc.auth(Role.PLANNER, "SW")
    join = {"items": [{"item": "SW-001", "ratio": "2%"}]}
    for plan_id in ("J-8", "J-9"):
        assert (
            await svc.http.post("/plans/joint", json=start_body(plan_id), headers=scjg)
        ).status_code == 201
        r = await svc.http.post(f"/plans/joint/{plan_id}/join", json=join, headers=sw)
        assert r.status_code == 200
    # J-8: the process died after claiming the draft, before the plan was stored.
    await svc.ctx.db.pool.execute(
        "UPDATE joint_drafts SET state = 'submitting' WHERE plan_id = 'J-8'"
    )
    r = await svc.http.post("/plans/joint/J-8/submit", headers=scjg)
    assert r.status_code == 201 and r.json()["status"] == "approved", r.text
    # J-9: it died after the plan was stored, before the draft said so.
    assert (await svc.http.post("/plans/joint/J-9/submit", headers=scjg)).status_code == 201
    await svc.ctx.db.pool.execute(
        "UPDATE joint_drafts SET state = 'submitting', plan_status = NULL WHERE plan_id = 'J-9'"
    )
    assert (await svc.http.post("/plans/joint/J-9/submit", headers=scjg)).status_code == 409
    done = (await svc.http.get("/plans/joint/J-9", headers=scjg)).json()
    assert (done["state"], done["plan_status"]) == ("submitted", "approved")
