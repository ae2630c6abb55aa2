"""Frequency windows per stratum (issue 11, defect 2), through the real draw and registry.

Earlier draws leave real tasks in the draw's database; a 2026 plan (period from 2026-03-01)
then freezes its class A, B and D strata with the windows the planner makes from each
stratum's own rules (rules/frequency.yaml: A once in 24 months, B once in 12, D twice in 12).
Which entities the registry's frozen lists still hold is the answer:

- class A checked 20 months ago: not eligible (A's window is 24 months);
- class B checked 20 or 13 months ago: eligible (B's window is 12 months; A's is not B's);
- class B checked 6 months ago: not eligible;
- class D checked once in 12 months: eligible; twice: not;
- class D whose one visit was two tasks (one merged into the other): eligible (one visit).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts import subjects
from contracts.common import Role
from contracts.planner import PlanApproved, PlanItem, PlanSubmission, ResolvedStratum
from contracts.registry import EntityFilter
from services.draw import app as draw_app
from services.kit.bus import Bus
from services.planner.domain.resolve import Resolution, frequency_exclusions
from services.registry import app as registry_app
from services.registry.domain.synthetic import entity_uscc
from tests.integration.draw.test_draw_ceremony import _until
from tests.integration.registry.helpers import entity_csv, http_import

SEED = "16180339887498948482045"
START = date(2026, 3, 1)

# name → (risk class, tags: which earlier draws select it)
ENTITIES = {
    "a-20m": ("A", "T20"),
    "a-new": ("A", ""),
    "b-20m": ("B", "T20"),
    "b-13m": ("B", "T13"),
    "b-6m": ("B", "T6"),
    "b-new": ("B", ""),
    "d-6m": ("D", "T6"),
    "d-8m-3m": ("D", "T8;T3"),
    "d-merged": ("D", "TM"),
    "d-new": ("D", ""),
}

# Earlier plans: (plan id, tag its one stratum selects, department, item, period)
EARLIER = [
    ("E-20M", "T20", "SCJG", "ITEM-1", date(2024, 6, 1), date(2024, 7, 1)),
    ("E-13M", "T13", "SCJG", "ITEM-1", date(2025, 1, 1), date(2025, 2, 1)),
    ("E-8M", "T8", "SCJG", "ITEM-1", date(2025, 6, 1), date(2025, 7, 1)),
    ("E-6M", "T6", "SCJG", "ITEM-1", date(2025, 8, 1), date(2025, 9, 1)),
    ("E-3M", "T3", "SCJG", "ITEM-1", date(2025, 11, 1), date(2025, 12, 1)),
    # one visit in two tasks: the tax visit absorbs the open SCJG task (进一次门、查多项事)
    ("E-M1", "TM", "SCJG", "ITEM-1", date(2025, 9, 1), date(2025, 10, 31)),
    ("E-M2", "TM", "SW", "ITEM-2", date(2025, 10, 1), date(2025, 10, 31)),
]

ITEMS = {
    "ITEM-1": PlanItem(code="ITEM-1", name="企业公示信息", department="SCJG", kind="general"),
    "ITEM-2": PlanItem(code="ITEM-2", name="税务登记", department="SW", kind="general"),
}

# The current plan's strata and what rules/frequency.yaml gives each class.
FREQUENCY = {"A": (1, 24), "B": (1, 12), "D": (2, 12)}


def _usccs() -> dict[str, str]:
    return {name: entity_uscc(91, "360202", i + 1) for i, name in enumerate(ENTITIES)}


def _csv(path: Path) -> Path:
    usccs = _usccs()
    return entity_csv(
        path,
        [
            {
                "uscc": usccs[name],
                "name": f"昌江{name}有限公司",
                "risk_class": cls,
                "risk_class_date": "2024-01-01",
                "tags": tags,
            }
            for name, (cls, tags) in ENTITIES.items()
        ],
    )


def _approved(
    plan_id: str, strata: list[ResolvedStratum], start: date, end: date, **kw: Any
) -> PlanApproved:
    departments = sorted({d for s in strata for d in s.departments})
    return PlanApproved(
        plan_id=plan_id,
        year=start.year,
        title=plan_id,
        departments=departments,
        lead_department=departments[0],
        rules_version="r" * 64,
        period_start=start,
        period_end=end,
        items=[ITEMS[c] for c in sorted({c for s in strata for c in s.item_codes})],
        strata=strata,
        approved_at=datetime(2024, 1, 1, tzinfo=UTC),
        **kw,
    )


def _current() -> PlanApproved:
    strata = [
        ResolvedStratum(
            stratum_id=f"2026.ITEM-1.{cls}.360202",
            item_codes=["ITEM-1"],
            departments=["SCJG"],
            risk_class=cls,
            region_code="360202",
            filter=EntityFilter(region_prefixes=["360202"], risk_classes=[cls]),
            bp=10000,
            frequency_times=times,
            frequency_months=months,
        )
        for cls, (times, months) in FREQUENCY.items()
    ]
    submitted = PlanSubmission.model_validate(
        {
            "title": "2026",
            "year": 2026,
            "departments": ["SCJG"],
            "scope": {"regions": ["360202"]},
            "period": {"start": START.isoformat(), "end": "2026-11-30"},
            "items": [{"item": "ITEM-1", "ratio": "100%"}],
        }
    )
    # The windows exactly as the planner makes them from the resolved strata.
    windows = frequency_exclusions(submitted, Resolution(strata=strata))
    return _approved("P2026-FREQ", strata, START, date(2026, 11, 30), frequency_exclusions=windows)


@pytest.mark.parametrize("via", ["inline", "object"])
async def test_each_stratum_leaves_out_whom_its_own_window_and_count_say(
    run_service: Any, nats_url: str, tmp_path: Path, via: str
) -> None:
    registry = await run_service(registry_app.spec)
    draw = await run_service(draw_app.spec)
    if via == "object":  # the province case: every exclusion list through the object store
        draw.wiring.commands.freezer.exclude_inline_max = 0
    got = await http_import(registry, "entities", _csv(tmp_path / "e.csv"))
    assert got["accepted"] == len(ENTITIES), got["rejects"]
    officer = draw.auth(Role.DRAW_OFFICER)
    bus = await Bus.connect(nats_url, name="test-frequency")

    async def start(plan: PlanApproved) -> str:
        await bus.publish_event(
            subjects.event("planner", "plan.approved"), plan, event_id=plan.plan_id
        )

        async def started() -> Any:
            r = await draw.http.post("/draws", json={"plan_id": plan.plan_id}, headers=officer)
            return r if r.status_code != 404 else None

        r = await _until(started)
        assert r.status_code == 201, r.text
        return str(r.json()["draw_id"])

    try:
        for plan_id, tag, dept, item, begin, end in EARLIER:
            stratum = ResolvedStratum(
                stratum_id=f"{plan_id}.{tag}",
                item_codes=[item],
                departments=[dept],
                filter=EntityFilter(region_prefixes=["360202"], tags_any=[tag]),
                bp=10000,
            )
            draw_id = await start(_approved(plan_id, [stratum], begin, end))
            r = await draw.http.post(
                f"/draws/{draw_id}/seed", json={"seed": SEED, "source": "dice"}, headers=officer
            )
            assert r.status_code == 200 and r.json()["state"] == "completed", r.text
        # the merged visit really is two tasks, one merged into the other
        rows = (await draw.http.get("/draws")).json()
        first = next(d["draw_id"] for d in rows if d["plan_id"] == "E-M1")
        tasks = (await draw.http.get(f"/draws/{first}/tasks")).json()
        assert [t["state"] for t in tasks] == ["merged"]

        draw_id = await start(_current())
    finally:
        await bus.close()
    commitment = (await draw.http.get(f"/draws/{draw_id}/commitment")).json()
    name_of = {u: name for name, u in _usccs().items()}
    lists = {}
    for s in commitment["strata"]:
        body = await draw.http.get(f"/draws/{draw_id}/candidates/{s['stratum_id']}.txt")
        lists[s["stratum_id"].split(".")[2]] = {name_of[u] for u in body.text.split()}
    assert lists == {
        "A": {"a-new"},
        "B": {"b-20m", "b-13m", "b-new"},
        "D": {"d-6m", "d-merged", "d-new"},
    }
