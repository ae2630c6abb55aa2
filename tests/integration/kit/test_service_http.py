"""A service started by the kit: ping over NATS, readiness, auth, error shape, audit API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter

from contracts.common import PingReply, PingRequest, Role
from services.kit.auth import issue_token, load_or_create_key, public, require
from services.kit.bus import Bus
from services.kit.errors import Invalid
from services.kit.service import ServiceContext, ServiceSpec


def _spec(tmp_path: Any) -> ServiceSpec[None]:
    def routers(ctx: ServiceContext, _: None) -> list[APIRouter]:
        r = APIRouter()

        @r.post("/things")
        async def make(body: dict[str, Any], who: Any = require(Role.DRAW_OFFICER)) -> dict:
            if body.get("bad"):
                raise Invalid("bad thing", details=[{"loc": ["bad"], "msg": "must be false"}])
            async with ctx.db.transaction() as conn:
                await ctx.audit.append(conn, actor=who.sub, action="thing.make", subject="t")
            return {"by": who.sub}

        @r.get("/public")
        @public
        async def open_() -> dict:
            return {"ok": True}

        return [r]

    return ServiceSpec(name="draw", migrations=tmp_path, build=lambda ctx: None, routers=routers)


async def test_service_answers_ping_readiness_and_checks_tokens(run_service, tmp_path) -> None:
    svc = await run_service(lambda: _spec(tmp_path))
    bus = await Bus.connect(svc.ctx.settings.nats_url, name="probe")
    try:
        reply = await bus.request("spotcheck.v1.draw.rpc.ping", PingRequest(), PingReply)
        assert reply.service == "draw"
    finally:
        await bus.close()

    r = await svc.http.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"nats": True, "postgres": True}
    assert (await svc.http.get("/public")).json() == {"ok": True}
    metrics = (await svc.http.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/public",status="200"} 1.0' in metrics

    r = await svc.http.post("/things", json={})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert r.headers["x-request-id"] == r.json()["error"]["request_id"]

    r = await svc.http.post("/things", json={}, headers=svc.auth(Role.INSPECTOR, "SCJG"))
    assert r.status_code == 403 and "draw_officer" in r.json()["error"]["message"]

    key = load_or_create_key(svc.ctx.settings.key_file())
    expired = issue_token(key, role=Role.DRAW_OFFICER, ttl_s=-5)
    r = await svc.http.post("/things", json={}, headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]

    r = await svc.http.post("/things", json={"bad": 1}, headers=svc.auth(Role.DRAW_OFFICER))
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [{"loc": ["bad"], "msg": "must be false"}]

    r = await svc.http.post("/things", json={}, headers=svc.auth(Role.DRAW_OFFICER))
    assert r.status_code == 200
    r = await svc.http.get("/audit/verify", headers=svc.auth(Role.AUDITOR))
    assert r.json()["service"] == "draw" and r.json()["ok"] and r.json()["entries"] == 1


@pytest.mark.parametrize("size", [20 * 1024 * 1024])
async def test_oversized_body_is_refused(run_service, tmp_path, size: int) -> None:
    svc = await run_service(lambda: _spec(tmp_path))
    r = await svc.http.post("/things", content=b"x" * size, headers={**svc.auth(Role.DRAW_OFFICER)})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


async def test_head_is_answered_as_get_without_the_body(run_service: Any, tmp_path: Any) -> None:
    svc = await run_service(lambda: _spec(tmp_path))
    got = await svc.http.get("/public")
    head = await svc.http.head("/public")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"] != "0"
    assert head.headers["x-request-id"] != got.headers["x-request-id"]
    missing = await svc.http.head("/nowhere")
    assert missing.status_code == 404 and missing.content == b""
    # a route that does not serve GET still refuses HEAD
    assert (await svc.http.head("/things")).status_code == 405
