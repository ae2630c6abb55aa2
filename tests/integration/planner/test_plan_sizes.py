"""Plans are resolved with the registry's n per stratum (its `rpc.stats`, answered here by
`StatsDouble` on the test's real NATS): size conditions fire on them, every stratum carries n
and k, and without the registry a plan is refused (503) with nothing stored."""

from __future__ import annotations

from fractions import Fraction
from math import ceil
from typing import Any

from contracts.common import Role
from services.planner.app import spec

from .support import ROOT, StatsDouble, serving_stats, shipped_text

SIZE_RULE = """\
rules:
  - id: large-stratum-floor
    name: 大分层抽查比例不低于3%
    effective: {from: 2023-01-01}
    when: {n_at_least: 1500, item: SW-001}
    then: {floor_ratio: "3%"}
"""


def plan(plan_id: str, items: list[dict[str, Any]], regions: list[str]) -> dict[str, Any]:
    departments = sorted({i["item"].split("-")[0] for i in items})
    return {
        "plan_id": plan_id,
        "title": "2026年度抽查计划",
        "year": 2026,
        "departments": departments,
        "lead_department": "SCJG" if len(departments) > 1 else None,
        "scope": {"regions": regions},
        "period": {"start": "2026-04-01", "end": "2026-11-30"},
        "items": items,
        "filed_on": "2026-02-20",
        "entered_on": "2026-03-15",
    }


async def approved(svc: Any, plan_id: str) -> dict[str, Any]:
    r = await svc.http.get(f"/plans/{plan_id}", headers=svc.auth(Role.PLANNER, "SW"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["approved"]
    return body


async def test_a_size_rule_fires_because_of_n(run_service: Any, stats_double: StatsDouble) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    files = {**shipped_text(), "size.yaml": SIZE_RULE}
    r = await svc.http.post("/rules/activate", json={"files": files}, headers=svc.auth(Role.POLICY))
    assert r.status_code == 200, r.text
    # Class B: 2000 entities in 360202 (≥ 1500), 1499 in 360203 (one short), 1500 in 360204.
    stats_double.by_region["360203"] = {"A": 1000, "B": 1499, "C": 500, "D": 100}
    stats_double.by_region["360204"] = {"A": 1000, "B": 1500, "C": 500, "D": 100}
    body = plan("P-SIZE", [{"item": "SW-001", "ratio": "2%"}], ["360202", "360203", "360204"])
    r = await svc.http.post("/plans", json=body, headers=svc.auth(Role.PLANNER, "SW"))
    assert r.status_code == 201, r.text
    strata = {s["stratum_id"]: s for s in (await approved(svc, "P-SIZE"))["strata"]}

    def got(sid: str) -> tuple[Any, ...]:
        s = strata[sid]
        return s["n_estimate"], s["bp"], s["k_estimate"], "大分层抽查比例不低于3%" in s["fired"]

    assert got("2026.SW-001.B.360202") == (2000, 300, 60, True)
    assert got("2026.SW-001.B.360203") == (1499, 200, 30, False)
    assert got("2026.SW-001.B.360204") == (1500, 300, 45, True)
    assert got("2026.SW-001.A.360202") == (1000, 100, 10, False)
    explained = strata["2026.SW-001.B.360202"]["explanation"]
    assert "大分层抽查比例不低于3%（large-stratum-floor）：比例 2% 低于下限 → 3%" in explained


async def test_k_is_ceil_n_times_bp_for_every_stratum(
    run_service: Any, stats_double: StatsDouble
) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    stats_double.by_region["360203"] = {"A": 7, "B": 333, "C": 41}  # no D-class entities
    items: list[dict[str, Any]] = [
        {"item": "SCJG-001", "ratio": "3%"},  # 企业 only: the double counts a tenth
        {"item": "SCJG-002", "ratio": "3%"},  # merges with SW-001 (qyxx-sw)
        {"item": "SW-001", "ratio": "2%"},
        {"item": "SCJG-004", "ratio": "4%"},  # priority: uncapped
        {"item": "SCJG-007", "count": 30},  # a count, capped at 5% of n
    ]
    body = plan("P-K", items, ["360202", "360203"])
    r = await svc.http.post("/plans", json=body, headers=svc.auth(Role.PLANNER, "SCJG"))
    assert r.status_code == 201, r.text
    event = await approved(svc, "P-K")
    strata = event["strata"]
    assert len(strata) >= 30 and event["joint_strata"] == 8
    # A handful of requests, not one per stratum: one per distinct item scope (企业 only;
    # unrestricted; industries C/F for SCJG-004; tagged 网络经营 for SCJG-007).
    assert len(stats_double.requests) == 4

    for s in strata:
        only = s["item_codes"] == ["SCJG-001"]
        assert (s["filter"]["entity_types"] == ["企业"]) == only
        n = stats_double.n(s["region_code"], s["risk_class"], enterprises_only=only)
        if s["bp"] is not None:
            k = min(n, ceil(Fraction(n * s["bp"], 10000)))
        else:
            assert s["count_cap_bp"] == 500
            k = min(30, ceil(Fraction(n * 500, 10000)), n)
        assert (s["n_estimate"], s["k_estimate"]) == (n, k), s["stratum_id"]
    zero = [s for s in strata if s["region_code"] == "360203" and s["risk_class"] == "D"]
    assert zero and all(s["n_estimate"] == s["k_estimate"] == 0 for s in zero)
    # Spot checks of the arithmetic: ⌈333 × 3% ⌉ = ⌈9.99⌉ = 10; ⌈41 × 20%⌉ = ⌈8.2⌉ = 9.
    by_id = {s["stratum_id"]: s for s in strata}
    assert by_id["2026.qyxx-sw.B.360203"]["k_estimate"] == 10
    assert by_id["2026.SCJG-004.C.360203"]["k_estimate"] == 9
    # The stored strata rows carry the same k.
    rows = await svc.ctx.db.pool.fetch(
        "SELECT stratum_id, k_estimate FROM plan_strata WHERE plan_id = 'P-K' AND NOT excluded"
    )
    assert {r["stratum_id"]: r["k_estimate"] for r in rows} == {
        s["stratum_id"]: s["k_estimate"] for s in strata
    }


async def test_without_the_registry_a_plan_is_refused_and_nothing_stored(
    run_service: Any, nats_url: str
) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules", rpc_timeout_s=0.5)
    planner = svc.auth(Role.PLANNER, "SW")
    body = plan("P-LATER", [{"item": "SW-001", "ratio": "2%"}], ["360202"])
    r = await svc.http.post("/plans", json=body, headers=planner)
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert error["code"] == "unavailable"
    assert "the registry must be running" in error["message"]
    assert (await svc.http.get("/plans/P-LATER", headers=planner)).status_code == 404
    pool = svc.ctx.db.pool
    assert await pool.fetchval("SELECT count(*) FROM plans") == 0
    assert await pool.fetchval("SELECT count(*) FROM plan_strata") == 0
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action LIKE 'plan.%'") == 0
    assert (
        await pool.fetchval("SELECT count(*) FROM event_outbox WHERE subject LIKE '%plan.%'") == 0
    )

    # A refused plan needs no counts: it is still recorded with every reason.
    bad = plan("P-BAD", [{"item": "SW-999", "ratio": "2%"}], ["360202"])
    r = await svc.http.post("/plans", json=bad, headers=planner)
    assert r.status_code == 422 and r.json()["error"]["code"] == "plan_invalid"

    # Once the registry answers, the same submission goes through.
    async with serving_stats(nats_url) as double:
        r = await svc.http.post("/plans", json=body, headers=planner)
        assert r.status_code == 201, r.text
    assert len(double.requests) == 1
    strata = (await approved(svc, "P-LATER"))["strata"]
    assert [(s["n_estimate"], s["k_estimate"]) for s in strata] == [
        (1000, 10), (2000, 40), (500, 25), (100, 5)
    ]  # fmt: skip
