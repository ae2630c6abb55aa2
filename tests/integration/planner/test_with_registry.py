"""The planner with the real registry on the same NATS and database: the stats requests the
planner sends at submission are ones the registry answers, and n counts the entities each
stratum's filter selects (active, of the item's entity types, and not under the key
supervision of the item's own list: an entity under another list's key supervision counts)."""

from __future__ import annotations

import csv
import io
from fractions import Fraction
from math import ceil
from typing import Any

from contracts.common import Role
from services.planner.app import spec as planner_spec
from services.registry.app import spec as registry_spec
from services.registry.domain.rows import ENTITY_FIELDS
from services.registry.domain.synthetic import entity_uscc

from .support import ROOT

# (entity type, region, risk class, status, key supervision, how many)
POPULATION = [
    ("企业", "360202", "B", "存续", "", 5),
    ("企业", "360202", "C", "存续", "", 3),
    ("个体工商户", "360202", "B", "存续", "", 4),
    # under key supervision for special equipment: out of SCJG-009's draw only
    ("企业", "360202", "D", "存续", "特种设备", 1),
    ("企业", "360202", "B", "注销", "", 1),  # deregistered
    ("企业", "360203", "B", "存续", "", 2),
    ("企业", "360203", "A", "存续", "", 1),
]


def entities_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ENTITY_FIELDS)
    serial = 0
    for kind, region, cls, status, key, count in POPULATION:
        for _ in range(count):
            serial += 1
            code = 91 if kind == "企业" else 92
            row = {
                "uscc": entity_uscc(code, region, serial),
                "name": f"测试主体{serial}",
                "entity_type": kind,
                "region_code": region,
                "industry_code": "3074",
                "status": status,
                "abnormal": "否",
                "risk_class": cls,
                "risk_class_date": "2025-03-01",
                "tags": "",
                "key_supervision": key,
                "address": f"测试路{serial}号",
                "established": "2015-01-01",
            }
            writer.writerow([row[f] for f in ENTITY_FIELDS])
    return out.getvalue()


async def import_entities(registry: Any) -> None:
    auth = registry.auth(Role.REGISTRY_OWNER)
    r = await registry.http.post(
        "/imports", json={"kind": "entities", "source": "tiny.csv"}, headers=auth
    )
    assert r.status_code == 201, r.text
    import_id = r.json()["import_id"]
    r = await registry.http.post(
        f"/imports/{import_id}/chunks/0",
        params={"first_line": 2, "format": "csv"},
        content=entities_csv().encode("utf-8"),
        headers=auth,
    )
    assert r.status_code == 200 and r.json()["rejected"] == 0, r.text
    r = await registry.http.post(f"/imports/{import_id}/commit", headers=auth)
    assert r.status_code == 200 and r.json()["accepted"] == 17, r.text


def expected_n(item: str, cls: str, region: str) -> int:
    """Entities a stratum selects, counted from POPULATION (SCJG-001 applies to 企业 only)."""
    return sum(
        count
        for kind, reg, c, status, key, count in POPULATION
        if reg == region
        and c == cls
        and status == "存续"
        and not (key == "特种设备" and item == "SCJG-009")
        and (item != "SCJG-001" or kind == "企业")
    )


async def test_a_plan_is_sized_by_the_real_registry(run_service: Any) -> None:
    registry = await run_service(registry_spec)
    await import_entities(registry)
    planner = await run_service(planner_spec, rules_dir=ROOT / "rules")
    body = {
        "plan_id": "P-REG",
        "title": "2026年度抽查计划（登记库）",
        "year": 2026,
        "departments": ["SCJG", "SW"],
        "lead_department": "SCJG",
        "scope": {"regions": ["360202", "360203"]},
        "period": {"start": "2026-04-01", "end": "2026-11-30"},
        "items": [{"item": "SCJG-001", "ratio": "3%"}, {"item": "SW-001", "ratio": "2%"}],
        "filed_on": "2026-02-20",
        "entered_on": "2026-03-15",
    }
    r = await planner.http.post("/plans", json=body, headers=planner.auth(Role.PLANNER, "SCJG"))
    assert r.status_code == 201, r.text
    shown = await planner.http.get("/plans/P-REG", headers=planner.auth(Role.PLANNER, "SW"))
    strata = shown.json()["approved"]["strata"]
    assert len(strata) == 16
    got = {s["stratum_id"]: (s["n_estimate"], s["k_estimate"]) for s in strata}
    want = {}
    for s in strata:
        n = expected_n(s["item_codes"][0], s["risk_class"], s["region_code"])
        want[s["stratum_id"]] = (n, min(n, ceil(Fraction(n * s["bp"], 10000))))
    assert got == want
    # Not all zero: the registry's counts arrived (B class of 360202: 5 企业 + 4 个体工商户).
    assert got["2026.SCJG-001.B.360202"] == (5, 1)
    assert got["2026.SW-001.B.360202"] == (9, 1)
    # The special-equipment entity is in the base of the tax and annual-report checks.
    assert got["2026.SW-001.D.360202"] == (1, 1)
    assert got["2026.SCJG-001.D.360202"] == (1, 1)
