"""The draw ceremony end to end on real NATS and PostgreSQL.

plan.approved → start (registry freezes; commitment published) → seed → selection, tasks,
teams → draw.completed + task.assigned; public record verified by tools/verify_draw.py;
refusals (seed before commitment, second seed, redraw without reason); redraw; parties' seed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from stdnum.cn import uscc as uscc_check

from contracts import subjects
from contracts.common import Role
from contracts.planner import PlanApproved, PlanItem, ResolvedStratum
from contracts.registry import EntityFilter, EntityRecord, InspectorRecord
from services.draw import app as draw_app
from services.draw.domain import spec
from services.kit.auth import issue_token, load_or_create_key
from services.kit.bus import Bus, Incoming
from spotcheck.embedded import free_port
from tests.integration.draw.standin import RegistryStandIn
from tests.unit.draw.conftest import ROOT, load_verifier

PLAN_ID = "P2026-SCJG-01"
SEED = "31415926535897932384626"


def _uscc(region: str, n: int) -> str:
    base = f"91{region}MA{n:07d}"
    return base + uscc_check.calc_check_digit(base)


def _entities() -> list[EntityRecord]:
    out = []
    for i in range(120):
        out.append(
            EntityRecord(
                uscc=_uscc("360202", i),
                name=f"昌江企业{i}",
                entity_type="company",
                region_code="360202",
                industry_code="F5211",
                risk_class="AB"[i % 2],
            )
        )
    for i in range(60):
        out.append(
            EntityRecord(
                uscc=_uscc("360203", i),
                name=f"珠山企业{i}",
                entity_type="company",
                region_code="360203",
                industry_code="H6210",
                risk_class="C",
            )
        )
    return out


def _inspectors() -> list[InspectorRecord]:
    people = []
    for i in range(6):
        people.append(
            InspectorRecord(
                inspector_id=f"CJ-{i:02d}",
                name=f"检查员{i}",
                department="SCJG",
                region_codes=["360202"],
                certificate_no=f"C{i}",
                certificate_expiry=date(2030, 1, 1),
                expertise=["general"],
                capacity=40,
            )
        )
    people.append(
        InspectorRecord(
            inspector_id="CJ-OLD",
            name="退休",
            department="SCJG",
            region_codes=["360202"],
            certificate_no="CX",
            certificate_expiry=date(2030, 1, 1),
            expertise=["general"],
            status="retired",
        )
    )
    people.append(
        InspectorRecord(
            inspector_id="CJ-EXP",
            name="过期",
            department="SCJG",
            region_codes=["360202"],
            certificate_no="CE",
            certificate_expiry=date(2026, 8, 1),
            expertise=["general"],
        )
    )
    # Only one inspector serves 360203: those tasks cannot be staffed (region).
    people.append(
        InspectorRecord(
            inspector_id="ZS-01",
            name="珠山",
            department="SCJG",
            region_codes=["360203"],
            certificate_no="CZ",
            certificate_expiry=date(2030, 1, 1),
            expertise=["general"],
        )
    )
    return people


def _plan() -> PlanApproved:
    def stratum(sid: str, region: str, classes: list[str], **kw: Any) -> ResolvedStratum:
        return ResolvedStratum(
            stratum_id=sid,
            item_codes=["ITEM-001"],
            departments=["SCJG"],
            filter=EntityFilter(region_prefixes=[region], risk_classes=classes),
            **kw,
        )

    return PlanApproved(
        plan_id=PLAN_ID,
        year=2026,
        title="2026 市场监管 双随机",
        departments=["SCJG"],
        lead_department="SCJG",
        rules_version="r" * 64,
        period_start=date(2026, 7, 1),
        period_end=date(2026, 9, 30),
        batches=2,
        items=[
            PlanItem(
                code="ITEM-001",
                name="营业执照公示",
                department="SCJG",
                kind="general",
                expertise=["general"],
            )
        ],
        strata=[
            stratum("2026.SCJG-01.A.360202", "360202", ["A"], bp=1000),
            stratum("2026.SCJG-01.B.360202", "360202", ["B"], bp=2000),
            # A planned count of 5, bound by a 5% cap on n = 60: ceil(60 * 5%) = 3.
            stratum("2026.SCJG-01.C.360203", "360203", ["C"], count=5, count_cap_bp=500),
        ],
        approved_at=datetime(2026, 6, 1, tzinfo=UTC),
    )


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    b = await Bus.connect(nats_url, name="test-draw")
    yield b
    await b.close()


async def _events(bus: Bus) -> list[Incoming]:
    got: list[Incoming] = []

    async def keep(msg: Incoming) -> None:
        got.append(msg)

    await bus.ensure_stream("DRAW", subjects.stream_subjects("draw"))
    bus.consume(stream="DRAW", durable="test-all", subjects=["spotcheck.v1.draw.>"], handler=keep)
    return got


def officer_as(svc: Any, sub: str) -> dict[str, str]:
    """Headers of a draw officer with their own name (the redraw needs two different ones)."""
    key = load_or_create_key(svc.ctx.settings.key_file())
    return {"Authorization": "Bearer " + issue_token(key, role=Role.DRAW_OFFICER, sub=sub)}


async def _until(check: Callable[[], Any], seconds: float = 20) -> Any:
    for _ in range(int(seconds * 10)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def test_full_ceremony(run_service: Any, nats_url: str, bus: Bus, tmp_path: Path) -> None:
    svc = await run_service(draw_app.spec)
    officer = svc.auth(Role.DRAW_OFFICER)
    events = await _events(bus)
    await bus.publish_event(subjects.event("planner", "plan.approved"), _plan(), event_id="plan-1")

    # No registry answers: the draw stays in freezing, a seed is refused.
    async def plan_known() -> Any:
        r = await svc.http.post("/draws", json={"plan_id": PLAN_ID}, headers=officer)
        return r if r.status_code != 404 else None

    r = await _until(plan_known)
    assert r.status_code == 503, r.text
    [draft] = (await svc.http.get("/draws")).json()
    assert draft["state"] == "freezing"
    r = await svc.http.post(
        f"/draws/{draft['draw_id']}/seed", json={"seed": SEED, "source": "dice"}, headers=officer
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "seed_before_commitment"

    registry = RegistryStandIn(_entities(), _inspectors())
    await registry.start(nats_url)
    try:
        r = await svc.http.post("/draws", json={"plan_id": PLAN_ID}, headers=officer)
        assert r.status_code == 201, r.text
        status = r.json()
        draw_id = status["draw_id"]
        assert draw_id == draft["draw_id"] and status["state"] == "committed"
        assert (
            await svc.http.post("/draws", json={"plan_id": PLAN_ID}, headers=officer)
        ).status_code == 409

        # The commitment is re-derivable from the public lists before any seed exists.
        commit = (await svc.http.get(f"/draws/{draw_id}/commitment")).json()
        lines = []
        for s in commit["strata"]:
            body = (
                await svc.http.get(f"/draws/{draw_id}/candidates/{s['stratum_id']}.txt")
            ).content
            assert hashlib.sha256(body).hexdigest() == s["candidates_sha256"]
            lines.append(
                spec.CommittedStratum(s["stratum_id"], s["n"], s["k"], s["candidates_sha256"])
            )
            (tmp_path / f"{s['stratum_id']}.txt").write_bytes(body)
        assert spec.commitment_sha256(lines) == commit["commitment_sha256"]
        # ceil(60*10%), ceil(60*20%), min(5, ceil(60*5%))
        assert [s["k"] for s in commit["strata"]] == [6, 12, 3]
        assert (await svc.http.get(f"/draws/{draw_id}/record")).status_code == 409

        # Seeds: refused without authority, too short; then accepted once.
        bad = await svc.http.post(f"/draws/{draw_id}/seed", json={"seed": SEED, "source": "dice"})
        assert bad.status_code == 401
        short = await svc.http.post(
            f"/draws/{draw_id}/seed",
            json={"seed": "1234567890123456789", "source": "dice"},
            headers=officer,
        )
        assert short.status_code == 422
        r = await svc.http.post(
            f"/draws/{draw_id}/seed",
            json={"seed": f"  {SEED}\n", "source": "dice"},
            headers=officer,
        )
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["state"] == "completed" and done["tasks"] == 21
        assert done["seed_entered_by"] == "test-draw_officer"
        again = await svc.http.post(
            f"/draws/{draw_id}/seed", json={"seed": "9" * 20, "source": "dice"}, headers=officer
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "seed_already_given"

        # The public record re-derives with the stand-alone tool and through the service.
        record = (await svc.http.get(f"/draws/{draw_id}/record")).json()
        assert record["spec"] == "spotcheck-draw/1" and record["seed"] == SEED
        verifier = load_verifier()
        assert verifier.verify(record, [str(tmp_path)]).startswith(f"OK {draw_id} 3 strata, 21")
        assert (await svc.http.get(f"/draws/{draw_id}/verify")).json()["ok"] is True
        (tmp_path / "record.json").write_text(json.dumps(record), "utf-8")

        # A company checks its own ticket.
        first = record["strata"][0]
        chosen = first["selected"][0]
        t = (await svc.http.get(f"/draws/{draw_id}/tickets/{chosen}")).json()
        [mine] = t["strata"]
        assert mine["selected"] and mine["ticket"] == spec.ticket(SEED, first["stratum_id"], chosen)
        assert mine["ticket"] <= mine["cutoff_ticket"]
        prefix = (await svc.http.get(f"/draws/{draw_id}/tickets/{chosen[:-1]}")).json()
        assert prefix["strata"] == []  # whole lines only

        # Tasks: 360202 staffed by two eligible inspectors, 360203 unstaffed (region).
        rows = (await svc.http.get(f"/draws/{draw_id}/tasks")).json()
        assert len(rows) == 21
        staffed = [x["task"] for x in rows if x["state"] == "assigned"]
        unstaffed = [x["task"] for x in rows if x["state"] == "unstaffed"]
        assert len(staffed) == 18 and len(unstaffed) == 3
        assert all(x["unstaffed_reason"].startswith("region:") for x in unstaffed)
        counts: dict[str, int] = {}
        for task in staffed:
            ids = [m["inspector_id"] for m in task["team"]]
            assert len(ids) == 2 and not {"CJ-OLD", "CJ-EXP", "ZS-01"} & set(ids)
            for i in ids:
                counts[i] = counts.get(i, 0) + 1
        assert sorted(counts.values()) == [6, 6, 6, 6, 6, 6]
        assert {x["batch"] for x in staffed} == {1, 2}

        # Events: committed, seeded, completed and one task.assigned per task.
        def kinds() -> list[str]:
            return [m.event_type for m in events]

        await _until(lambda: _ready(len([k for k in kinds() if k.endswith("task.assigned")]) == 21))
        assert kinds().count("spotcheck.v1.draw.committed") == 1
        # Each task carries its entity's industry and risk class as the registry holds them
        # (the publisher's statistics count by them), in its event as in its stored body.
        known = {e.uscc: (e.industry_code, e.risk_class) for e in _entities()}
        assigned = [json.loads(m.data) for m in events if m.event_type.endswith("task.assigned")]
        assert {(a["industry_code"], a["risk_class"]) for a in assigned} == {
            ("F5211", "A"),
            ("F5211", "B"),
            ("H6210", "C"),
        }
        for a in assigned:
            assert (a["industry_code"], a["risk_class"]) == known[a["uscc"]]
        assert {x["task"]["task_id"]: x["task"]["risk_class"] for x in rows} == {
            a["task_id"]: a["risk_class"] for a in assigned
        }
        completed = next(m for m in events if m.event_type == "spotcheck.v1.draw.completed")
        assert json.loads(completed.data)["record"] == record

        # Redraw: refused without a reason; asked by one officer and confirmed by another,
        # the first draw stays, superseded.
        no = await svc.http.post(f"/draws/{draw_id}/redraw", json={"reason": " "}, headers=officer)
        assert no.status_code == 422
        r = await svc.http.post(
            f"/draws/{draw_id}/redraw", json={"reason": "名录库导入错误，重新抽取"}, headers=officer
        )
        assert r.status_code == 202, r.text
        assert r.json()["redraw_pending"]["requested_by"] == "test-draw_officer"
        r = await svc.http.post(
            f"/draws/{draw_id}/redraw/confirm", headers=officer_as(svc, "officer.wang")
        )
        assert r.status_code == 201, r.text
        second = r.json()["draw_id"]
        assert r.json()["supersedes"] == draw_id and r.json()["state"] == "committed"
        old = (await svc.http.get(f"/draws/{draw_id}")).json()
        assert old["state"] == "superseded" and old["superseded_by"] == second
        assert (await svc.http.get(f"/draws/{draw_id}/record")).json()["seed"] == SEED
        states = {d["draw_id"]: d["state"] for d in (await svc.http.get("/draws")).json()}
        assert states == {draw_id: "superseded", second: "committed"}

        # The second draw takes a parties' commit-reveal seed.
        secrets = {"notary": "notary-secret-2026-11-24", "officer": "officer-secret-xyzw-0001"}
        for pid, sec in secrets.items():
            r = await svc.http.post(
                f"/draws/{second}/parties",
                json={
                    "party_id": pid,
                    "commitment_sha256": hashlib.sha256(sec.encode()).hexdigest(),
                },
                headers=officer,
            )
            assert r.status_code == 201, r.text
        for pid, sec in secrets.items():
            r = await svc.http.post(
                f"/draws/{second}/parties/{pid}/reveal", json={"secret": sec}, headers=officer
            )
            assert r.status_code == 200, r.text
        assert r.json()["state"] == "completed" and r.json()["seed_source"] == "parties"
        rec2 = (await svc.http.get(f"/draws/{second}/record")).json()
        assert rec2["supersedes"] == draw_id and len(rec2["seed_parties"]) == 2
        assert verifier.verify(rec2, [str(tmp_path)]).startswith("OK")
        # The superseded draw's tasks no longer count: the second draw balances afresh.
        rows2 = (await svc.http.get(f"/draws/{second}/tasks")).json()
        assert sum(1 for x in rows2 if x["state"] == "assigned") == 18
        assert {x["state"] for x in (await svc.http.get(f"/draws/{draw_id}/tasks")).json()} == {
            "superseded"
        }

        # The command line and the stand-alone tool against the service over real HTTP.
        await _cli_and_tool_over_http(svc, draw_id, second, tmp_path)
    finally:
        await registry.stop()


async def _ready(value: bool) -> bool:
    return value


async def _run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def _cli_and_tool_over_http(svc: Any, first: str, second: str, tmp_path: Path) -> None:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(svc.ctx.app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        await _until(lambda: _ready(server.started))
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "SPOTCHECK_DRAW_URL": base, "SPOTCHECK_VAR_DIR": str(tmp_path / "var")}
        cli = [sys.executable, "-m", "spotcheck", "draw"]
        code, out, _ = await _run(*cli, "list", "--json", env=env)
        assert code == 0
        assert sorted(json.loads(out), key=lambda d: d["draw_id"]) == sorted(
            [
                {"draw_id": first, "plan_id": PLAN_ID, "state": "superseded"},
                {"draw_id": second, "plan_id": PLAN_ID, "state": "completed"},
            ],
            key=lambda d: d["draw_id"],
        )
        code, out, _ = await _run(*cli, "show", second, "--json", env=env)
        assert code == 0 and json.loads(out)["draw_id"] == second
        (tmp_path / "second.json").write_text(out, "utf-8")
        lists = tmp_path / "lists"
        code, out, err = await _run(*cli, "candidates", second, "--out", str(lists), env=env)
        assert code == 0, err
        assert sorted(p.name for p in lists.iterdir()) == [
            "2026.SCJG-01.A.360202.txt",
            "2026.SCJG-01.B.360202.txt",
            "2026.SCJG-01.C.360203.txt",
        ]
        code, out, _ = await _run(*cli, "verify", second, env=env)
        assert code == 0 and out.startswith("OK")
        code, out, err = await _run(*cli, "seed", second, "--seed", "1" * 20, env=env)
        assert code == 1 and "already has its seed" in err
        tool = [sys.executable, str(ROOT / "tools" / "verify_draw.py")]
        code, out, _ = await _run(*tool, str(tmp_path / "second.json"), str(lists), env=env)
        assert code == 0 and out.startswith(f"OK {second}")
        code, out, _ = await _run(
            *tool, f"{base}/draws/{first}/record", f"{base}/draws/{first}/candidates/", env=env
        )
        assert code == 0 and out.startswith(f"OK {first}"), out
    finally:
        server.should_exit = True
        await task
