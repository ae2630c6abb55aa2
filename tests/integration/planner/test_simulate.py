"""`rules simulate` against the registry's `rpc.stats` served on the test's real NATS.

The registry is another service; here a small handler answers its `rpc.stats` subject with
`contracts.registry.StatsReply` (a test double of that rpc over the real bus).
"""

from __future__ import annotations

import json
from typing import Any

from contracts.common import Role
from services.planner.app import spec

from .support import ROOT, SIM_PLAN, StatsDouble, shipped_text, with_cap


async def test_simulate_reports_n_and_k_under_both_versions_and_changes_nothing(
    run_service: Any, stats_double: StatsDouble
) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    policy = svc.auth(Role.POLICY)
    active = (await svc.http.get("/rules/active", headers=policy)).json()["version"]
    seen: list[str] = []

    async def collect(msg: Any) -> None:
        seen.append(msg.subject)

    sub = await svc.ctx.bus.nc.subscribe("spotcheck.v1.planner.>", cb=collect)
    candidate = with_cap(shipped_text(), "3%")
    r = await svc.http.post(
        "/rules/simulate", json={"plan": SIM_PLAN, "files": candidate}, headers=policy
    )
    assert r.status_code == 200, r.text
    sim = r.json()
    assert sim["active_version"] == active and sim["candidate_version"] != active
    rows = {row["stratum_id"]: row for row in sim["strata"]}
    assert len(rows) == 8
    # Per version, one stats call per distinct item scope (SCJG-001 企业 only, SW-001 all).
    scopes = sorted(q.filter.entity_types for q in stats_double.requests)
    assert scopes == [[], [], ["企业"], ["企业"]]
    assert all(q.filter.region_prefixes == ["360202"] for q in stats_double.requests)
    assert all(q.filter.risk_classes == ["A", "B", "C", "D"] for q in stats_double.requests)

    def got(sid: str) -> tuple[Any, ...]:
        row = rows[sid]
        return (row["n"], row["active_bp"], row["active_k"], row["candidate_bp"],
                row["candidate_k"], row["delta_k"])  # fmt: skip

    # SCJG-001 (企业 only: n is a tenth). Class factors A ×0.5, C ×5, D ×15; cap 5% → 3%.
    assert got("2026.SCJG-001.A.360202") == (100, 150, 2, 150, 2, 0)
    assert got("2026.SCJG-001.B.360202") == (200, 300, 6, 300, 6, 0)
    assert got("2026.SCJG-001.C.360202") == (50, 500, 3, 300, 2, -1)
    assert got("2026.SCJG-001.D.360202") == (10, 500, 1, 300, 1, 0)
    # SW-001: 2% base. B 2% → 40 of 2000; C 10% → cap; D 30% → cap.
    assert got("2026.SW-001.A.360202") == (1000, 100, 10, 100, 10, 0)
    assert got("2026.SW-001.B.360202") == (2000, 200, 40, 200, 40, 0)
    assert got("2026.SW-001.C.360202") == (500, 500, 25, 300, 15, -10)
    assert got("2026.SW-001.D.360202") == (100, 500, 5, 300, 3, -2)
    assert sim["active_total_k"] == sum(r["active_k"] for r in rows.values()) == 92
    assert sim["candidate_total_k"] == sum(r["candidate_k"] for r in rows.values()) == 79
    assert any("上限" in line for line in rows["2026.SW-001.C.360202"]["candidate_explanation"])

    # Nothing changed: no plan, same active version, one activation, no event.
    assert await svc.ctx.db.pool.fetchval("SELECT count(*) FROM plans") == 0
    assert await svc.ctx.db.pool.fetchval("SELECT count(*) FROM plan_strata") == 0
    assert (await svc.http.get("/rules/active", headers=policy)).json()["version"] == active
    history = (await svc.http.get("/rules/history", headers=policy)).json()
    assert [h["version"] for h in history] == [active]
    await svc.ctx.outbox.flush()
    await sub.unsubscribe()
    assert seen == []


async def test_simulate_refuses_a_bad_candidate_or_plan(
    run_service: Any, stats_double: StatsDouble
) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules", rpc_timeout_s=0.5)
    policy = svc.auth(Role.POLICY)
    r = await svc.http.post(
        "/rules/simulate",
        json={"plan": SIM_PLAN, "files": with_cap(shipped_text(), "0%")},
        headers=policy,
    )
    assert r.status_code == 422
    assert any("outside (0, 100%]" in d["reason"] for d in r.json()["error"]["details"])
    assert stats_double.requests == []  # refused before asking the registry
    bad_plan = json.loads(json.dumps(SIM_PLAN))
    bad_plan["items"][0]["item"] = "NOPE"
    r = await svc.http.post(
        "/rules/simulate", json={"plan": bad_plan, "files": shipped_text()}, headers=policy
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == "items[0].item"


async def test_simulate_without_the_registry_is_a_temporary_error(run_service: Any) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules", rpc_timeout_s=0.5)
    r = await svc.http.post(
        "/rules/simulate",
        json={"plan": SIM_PLAN, "files": shipped_text()},
        headers=svc.auth(Role.POLICY),
    )
    assert r.status_code == 503, r.text
