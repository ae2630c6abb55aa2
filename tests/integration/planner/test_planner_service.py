"""The planner on real NATS and PostgreSQL: activation, plans, events, hot swap under load.

Plans are resolved with the registry's n per stratum: `stats_double` answers its `rpc.stats`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from contracts.common import Role
from contracts.planner import PlanApproved
from services.planner.app import spec
from services.planner.domain.ruleset import version_of

from .support import ROOT, StatsDouble, shipped_text, with_cap


def plan_body(plan_id: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plan_id": plan_id,
        "title": "2026年度联合抽查计划",
        "year": 2026,
        "departments": ["SCJG", "SW"],
        "lead_department": "SCJG",
        "scope": {"regions": ["360202", "360203"]},
        "period": {"start": "2026-04-01", "end": "2026-11-30"},
        "items": [
            {"item": "SCJG-002", "ratio": "3%"},
            {"item": "SW-001", "ratio": "2%"},
            {"item": "SCJG-006", "ratio": "1%"},
        ],
        "filed_on": "2026-02-20",
        "entered_on": "2026-03-15",
    }
    body.update(over)
    return body


async def test_plans_rules_and_events(run_service: Any, stats_double: StatsDouble) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    policy, planner = svc.auth(Role.POLICY), svc.auth(Role.PLANNER, "SCJG")
    shipped = shipped_text()
    old = version_of({p: t.encode() for p, t in shipped.items()})

    r = await svc.http.get("/rules/active", headers=policy)
    assert r.status_code == 200 and r.json()["version"] == old

    r = await svc.http.post("/plans", json=plan_body("P-OK"), headers=planner)
    assert r.status_code == 201, r.text
    assert r.json()["rules_version"] == old and r.json()["flags"] == []
    shown = (await svc.http.get("/plans/P-OK", headers=planner)).json()
    approved = PlanApproved.model_validate(shown["approved"])
    joint = next(s for s in approved.strata if s.stratum_id == "2026.qyxx-sw.D.360202")
    assert joint.departments == ["SCJG", "SW"] and joint.bp == 500
    assert approved.joint_share_bp == 10000

    bad = plan_body(
        "P-BAD", items=[{"item": "NOPE", "ratio": "3%"}, {"item": "SW-001"}], filed_on="2026-03-05"
    )
    r = await svc.http.post("/plans", json=bad, headers=planner)
    assert r.status_code == 422
    locs = {d["loc"] for d in r.json()["error"]["details"]}
    assert locs == {"items[0].item", "items[1]"}
    assert (await svc.http.get("/plans/P-BAD", headers=planner)).json()["status"] == "rejected"
    assert (
        await svc.http.post("/plans", json=plan_body("P-OK"), headers=planner)
    ).status_code == 409

    # A failing set never replaces the active one.
    r = await svc.http.post(
        "/rules/activate", json={"files": with_cap(shipped, "105%")}, headers=policy
    )
    assert r.status_code == 422
    assert any("outside (0, 100%]" in d["reason"] for d in r.json()["error"]["details"])
    assert (await svc.http.get("/rules/active", headers=policy)).json()["version"] == old

    r = await svc.http.post(
        "/rules/activate", json={"files": with_cap(shipped, "4%")}, headers=policy
    )
    assert r.status_code == 200, r.text
    new = r.json()["version"]
    assert new != old and r.json()["previous_version"] == old
    history = (await svc.http.get("/rules/history", headers=policy)).json()
    assert [h["version"] for h in history] == [new, old]
    r = await svc.http.post("/plans", json=plan_body("P-NEW"), headers=planner)
    assert r.json()["rules_version"] == new
    shown = (await svc.http.get("/plans/P-NEW", headers=planner)).json()
    joint = next(
        s for s in shown["approved"]["strata"] if s["stratum_id"] == "2026.qyxx-sw.D.360202"
    )
    assert joint["bp"] == 400

    # Once the outbox is flushed, JetStream holds every event: what it holds is all there is.
    await svc.ctx.outbox.flush()
    info = await svc.ctx.bus.js.stream_info("PLANNER", subjects_filter="spotcheck.v1.planner.>")
    assert info.state.subjects == {
        "spotcheck.v1.planner.rules.activated": 2,  # at start, and the 4% cap
        "spotcheck.v1.planner.plan.approved": 2,
        "spotcheck.v1.planner.plan.rejected": 1,
    }
    last = await svc.ctx.bus.js.get_last_msg("PLANNER", "spotcheck.v1.planner.plan.rejected")
    rejected = json.loads(last.data or b"")
    assert rejected["plan_id"] == "P-BAD" and len(rejected["reasons"]) == 2


async def test_who_submits_and_reads_whose_plans(
    run_service: Any, stats_double: StatsDouble
) -> None:
    """A planner acts for the department the token names, and only for it; approved plans are
    public (计划公告), a rejected one is read by its departments' planners, the policy staff and
    the auditors only (services/planner/domain/readers.py)."""
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    scjg, sw, sthj = (svc.auth(Role.PLANNER, d) for d in ("SCJG", "SW", "STHJ"))
    assert (await svc.http.post("/plans", json=plan_body("P-OK"), headers=scjg)).status_code == 201
    bad = plan_body("P-BAD", items=[{"item": "NOPE", "ratio": "3%"}])
    assert (await svc.http.post("/plans", json=bad, headers=sw)).status_code == 422

    # A planner's token without a department is refused on every route, before anything else.
    for claims in ({"sub": "p", "role": "planner"}, {"sub": "p", "role": "planner", "dept": ""}):
        nodept = svc.signed(**claims)
        r = await svc.http.post("/plans", json=plan_body("P-NODEPT"), headers=nodept)
        assert r.status_code == 403 and r.json()["error"]["code"] == "department_missing", r.text
        for path in ("/plans/P-OK", "/rules/active"):
            r = await svc.http.get(path, headers=nodept)
            assert r.status_code == 403 and r.json()["error"]["code"] == "department_missing"
    assert (await svc.http.get("/plans/P-NODEPT", headers=scjg)).status_code == 404
    # …and a planner of a department outside the plan cannot submit it.
    r = await svc.http.post("/plans", json=plan_body("P-OTHER"), headers=sthj)
    assert r.status_code == 403 and "a planner of STHJ cannot submit" in r.text

    # Approved: every reader, a planner of any department included.
    for who in (scjg, sw, sthj, *(svc.auth(r) for r in (Role.POLICY, Role.AUDITOR))):
        r = await svc.http.get("/plans/P-OK", headers=who)
        assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    assert (await svc.http.get("/plans/P-OK", headers=svc.auth(Role.DRAW_OFFICER))).is_success

    # Rejected: its departments' planners, the policy staff and the auditors; no one else.
    for who in (scjg, sw, svc.auth(Role.POLICY), svc.auth(Role.AUDITOR)):
        r = await svc.http.get("/plans/P-BAD", headers=who)
        assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    for who in (sthj, svc.auth(Role.DRAW_OFFICER)):
        r = await svc.http.get("/plans/P-BAD", headers=who)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "plan_not_public"
        assert "reasons" not in r.text and "NOPE" not in r.text
    # Unknown is unknown to everyone.
    assert (await svc.http.get("/plans/P-NONE", headers=sthj)).status_code == 404


async def test_activation_while_plans_resolve_never_mixes(
    run_service: Any, stats_double: StatsDouble
) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    policy, planner = svc.auth(Role.POLICY), svc.auth(Role.PLANNER, "SCJG")
    shipped = shipped_text()
    caps = {version_of({p: t.encode() for p, t in shipped.items()}): 500}
    regions = [f"3602{i:02d}" for i in range(1, 41)]

    async def submit(i: int) -> str:
        r = await svc.http.post(
            "/plans", json=plan_body(f"P-{i}", scope={"regions": regions}), headers=planner
        )
        assert r.status_code == 201, r.text
        return str(r.json()["plan_id"])

    async def activate(cap: str, bp: int) -> None:
        r = await svc.http.post(
            "/rules/activate", json={"files": with_cap(shipped, cap)}, headers=policy
        )
        assert r.status_code == 200, r.text
        caps[r.json()["version"]] = bp

    tasks: list[Any] = [submit(i) for i in range(6)]
    tasks.insert(2, activate("4%", 400))
    tasks.insert(5, activate("3%", 300))
    await asyncio.gather(*tasks)
    for i in range(6):
        plan = (await svc.http.get(f"/plans/P-{i}", headers=planner)).json()["approved"]
        cap = caps[plan["rules_version"]]
        capped = {s["bp"] for s in plan["strata"] if s["risk_class"] in ("C", "D")}
        assert capped == {cap}, (plan["rules_version"], capped)


async def test_a_rolled_back_plan_publishes_nothing(
    run_service: Any, stats_double: StatsDouble
) -> None:
    """The event goes through the outbox: a plan whose transaction fails at commit leaves no
    row, no outbox entry and no message, and the next plan's event still goes out."""
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    planner = svc.auth(Role.PLANNER, "SCJG")
    # A deferred constraint trigger fails the commit itself, after every statement of the
    # transaction (the outbox insert included) has run.
    async with svc.ctx.db.pool.acquire() as conn:
        await conn.execute(
            """
            CREATE FUNCTION refuse_rollback_plan() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.plan_id = 'P-ROLLBACK' THEN
                    RAISE EXCEPTION 'refused at commit';
                END IF;
                RETURN NULL;
            END $$;
            CREATE CONSTRAINT TRIGGER refuse_rollback AFTER INSERT ON plans
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_rollback_plan();
            """
        )
    # The app answers 500 in the one error shape, with the request's own id.
    r = await svc.http.post("/plans", json=plan_body("P-ROLLBACK"), headers=planner)
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal"
    assert r.json()["error"]["request_id"] == r.headers["x-request-id"]
    assert (await svc.http.get("/plans/P-ROLLBACK", headers=planner)).status_code == 404
    r = await svc.http.post("/plans", json=plan_body("P-AFTER"), headers=planner)
    assert r.status_code == 201, r.text
    await svc.ctx.outbox.flush()  # JetStream now holds every plan event there will be
    outbox = await svc.ctx.db.pool.fetch(
        "SELECT event_id, published_at FROM event_outbox WHERE subject LIKE '%plan.%'"
    )
    assert [(r["event_id"], r["published_at"] is not None) for r in outbox] == [
        ("plan.approved:P-AFTER", True)
    ]
    # JetStream holds exactly one plan event too: P-AFTER's.
    info = await svc.ctx.bus.js.stream_info(
        "PLANNER", subjects_filter="spotcheck.v1.planner.plan.>"
    )
    assert info.state.subjects == {"spotcheck.v1.planner.plan.approved": 1}
    last = await svc.ctx.bus.js.get_last_msg("PLANNER", "spotcheck.v1.planner.plan.approved")
    assert json.loads(last.data or b"")["plan_id"] == "P-AFTER"


async def test_the_same_plan_id_twice_at_once_is_one_plan(
    run_service: Any, stats_double: StatsDouble
) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    planner = svc.auth(Role.PLANNER, "SCJG")
    answers = await asyncio.gather(
        *(svc.http.post("/plans", json=plan_body("P-TWICE"), headers=planner) for _ in range(3))
    )
    assert sorted(r.status_code for r in answers) == [201, 409, 409]
    await svc.ctx.outbox.flush()
    rows = await svc.ctx.db.pool.fetch(
        "SELECT event_id FROM event_outbox WHERE subject LIKE '%plan.%'"
    )
    assert [r["event_id"] for r in rows] == ["plan.approved:P-TWICE"]
