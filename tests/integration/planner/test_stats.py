"""The planner's figures for the leaders' page (`GET /stats/plans`), on real NATS and
PostgreSQL, against what its own plans and catalogue say: plans, rejected and joint ones, late
filings, joint strata among all strata, general items outside key supervision that a plan
checks, the ratio planned per risk class."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from contracts.common import Role
from services.planner.app import spec

from .support import ROOT, StatsDouble
from .test_planner_service import plan_body


async def test_a_years_plans_as_their_own_records_say(
    run_service: Any, stats_double: StatsDouble
) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    scjg = svc.auth(Role.PLANNER, "SCJG")
    assert (
        await svc.http.post("/plans", json=plan_body("P-JOINT"), headers=scjg)
    ).status_code == 201
    alone = plan_body(
        "P-SCJG",
        departments=["SCJG"],
        lead_department=None,
        items=[{"item": "SCJG-002", "ratio": "3%"}],
        filed_on="2026-03-05",
    )
    assert (await svc.http.post("/plans", json=alone, headers=scjg)).status_code == 201
    bad = plan_body("P-BAD", items=[{"item": "NOPE", "ratio": "3%"}])
    assert (await svc.http.post("/plans", json=bad, headers=scjg)).status_code == 422

    auditor = svc.auth(Role.AUDITOR)
    resp = await svc.http.get("/stats/plans", params={"year": 2026}, headers=auditor)
    assert resp.status_code == 200, resp.text
    got = resp.json()

    # What the plans themselves say, read one by one.
    approved = [
        (await svc.http.get(f"/plans/{p}", headers=auditor)).json()["approved"]
        for p in ("P-JOINT", "P-SCJG")
    ]
    strata = [s for a in approved for s in a["strata"]]
    assert (got["plans"], got["rejected"], got["joint_plans"]) == (2, 1, 1)
    assert got["strata"] == len(strata) > 0
    assert got["joint_strata"] == sum(1 for s in strata if s.get("joint_group")) > 0
    ratios: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for s in strata:
        row = ratios[s.get("risk_class") or ""]
        row[0] += 1
        row[1] += s.get("n_estimate") or 0
        row[2] += s.get("k_estimate") or 0
    assert {r["risk_class"]: [r["strata"], r["n"], r["k"]] for r in got["by_risk_class"]} == ratios
    assert [(p["plan_id"], p["flags"]) for p in got["late"]] == [("P-SCJG", ["filed_late"])]
    assert got["late"][0]["filed_on"] == "2026-03-05"

    items = (await svc.http.get("/items", params={"kind": "general"})).json()["items"]
    general = {i["code"] for i in items if not i["key_supervision"]}
    planned = {i["code"] for a in approved for i in a["items"]}
    assert got["general_items"] == len(general) > 0
    assert got["general_items_planned"] == len(general & planned) > 0
    assert set(got["unplanned_items"]) == general - planned

    # One department's, another year's; refused filters.
    sw = (await svc.http.get("/stats/plans?year=2026&department=SW", headers=auditor)).json()
    assert (sw["plans"], sw["late"]) == (1, [])
    none = (await svc.http.get("/stats/plans?year=2025", headers=auditor)).json()
    assert (none["plans"], none["strata"], none["by_risk_class"]) == (0, 0, [])
    for q in ("", "?year=abc", "?year=2026&department=市场监管"):
        assert (await svc.http.get(f"/stats/plans{q}", headers=auditor)).status_code == 422
    inspector = svc.auth(Role.INSPECTOR, "SCJG")
    assert (await svc.http.get("/stats/plans?year=2026", headers=inspector)).status_code == 403
