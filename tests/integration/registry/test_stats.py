"""The registry's figures for the leaders' page (`GET /stats/entities`): entities in business
per risk class and region — what coverage is a share of — the same counts as `rpc.stats`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contracts.common import Role
from services.registry.app import spec
from services.registry.domain.synthetic import entity_uscc

from .helpers import entity_csv, http_import

# (region, risk class, status) of each entity; 注销 is out of business and not counted.
ROWS = [
    ("360202", "A", "存续"),
    ("360202", "B", "存续"),
    ("360202", "B", "在业"),
    ("360222", "B", "存续"),
    ("360222", "", "存续"),
    ("360202", "A", "注销"),
]


async def test_entities_per_risk_class_and_region(run_service: Any, tmp_path: Path) -> None:
    svc = await run_service(spec)
    rows = [
        {
            "uscc": entity_uscc(91, region, i + 1),
            "name": f"景德镇统计{i}有限公司",
            "region_code": region,
            "risk_class": risk,
            "risk_class_date": "2025-03-01" if risk else "",
            "status": status,
        }
        for i, (region, risk, status) in enumerate(ROWS)
    ]
    got = await http_import(svc, "entities", entity_csv(tmp_path / "e.csv", rows))
    assert got["accepted"] == len(ROWS), got["rejects"]

    auditor = svc.auth(Role.AUDITOR)
    body = (await svc.http.get("/stats/entities", headers=auditor)).json()
    assert body["total"] == 5
    groups = {(g["key"]["risk_class"], g["key"]["region"]): g["count"] for g in body["groups"]}
    assert groups == {("A", "360202"): 1, ("B", "360202"): 2, ("B", "360222"): 1, ("", "360222"): 1}
    one = (await svc.http.get("/stats/entities?region=360222", headers=auditor)).json()
    assert one["total"] == 2
    for q in ("?region=3602", "?region=36020a"):
        assert (await svc.http.get(f"/stats/entities{q}", headers=auditor)).status_code == 422
    owner = svc.auth(Role.REGISTRY_OWNER)
    assert (await svc.http.get("/stats/entities", headers=owner)).status_code == 403
