"""The draw's figures for the leaders' page (`GET /stats/draws`): per risk class the candidates
on the frozen lists and the entities selected, over a year's live draws (a redrawn draw counts
through its redraw, a draw not yet selected not at all). The ceremony itself is tested in
test_draw_ceremony.py; here its records are written as it leaves them."""

from __future__ import annotations

from typing import Any

from contracts.common import Role
from services.draw import app as draw_app


def _plan(plan_id: str, year: int, departments: list[str]) -> dict[str, Any]:
    strata = [
        {"stratum_id": f"{plan_id}-A", "risk_class": "A"},
        {"stratum_id": f"{plan_id}-B", "risk_class": "B"},
        {"stratum_id": f"{plan_id}-X"},
    ]
    return {"plan_id": plan_id, "year": year, "departments": departments, "strata": strata}


async def _draw(svc: Any, draw_id: str, plan_id: str, state: str, picks: dict[str, Any]) -> None:
    """A draw of `plan_id` in `state` with its strata: stratum suffix → (n, selected or None)."""
    db = svc.ctx.db.pool
    await db.execute(
        "INSERT INTO draws (draw_id, plan_id, rules_version, state, created_by)"
        " VALUES ($1, $2, 'v', $3, 'test')",
        draw_id,
        plan_id,
        state,
    )
    for suffix, (n, selected) in picks.items():
        await db.execute(
            "INSERT INTO strata (draw_id, stratum_id, n, k, candidates_sha256, object_name,"
            " selected) VALUES ($1, $2, $3, $4, 'x', 'x', $5)",
            draw_id,
            f"{plan_id}-{suffix}",
            n,
            len(selected or []),
            selected,
        )


async def test_ratio_drawn_per_risk_class(run_service: Any) -> None:
    svc = await run_service(draw_app.spec)
    db = svc.ctx.db.pool
    for plan_id, year, depts in (
        ("P1", 2026, ["SCJG"]),
        ("P2", 2026, ["SCJG", "SW"]),
        ("P3", 2025, ["SCJG"]),
        ("P4", 2026, ["SW"]),
    ):
        await db.execute(
            "INSERT INTO plans (plan_id, body) VALUES ($1, $2::jsonb)",
            plan_id,
            _plan(plan_id, year, depts),
        )
    # P1: drawn, then redrawn — only the redraw counts.
    await _draw(svc, "D1", "P1", "superseded", {"A": (100, ["u"] * 5), "B": (50, ["u"] * 9)})
    await _draw(svc, "D1b", "P1", "completed", {"A": (100, ["u"] * 4), "B": (50, ["u"] * 3)})
    await _draw(svc, "D2", "P2", "completed", {"A": (20, ["u"]), "X": (10, ["u", "v"])})
    await _draw(svc, "D3", "P3", "completed", {"A": (999, ["u"] * 99)})  # another year
    await _draw(svc, "D4", "P4", "committed", {"A": (30, None)})  # not selected yet

    auditor = svc.auth(Role.AUDITOR)
    got = (await svc.http.get("/stats/draws?year=2026", headers=auditor)).json()
    assert got["draws"] == 2
    assert {
        r["risk_class"]: (r["strata"], r["n"], r["k"], r["entities"]) for r in got["by_risk_class"]
    } == {
        "A": (2, 120, 5, 1),  # "u" selected in both strata of class A: one entity
        "B": (1, 50, 3, 1),
        "": (1, 10, 2, 2),
    }
    sw = (await svc.http.get("/stats/draws?year=2026&department=SW", headers=auditor)).json()
    assert sw["draws"] == 1
    assert [(r["risk_class"], r["n"], r["k"]) for r in sw["by_risk_class"]] == [
        ("", 10, 2),
        ("A", 20, 1),
    ]
    for q in ("", "?year=21000", "?year=2026&department=%20"):
        assert (await svc.http.get(f"/stats/draws{q}", headers=auditor)).status_code == 422
    inspector = svc.auth(Role.INSPECTOR, "SCJG")
    assert (await svc.http.get("/stats/draws?year=2026", headers=inspector)).status_code == 403
