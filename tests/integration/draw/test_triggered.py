"""Triggered inspections (触发检查) on real NATS and PostgreSQL, with the real planner answering
which items its active catalogue has: refused without a trigger, with an item outside the
catalogue, or with the opener as approver; opened with the seed's commitment published and
audited; approved only by the named second officer, staffed by the draw's rules with a team
anyone re-derives; published as `task.assigned` (kind triggered) and taken by the publisher;
and `spotcheck triggered` does the same over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn

from contracts.common import Role
from contracts.registry import EntityRecord, InspectorRecord
from services.draw import app as draw_app
from services.draw import store
from services.draw.domain.triggered import rederive_team
from services.planner.app import spec as planner_spec
from services.publisher.app import spec as publisher_spec
from services.publisher.settings import PublisherSettings
from spotcheck.embedded import free_port
from tests.integration.draw.standin import RegistryStandIn
from tests.integration.draw.test_draw_ceremony import _events, _ready, _run, _until, officer_as
from tests.integration.planner.support import ROOT

USCC = "91360202MA35T00010"
CLOSED = "91360202MA35T00020"


def _entities() -> list[EntityRecord]:
    common = {"entity_type": "企业", "region_code": "360202", "industry_code": "H6210"}
    return [
        EntityRecord(uscc=USCC, name="昌江某某饭店", risk_class="A", **common),
        EntityRecord(uscc=CLOSED, name="已注销商行", status="注销", **common),
    ]


def _inspectors() -> list[InspectorRecord]:
    # SCJG-001 needs 登记注册 (rules/items-scjg.yaml); CJ-09 lacks it.
    return [
        InspectorRecord(
            inspector_id=f"CJ-{i:02d}",
            name=f"检查员{i}",
            department="SCJG",
            region_codes=["360202"],
            certificate_no=f"C{i}",
            certificate_expiry=date(2030, 1, 1),
            expertise=["登记注册"] if i != 9 else [],
        )
        for i in range(10)
    ]


def _body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uscc": USCC,
        "trigger": "complaint",
        "evidence_ref": "12315-2026-000123",
        "items": ["SCJG-001"],
        "department": "SCJG",
        "period_start": "2026-07-01",
        "period_end": "2026-07-31",
        "approver": "officer.wang",
    }
    body.update(over)
    return body


async def test_a_triggered_task_needs_its_rules_and_two_officers_and_is_published(
    run_service: Any, nats_url: str, tmp_path: Path
) -> None:
    draw = await run_service(draw_app.spec)
    await run_service(planner_spec, rules_dir=ROOT / "rules")
    pub = await run_service(lambda: publisher_spec(PublisherSettings(relay_enabled=False)))
    li, wang = officer_as(draw, "officer.li"), officer_as(draw, "officer.wang")
    zhao = officer_as(draw, "officer.zhao")
    registry = RegistryStandIn(_entities(), _inspectors())
    await registry.start(nats_url)
    events = await _events(draw.ctx.bus)
    try:

        async def open_(headers: dict[str, str], **over: Any) -> Any:
            return await draw.http.post("/triggered", json=_body(**over), headers=headers)

        # No trigger, no check (清单之外无检查): refused naming the field.
        no_trigger = _body()
        del no_trigger["trigger"]
        r = await draw.http.post("/triggered", json=no_trigger, headers=li)
        assert r.status_code == 422, r.text
        assert any("trigger" in d["loc"] for d in r.json()["error"]["details"])
        r = await open_(li, trigger="routine")
        assert r.status_code == 422
        # An item outside the active catalogue: refused, naming it.
        r = await open_(li, items=["SCJG-001", "XX-404"])
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["code"] == "item_not_in_catalogue"
        assert err["details"][0]["loc"] == ["body", "items", 1]
        # The opener cannot approve: another officer must be named.
        r = await open_(li, approver="officer.li")
        assert r.status_code == 422 and r.json()["error"]["code"] == "second_officer_required"
        # An entity that no longer operates, and one the registry does not know.
        r = await open_(li, uscc=CLOSED)
        assert r.status_code == 422 and r.json()["error"]["code"] == "entity_not_active"
        r = await open_(li, uscc="91360202MA35T00099")
        assert r.status_code == 404 and r.json()["error"]["code"] == "entity_not_found"
        # A planner is no draw officer.
        r = await open_(draw.auth(Role.PLANNER, "SCJG"))
        assert r.status_code == 403
        assert (await draw.http.get("/triggered")).json() == []

        r = await open_(li)
        assert r.status_code == 201, r.text
        opened = r.json()
        task_id = opened["task_id"]
        assert opened["state"] == "awaiting_approval" and opened["seed"] is None
        assert opened["evidence_ref"] == "12315-2026-000123"
        assert (opened["trigger_label"], opened["risk_class"]) == ("投诉举报", "A")
        assert [i["code"] for i in opened["items"]] == ["SCJG-001"]
        public = (await draw.http.get(f"/triggered/{task_id}")).json()
        assert public["evidence_ref"] is None and public["nonce_sha256"] == opened["nonce_sha256"]

        # Only the named approver approves.
        for who, code in ((li, "approver_required"), (zhao, "approver_required")):
            r = await draw.http.post(f"/triggered/{task_id}/approve", headers=who)
            assert r.status_code == 403 and r.json()["error"]["code"] == code
        r = await draw.http.post(f"/triggered/{task_id}/approve", headers=wang)
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["state"] == "assigned" and done["approved_at"] is not None
        seed = done["seed"]
        assert hashlib.sha256(seed.encode()).hexdigest() == opened["nonce_sha256"]
        team = tuple(m["inspector_id"] for m in done["team"])
        assert len(team) == 2 and "CJ-09" not in team
        eligible = [(e["inspector_id"], e["department"]) for e in done["eligible"]]
        assert [i for i, _ in eligible] == [f"CJ-{i:02d}" for i in range(9)]
        assert rederive_team(seed, task_id, done["departments"], eligible) == team
        r = await draw.http.post(f"/triggered/{task_id}/approve", headers=wang)
        assert r.status_code == 409 and r.json()["error"]["code"] == "wrong_state"

        # Events: the opening (with the commitment), then the task, kind triggered.
        def bodies(name: str) -> list[dict[str, Any]]:
            return [json.loads(m.data) for m in events if m.subject.endswith(name)]

        await _until(lambda: _ready(bool(bodies("task.assigned"))))
        (ev_open,) = bodies("triggered.opened")
        assert ev_open["nonce_sha256"] == opened["nonce_sha256"]
        assert ev_open["evidence_ref"] == "12315-2026-000123"
        (assigned,) = bodies("task.assigned")
        assert (assigned["kind"], assigned["trigger"]) == ("triggered", "complaint")
        assert (assigned["draw_id"], assigned["plan_id"]) == ("", "")
        assert tuple(m["inspector_id"] for m in assigned["team"]) == team

        # Audited: who opened on which evidence, who approved with which seed.
        entries = {e.action: e for e in await draw.ctx.audit.entries()}
        o = entries["draw.triggered.opened"]
        assert (o.actor, o.subject) == ("officer.li", task_id)
        assert o.data["evidence_ref"] == "12315-2026-000123" and o.data["trigger"] == "complaint"
        a = entries["draw.triggered.approved"]
        assert (a.actor, a.data["seed"], a.data["team"]) == ("officer.wang", seed, list(team))

        # Counted apart in the draw: no frequency exclusion of a random draw, never absorbed
        # into a draw's visit; and the database refuses a triggered task without its trigger.
        async with draw.ctx.db.pool.acquire() as conn:
            window = {"item_codes": ["SCJG-001"], "departments": ["SCJG"]}
            assert await store.excluded_usccs(conn, **window, since=date(2026, 1, 1)) == []
            spans = {"start": date(2026, 7, 1), "end": date(2026, 7, 31)}
            assert await store.open_tasks(conn, [USCC], plan_id="P-X", **spans) == []
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute(
                    "INSERT INTO tasks (task_id, seq, plan_id, uscc, state, period_start, "
                    "period_end, body, kind) VALUES ('TT-x', 0, '', $1, 'assigned', "
                    "'2026-07-01', '2026-07-31', '{}', 'triggered')",
                    USCC,
                )

        # The publisher keeps the task's kind and trigger.
        async def taken() -> Any:
            async with pub.ctx.db.pool.acquire() as conn:
                return await conn.fetchrow(
                    "SELECT kind, trigger FROM tasks WHERE task_id = $1", task_id
                )

        row = await _until(taken)
        assert (row["kind"], row["trigger"]) == ("triggered", "complaint")

        await _cli_over_http(draw, task_id, tmp_path)
    finally:
        await registry.stop()


async def _cli_over_http(draw: Any, first: str, tmp_path: Path) -> None:
    """`spotcheck triggered open/approve/verify/list` against the same service over HTTP."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(draw.ctx.app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    try:
        await _until(lambda: _ready(server.started))
        env = {
            **os.environ,
            "SPOTCHECK_DRAW_URL": f"http://127.0.0.1:{port}",
            "SPOTCHECK_VAR_DIR": str(draw.ctx.settings.var_dir),
        }
        cli = [sys.executable, "-m", "spotcheck", "triggered"]
        code, out, err = await _run(
            *cli,
            "open",
            USCC,
            "--trigger",
            "big_data",
            "--evidence",
            "ALERT-7",
            "--item",
            "SCJG-001",
            "--department",
            "SCJG",
            "--start",
            "2026-08-01",
            "--end",
            "2026-08-31",
            "--approver",
            "officer.wang",
            "--officer",
            "officer.li",
            env=env,
        )
        assert code == 0, err
        second = out.splitlines()[0]
        assert second.startswith("TT-") and "officer.wang" in out
        code, out, err = await _run(*cli, "approve", second, "--officer", "officer.li", env=env)
        assert code != 0 and "approver_required" in err
        code, out, err = await _run(*cli, "approve", second, "--officer", "officer.wang", env=env)
        assert code == 0, err
        assert "大数据监测" in out and "assigned" in out
        for task_id in (first, second):
            code, out, err = await _run(*cli, "verify", task_id, env=env)
            assert (code, out.strip()) == (0, f"OK {task_id}"), err
        code, out, err = await _run(*cli, "list", "--json", env=env)
        assert code == 0, err
        listed = json.loads(out)
        assert [t["task_id"] for t in listed] == [second, first]
        assert all(t["evidence_ref"] is None for t in listed)
    finally:
        server.should_exit = True
        await serving
