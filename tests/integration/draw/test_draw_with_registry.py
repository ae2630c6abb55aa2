"""The draw against the REAL registry service: import the two directories, freeze, draw, staff.

Same data as the ceremony test, imported through the registry's HTTP import; the draw asks the
registry's own `rpc.freeze`, `rpc.entities` and `rpc.inspectors` over NATS.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from contracts import subjects
from contracts.common import Role
from contracts.planner import FrequencyExclusion
from services.draw import app as draw_app
from services.kit.bus import Bus
from services.registry import app as registry_app
from services.registry.domain.rows import ENTITY_FIELDS, INSPECTOR_FIELDS
from tests.integration.draw.test_draw_ceremony import (
    PLAN_ID,
    SEED,
    _entities,
    _inspectors,
    _plan,
    _until,
)
from tests.integration.registry.helpers import http_import
from tests.unit.draw.conftest import load_verifier


def _write(path: Path, fields: tuple[str, ...], rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(fields)
        for r in rows:
            out = []
            for name in fields:
                v = r.get(name)
                if isinstance(v, list):
                    v = ";".join(v)
                elif isinstance(v, bool):
                    v = "1" if v else "0"
                out.append("" if v is None else str(v))
            w.writerow(out)
    return path


async def test_draw_with_the_real_registry(run_service: Any, nats_url: str, tmp_path: Path) -> None:
    registry = await run_service(registry_app.spec)
    draw = await run_service(draw_app.spec)
    entities = [
        e.model_dump(mode="json") | {"entity_type": "企业", "risk_class_date": "2026-01-01"}
        for e in _entities()
    ]
    # The registry's expertise vocabulary is the catalogue's (Chinese): "广告" stands for the
    # ceremony test's "general".
    people = [p.model_dump(mode="json") | {"expertise": ["广告"]} for p in _inspectors()]
    got = await http_import(
        registry, "entities", _write(tmp_path / "e.csv", ENTITY_FIELDS, entities)
    )
    assert got["accepted"] == 180, got
    got = await http_import(
        registry, "inspectors", _write(tmp_path / "i.csv", INSPECTOR_FIELDS, people)
    )
    assert got["accepted"] == len(people), got["rejects"][:2]

    bus = await Bus.connect(nats_url, name="test-draw-registry")
    try:
        plan = _plan()
        items = [i.model_copy(update={"expertise": ["广告"]}) for i in plan.items]
        plan = plan.model_copy(update={"items": items})
        await bus.publish_event(subjects.event("planner", "plan.approved"), plan, event_id="p")
    finally:
        await bus.close()
    officer = draw.auth(Role.DRAW_OFFICER)

    async def start() -> Any:
        r = await draw.http.post("/draws", json={"plan_id": PLAN_ID}, headers=officer)
        return r if r.status_code != 404 else None

    r = await _until(start)
    assert r.status_code == 201, r.text
    draw_id = r.json()["draw_id"]
    commit = (await draw.http.get(f"/draws/{draw_id}/commitment")).json()
    assert [s["n"] for s in commit["strata"]] == [60, 60, 60]
    r = await draw.http.post(
        f"/draws/{draw_id}/seed", json={"seed": SEED, "source": "dice"}, headers=officer
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "completed" and r.json()["tasks"] == 21
    assert r.json()["unstaffed"] == 3  # 360203 has one inspector: a team needs two
    rows = (await draw.http.get(f"/draws/{draw_id}/tasks")).json()
    names = {x["task"]["entity_name"] for x in rows}
    assert all(n.startswith(("昌江企业", "珠山企业")) for n in names)
    # The draw's lists are the registry's snapshot, byte for byte; the record verifies.
    snapshot = commit["snapshot_id"]
    lists = tmp_path / "lists"
    lists.mkdir()
    for s in commit["strata"]:
        mine = (await draw.http.get(f"/draws/{draw_id}/candidates/{s['stratum_id']}.txt")).content
        theirs = await registry.http.get(f"/snapshots/{snapshot}/strata/{s['stratum_id']}.txt")
        assert theirs.status_code == 200 and theirs.content == mine
        (lists / f"{s['stratum_id']}.txt").write_bytes(mine)
    record = (await draw.http.get(f"/draws/{draw_id}/record")).json()
    assert load_verifier().verify(record, [str(lists)]).startswith(f"OK {draw_id}")

    # A second plan excludes this year's 21 entities (frequency rule). Forced through the
    # object store (the province case): the registry reads `exclude_object` and leaves them out
    # of every stratum, else the draw would refuse to commit (409 exclusions_ignored).
    draw.wiring.commands.freezer.exclude_inline_max = 0
    second = plan.model_copy(
        update={
            "plan_id": "P2026-SCJG-02",
            "frequency_exclusions": [
                FrequencyExclusion(
                    item_codes=["ITEM-001"], departments=["SCJG"], since=date(2026, 1, 1)
                )
            ],
        }
    )
    bus = await Bus.connect(nats_url, name="test-draw-registry-2")
    try:
        await bus.publish_event(subjects.event("planner", "plan.approved"), second, event_id="p2")
    finally:
        await bus.close()

    async def start_second() -> Any:
        r = await draw.http.post("/draws", json={"plan_id": second.plan_id}, headers=officer)
        return r if r.status_code != 404 else None

    r = await _until(start_second)
    assert r.status_code == 201, r.text
    commit2 = (await draw.http.get(f"/draws/{r.json()['draw_id']}/commitment")).json()
    assert [s["n"] for s in commit2["strata"]] == [60 - 6, 60 - 12, 60 - 3]
    drawn = {x["task"]["uscc"] for x in rows}
    for s in commit2["strata"]:
        body = await draw.http.get(f"/draws/{r.json()['draw_id']}/candidates/{s['stratum_id']}.txt")
        assert not drawn & set(body.text.split())
