"""A redraw needs two draw officers, on real NATS and PostgreSQL: one asks with a reason, another
confirms; the same officer cannot do both. Both are named in the public records of both draws
(draw service and the publisher's 任务公告), in `draw.superseded` and in the audit trail; and
`spotcheck draw redraw` does the same over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import uvicorn

from contracts import subjects
from contracts.common import Role
from services.draw import app as draw_app
from services.publisher.app import spec as publisher_spec
from services.publisher.settings import PublisherSettings
from spotcheck.embedded import free_port
from tests.integration.draw.standin import RegistryStandIn
from tests.integration.draw.test_draw_ceremony import (
    PLAN_ID,
    SEED,
    _entities,
    _events,
    _inspectors,
    _plan,
    _ready,
    _run,
    _until,
    officer_as,
)
from tests.unit.draw.conftest import load_verifier

REASON = "名录库导入错误，重新抽取"


async def test_a_redraw_needs_two_different_officers_and_names_both(
    run_service: Any, nats_url: str, tmp_path: Path
) -> None:
    draw = await run_service(draw_app.spec)
    pub = await run_service(lambda: publisher_spec(PublisherSettings(relay_enabled=False)))
    li, wang = officer_as(draw, "officer.li"), officer_as(draw, "officer.wang")
    registry = RegistryStandIn(_entities(), _inspectors())
    await registry.start(nats_url)
    events = await _events(draw.ctx.bus)
    try:
        await draw.ctx.bus.publish_event(
            subjects.event("planner", "plan.approved"), _plan(), event_id="plan-1"
        )

        async def start() -> Any:
            r = await draw.http.post("/draws", json={"plan_id": PLAN_ID}, headers=li)
            return r if r.status_code != 404 else None

        r = await _until(start)
        assert r.status_code == 201, r.text
        first = r.json()["draw_id"]
        r = await draw.http.post(
            f"/draws/{first}/seed", json={"seed": SEED, "source": "dice"}, headers=li
        )
        assert r.status_code == 200, r.text

        async def post(path: str, who: dict[str, str], **kw: Any) -> Any:
            return await draw.http.post(f"/draws/{first}/redraw{path}", headers=who, **kw)

        # Nothing asked yet: nothing to confirm.
        r = await post("/confirm", wang)
        assert r.status_code == 409 and r.json()["error"]["code"] == "no_redraw_pending"
        # Officer Li asks; the draw is unchanged, the request waits, public.
        r = await post("", li, json={"reason": REASON})
        assert r.status_code == 202, r.text
        status = r.json()
        assert status["state"] == "completed" and status["superseded_by"] is None
        assert status["redraw_pending"]["requested_by"] == "officer.li"
        assert status["redraw_pending"]["reason"] == REASON
        # Li cannot confirm his own request; a second request waits for the first.
        r = await post("/confirm", li)
        assert r.status_code == 403 and r.json()["error"]["code"] == "second_officer_required"
        r = await post("", wang, json={"reason": "另一个理由"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "redraw_pending"
        # Wang withdraws it; then there is nothing to confirm, and Li asks again.
        r = await post("/cancel", wang)
        assert r.status_code == 200 and r.json()["redraw_pending"] is None
        assert (await post("/confirm", wang)).status_code == 409
        assert (await post("", li, json={"reason": REASON})).status_code == 202
        # A planner is no draw officer.
        r = await post("/confirm", draw.auth(Role.PLANNER, "SCJG"))
        assert r.status_code == 403
        assert (await draw.http.get(f"/draws/{first}")).json()["state"] == "completed"

        r = await post("/confirm", wang)
        assert r.status_code == 201, r.text
        new = r.json()
        second = new["draw_id"]
        assert new["state"] == "committed" and new["supersedes"] == first
        assert (new["redraw_by"], new["redraw_confirmed_by"]) == ("officer.li", "officer.wang")
        old = (await draw.http.get(f"/draws/{first}")).json()
        assert old["state"] == "superseded" and old["superseded_by"] == second
        assert (old["redraw_by"], old["redraw_confirmed_by"]) == ("officer.li", "officer.wang")
        assert old["redraw_pending"] is None

        # Both officers in both public records; the old record still verifies.
        facts = {"reason": REASON, "requested_by": "officer.li", "confirmed_by": "officer.wang"}
        record = (await draw.http.get(f"/draws/{first}/record")).json()
        assert record["superseded_by"] == second
        assert {k: record["redraw"][k] for k in facts} == facts
        for s in record["strata"]:
            body = (await draw.http.get(f"/draws/{first}/candidates/{s['stratum_id']}.txt")).content
            (tmp_path / f"{s['stratum_id']}.txt").write_bytes(body)
        assert load_verifier().verify(record, [str(tmp_path)]).startswith(f"OK {first}")
        r = await draw.http.post(
            f"/draws/{second}/seed", json={"seed": "9" * 20, "source": "dice"}, headers=wang
        )
        assert r.status_code == 200, r.text
        record2 = (await draw.http.get(f"/draws/{second}/record")).json()
        assert record2["supersedes"] == first
        assert {k: record2["redraw"][k] for k in facts} == facts

        # The audit trail: who asked, who withdrew, who confirmed.
        rows = await draw.ctx.db.pool.fetch(
            "SELECT action, actor, data FROM audit_log WHERE action LIKE 'draw.redraw%' "
            "ORDER BY seq"
        )
        assert [(a["action"], a["actor"]) for a in rows] == [
            ("draw.redraw.requested", "officer.li"),
            ("draw.redraw.cancelled", "officer.wang"),
            ("draw.redraw.requested", "officer.li"),
            ("draw.redraw", "officer.wang"),
        ]
        done = rows[-1]["data"]
        assert (done["requested_by"], done["confirmed_by"], done["reason"]) == (
            "officer.li",
            "officer.wang",
            REASON,
        )

        # draw.superseded names both, and the publisher's 任务公告 shows them.
        async def superseded_event() -> Any:
            found = [m for m in events if m.event_type == "spotcheck.v1.draw.superseded"]
            return found[0] if found else None

        event = json.loads((await _until(superseded_event)).data)
        assert (event["by"], event["confirmed_by"]) == ("officer.li", "officer.wang")

        async def notice() -> Any:
            page = (await pub.http.get("/public/draws.json")).json()
            return next(
                (d for d in page["draws"] if d["draw_id"] == first and d["superseded"]), None
            )

        shown = await _until(notice)
        assert (shown["superseded_requested_by"], shown["superseded_confirmed_by"]) == (
            "officer.li",
            "officer.wang",
        )
        html = (await pub.http.get("/public/tasks", params={"draw": first})).text
        assert "提出：officer.li，确认：officer.wang" in html

        await _redraw_with_the_command_line(draw, second, tmp_path)
    finally:
        await registry.stop()


async def _redraw_with_the_command_line(draw: Any, draw_id: str, tmp_path: Path) -> None:
    """`spotcheck draw redraw` over real HTTP: ask, refuse the same officer, confirm."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(draw.ctx.app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        await _until(lambda: _ready(server.started))
        env = {
            **os.environ,
            "SPOTCHECK_DRAW_URL": f"http://127.0.0.1:{port}",
            "SPOTCHECK_VAR_DIR": str(tmp_path / "var"),
        }
        env.pop("SPOTCHECK_TOKEN", None)
        cli = [sys.executable, "-m", "spotcheck", "draw", "redraw", draw_id]
        code, out, err = await _run(
            *cli, "--reason", "种子录入错误", "--officer", "officer.li", env=env
        )
        assert code == 0, err
        assert "asked for by officer.li" in out and "--confirm" in out
        code, out, err = await _run(*cli, "--confirm", "--officer", "officer.li", env=env)
        assert code == 1 and "second draw officer" in err
        code, out, err = await _run(*cli, "--confirm", "--officer", "officer.zhao", env=env)
        assert code == 0, err
        third = out.strip()
        status = (await draw.http.get(f"/draws/{third}")).json()
        assert status["supersedes"] == draw_id
        assert (status["redraw_by"], status["redraw_confirmed_by"]) == (
            "officer.li",
            "officer.zhao",
        )
        code, _, err = await _run(*cli, "--reason", "x", "--confirm", env=env)
        assert code == 1 and "exactly one of" in err
    finally:
        server.should_exit = True
        await task
