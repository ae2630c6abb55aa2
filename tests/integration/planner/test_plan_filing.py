"""The 监督平台's acknowledgement of a plan's filing on the real planner (NATS + PostgreSQL):
its date becomes the plan's, the flags are recomputed (in the plan, its list and the leaders'
statistics), and an ack for an unknown or rejected plan, before approval or repeated with
other content is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from contracts.common import Role
from services.planner.app import spec
from services.planner.filings import china_today

from .support import ROOT, StatsDouble


def plan_body(plan_id: str, year: int, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plan_id": plan_id,
        "title": f"{year}年度抽查计划",
        "year": year,
        "departments": ["SCJG"],
        "scope": {"regions": ["360202"]},
        "period": {"start": f"{year}-04-01", "end": f"{year}-11-30"},
        "items": [{"item": "SCJG-001", "ratio": "3%"}],
    }
    body.update(over)
    return body


async def test_filing_acknowledgements(run_service: Any, stats_double: StatsDouble) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    planner, operator = svc.auth(Role.PLANNER, "SCJG"), svc.auth(Role.OPERATOR)
    today = china_today()
    next_year, last_year = today.year + 1, today.year - 1

    # Next year's plan, not filed yet; entered (by default) today, so not late.
    r = await svc.http.post("/plans", json=plan_body("P-NEXT", next_year), headers=planner)
    assert r.status_code == 201 and r.json()["flags"] == ["not_filed"], r.text
    ack = {"ack_id": "JD-0001", "acknowledged_on": today.isoformat()}
    r = await svc.http.post("/plans/P-NEXT/filing", json=ack, headers=operator)
    assert r.status_code == 200, r.text
    assert r.json()["entered_on"] == today.isoformat() and r.json()["flags"] == ["not_filed"]
    filed = {"ack_id": "JD-0002", "acknowledged_on": today.isoformat(), "kind": "filed"}
    r = await svc.http.post("/plans/P-NEXT/filing", json=filed, headers=operator)
    assert r.status_code == 200, r.text
    assert r.json()["filed_on"] == today.isoformat() and r.json()["flags"] == []
    assert [a["ack_id"] for a in r.json()["acks"]] == ["JD-0001", "JD-0002"]
    shown = (await svc.http.get("/plans/P-NEXT", headers=planner)).json()
    assert shown["flags"] == [] and shown["filed_on"] == today.isoformat()

    # The same ack again: recorded once. The same id with other content: refused.
    r = await svc.http.post("/plans/P-NEXT/filing", json=filed, headers=operator)
    assert r.status_code == 200 and r.json()["repeated"] is True
    r = await svc.http.post(
        "/plans/P-NEXT/filing", json={**filed, "kind": "entered"}, headers=operator
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "ack_conflict"

    # Last year's plan typed as entered on 15 March; the platform says today: entered late.
    r = await svc.http.post(
        "/plans",
        json=plan_body(
            "P-LAST",
            last_year,
            filed_on=f"{last_year}-02-20",
            entered_on=f"{last_year}-03-15",
        ),
        headers=planner,
    )
    assert r.status_code == 201 and r.json()["flags"] == [], r.text
    r = await svc.http.post(
        "/plans/P-LAST/filing",
        json={"ack_id": "JD-0003", "acknowledged_on": today.isoformat()},
        headers=operator,
    )
    assert r.status_code == 200 and r.json()["flags"] == ["entered_late"], r.text
    listed = (await svc.http.get("/plans", headers=planner)).json()
    row = next(p for p in listed if p["plan_id"] == "P-LAST")
    assert row["entered_on"] == today.isoformat() and row["flags"] == ["entered_late"]
    stats = (await svc.http.get("/stats/plans", params={"year": last_year}, headers=planner)).json()
    assert [(p["plan_id"], p["entered_on"]) for p in stats["late"]] == [
        ("P-LAST", today.isoformat())
    ]

    # Refused: before approval, after today, an unknown plan, a rejected plan, another role.
    for when, code in (
        (today - timedelta(days=1), "ack_before_approval"),
        (today + timedelta(days=1), "ack_in_future"),
    ):
        r = await svc.http.post(
            "/plans/P-LAST/filing",
            json={"ack_id": "JD-X", "acknowledged_on": when.isoformat()},
            headers=operator,
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    r = await svc.http.post("/plans/P-NONE/filing", json=ack, headers=operator)
    assert r.status_code == 404
    bad = plan_body("P-BAD", next_year, items=[{"item": "NOPE", "ratio": "3%"}])
    assert (await svc.http.post("/plans", json=bad, headers=planner)).status_code == 422
    r = await svc.http.post("/plans/P-BAD/filing", json={**ack, "ack_id": "JD-9"}, headers=operator)
    assert r.status_code == 409 and r.json()["error"]["code"] == "plan_not_approved"
    r = await svc.http.post("/plans/P-NEXT/filing", json=ack, headers=planner)
    assert r.status_code == 403
    audit = await svc.ctx.db.pool.fetch(
        "SELECT subject FROM audit_log WHERE action = 'plan.filing_ack' ORDER BY seq"
    )
    assert [a["subject"] for a in audit] == ["P-NEXT", "P-NEXT", "P-LAST"]


async def test_a_platform_adapter_records_a_receipt_over_nats(
    run_service: Any, stats_double: StatsDouble, nats_url: str
) -> None:
    from contracts import subjects
    from contracts.planner import PlanFiling, PlanFilingRequest
    from services.kit.bus import Bus
    from services.kit.errors import NotFound

    svc = await run_service(spec, rules_dir=ROOT / "rules")
    today = china_today()
    year = today.year + 1
    planner = svc.auth(Role.PLANNER, "SCJG")
    assert (
        await svc.http.post("/plans", json=plan_body("P-RPC", year), headers=planner)
    ).status_code == 201
    bus = await Bus.connect(nats_url, name="test-publisher-relay")
    try:
        request = PlanFilingRequest(
            plan_id="P-RPC",
            ack_id="JD-77",
            acknowledged_on=today,
            kind="filed",
            recorded_by="publisher-jdpt",
        )
        reply = await bus.request(
            subjects.rpc("planner", "filing"), request, PlanFiling, timeout=10
        )
        assert (reply.filed_on, reply.flags, reply.repeated) == (today, [], False)
        again = await bus.request(
            subjects.rpc("planner", "filing"), request, PlanFiling, timeout=10
        )
        assert again.repeated is True
        # A repeat answers what the first time did (the entry date included: none was acked
        # or typed, so the day of approval holds).
        assert again.model_copy(update={"repeated": False}) == reply
        missing = request.model_copy(update={"plan_id": "P-NONE"})
        try:
            await bus.request(subjects.rpc("planner", "filing"), missing, PlanFiling, timeout=10)
        except NotFound:
            pass
        else:
            raise AssertionError("an unknown plan's receipt was accepted")
    finally:
        await bus.close()
    actors = await svc.ctx.db.pool.fetch(
        "SELECT actor FROM audit_log WHERE action = 'plan.filing_ack'"
    )
    assert [a["actor"] for a in actors] == ["publisher-jdpt"]
