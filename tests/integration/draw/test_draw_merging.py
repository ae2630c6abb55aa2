"""Visits merge across plans (进一次门、查多项事), joint teams, frequency exclusions — for real."""

from __future__ import annotations

import functools
import hashlib
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts import subjects
from contracts.common import Role
from contracts.planner import FrequencyExclusion, PlanApproved, PlanItem, ResolvedStratum
from contracts.registry import EntityFilter, InspectorRecord
from services.draw import app as draw_app
from services.kit.bus import Bus
from tests.integration.draw.standin import RegistryStandIn
from tests.integration.draw.test_draw_ceremony import _entities, _until

SEED = "27182818284590452353602"


def _stratum(plan_id: str, region: str, dept: str, item: str, bp: int) -> ResolvedStratum:
    return ResolvedStratum(
        stratum_id=f"2026.{plan_id}.{region}",
        item_codes=[item],
        departments=[dept],
        filter=EntityFilter(region_prefixes=[region]),
        bp=bp,
    )


def _plan(
    plan_id: str,
    dept: str,
    item: str,
    bp: int,
    *,
    regions: tuple[str, ...] = ("360203",),
    **kw: Any,
) -> PlanApproved:
    return PlanApproved(
        plan_id=plan_id,
        year=2026,
        title=plan_id,
        departments=[dept],
        lead_department=dept,
        rules_version="r" * 64,
        period_start=date(2026, 7, 1),
        period_end=date(2026, 9, 30),
        items=[PlanItem(code=item, name=item, department=dept, kind="general", expertise=[item])],
        strata=[_stratum(plan_id, r, dept, item, bp) for r in regions],
        approved_at=datetime(2026, 6, 1, tzinfo=UTC),
        **kw,
    )


def _roster() -> list[InspectorRecord]:
    out = []
    for dept, item in (("SCJG", "SCJG-001"), ("SW", "SW-001")):
        for i in range(3):
            out.append(
                InspectorRecord(
                    inspector_id=f"{dept}-{i}",
                    name=f"{dept}{i}",
                    department=dept,
                    region_codes=["360203"],
                    certificate_no="c",
                    certificate_expiry=date(2030, 1, 1),
                    expertise=[item],
                    capacity=100,
                )
            )
    return out


@pytest.mark.parametrize("via", ["inline", "object"])
async def test_visits_merge_and_frequency_excludes(
    run_service: Any, nats_url: str, via: str
) -> None:
    svc = await run_service(draw_app.spec)
    if via == "object":  # the province case, made small: every exclusion list is "large"
        svc.wiring.commands.freezer.exclude_inline_max = 2
    officer = svc.auth(Role.DRAW_OFFICER)
    registry = RegistryStandIn(_entities(), _roster())
    await registry.start(nats_url)
    bus = await Bus.connect(nats_url, name="test-merge")
    try:
        plans = [
            _plan("P-SCJG", "SCJG", "SCJG-001", 1000),
            _plan("P-SW", "SW", "SW-001", 10000),
            _plan(
                "P-SCJG-2",
                "SCJG",
                "SCJG-001",
                10000,
                regions=("360203", "360202"),
                frequency_exclusions=[
                    FrequencyExclusion(
                        item_codes=["SCJG-001"], departments=["SCJG"], since=date(2026, 1, 1)
                    )
                ],
            ),
        ]
        for p in plans:
            await bus.publish_event(
                subjects.event("planner", "plan.approved"), p, event_id=p.plan_id
            )

        async def start(plan_id: str) -> Any:
            r = await svc.http.post("/draws", json={"plan_id": plan_id}, headers=officer)
            return r if r.status_code != 404 else None

        draws = {}
        for p in plans[:2]:
            r = await _until(functools.partial(start, p.plan_id))
            assert r.status_code == 201, r.text
            draw_id = r.json()["draw_id"]
            r = await svc.http.post(
                f"/draws/{draw_id}/seed", json={"seed": SEED, "source": "dice"}, headers=officer
            )
            assert r.status_code == 200, r.text
            draws[p.plan_id] = draw_id

        first = (await svc.http.get(f"/draws/{draws['P-SCJG']}/tasks")).json()
        second = (await svc.http.get(f"/draws/{draws['P-SW']}/tasks")).json()
        assert len(first) == 6 and len(second) == 60
        # The six SCJG visits were absorbed by the SW draw's tasks for the same entities.
        assert {x["state"] for x in first} == {"merged"}
        by_uscc = {x["task"]["uscc"]: x for x in second}
        for x in first:
            absorbing = by_uscc[x["task"]["uscc"]]
            assert x["merged_into"] == absorbing["task"]["task_id"]
            task = absorbing["task"]
            assert task["joint"] and task["departments"] == ["SCJG", "SW"]
            assert {i["code"] for i in task["items"]} == {"SCJG-001", "SW-001"}
            assert {m["department"] for m in task["team"]} == {"SCJG", "SW"}
        assert sum(1 for x in second if x["task"]["joint"]) == 6

        # The SCJG entities drawn this year leave the base of the next SCJG plan.
        drawn = sorted(x["task"]["uscc"] for x in first)
        if via == "object":
            # A registry that ignores `exclude_object` is caught: nothing is committed.
            registry.honour_exclude_object = False
            r = await _until(lambda: start("P-SCJG-2"))
            assert r.status_code == 409, r.text
            assert r.json()["error"]["code"] == "exclusions_ignored"
            registry.honour_exclude_object = True
        r = await _until(lambda: start("P-SCJG-2"))
        assert r.status_code == 201, r.text
        draw_id = r.json()["draw_id"]
        commit = (await svc.http.get(f"/draws/{draw_id}/commitment")).json()
        n = {s["stratum_id"]: s["n"] for s in commit["strata"]}
        assert n == {"2026.P-SCJG-2.360203": 60 - 6, "2026.P-SCJG-2.360202": 120}
        sent = {s.stratum_id: s for s in registry.requests[-1].strata}
        assert len(sent) == 2
        if via == "inline":
            assert all(s.exclude_usccs == drawn and s.exclude_object is None for s in sent.values())
        else:
            # Both strata exclude the same list: one object, named by its hash, shared.
            names = {s.exclude_object for s in sent.values()}
            assert all(s.exclude_usccs == [] for s in sent.values()) and len(names) == 1
            [name] = names
            body = "".join(u + "\n" for u in drawn).encode()
            assert name == f"exclusions/{draw_id}/{hashlib.sha256(body).hexdigest()}.txt"
            bucket = await bus.object_store(subjects.SNAPSHOTS_BUCKET)
            assert (await bucket.get(name)).data == body
    finally:
        await bus.close()
        await registry.stop()
