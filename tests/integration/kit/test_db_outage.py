"""A short PostgreSQL outage answers 503 (retryable, the one error shape, Retry-After) from
every service — never 500 — and the services answer again once it is back, without restarting.

The services run in-process on this test's NATS and on a PostgreSQL of their own, which the
test stops and starts again (the session's shared server must stay up for the other tests).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import subjects
from contracts.common import Role
from contracts.registry import StatsReply, StatsRequest
from services.draw.app import spec as draw_spec
from services.kit.bus import Bus
from services.kit.errors import TemporaryError
from services.kit.unavailable import RETRY_AFTER_S
from services.planner.app import spec as planner_spec
from services.publisher.app import spec as publisher_spec
from services.registry.app import spec as registry_spec
from services.web.app import spec as web_spec
from spotcheck.embedded import EmbeddedPostgres

SPECS = {
    "registry": registry_spec,
    "planner": planner_spec,
    "draw": draw_spec,
    "publisher": publisher_spec,
    "web": web_spec,
}


@pytest.fixture
async def own_postgres(tmp_path: Path) -> AsyncIterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(tmp_path / "pg")
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()


async def _audit_entries(svc: Any) -> httpx.Response:
    """A read every service answers from PostgreSQL."""
    headers = {**svc.auth(Role.AUDITOR), "Accept": "application/json"}
    return await svc.http.get("/audit/entries", headers=headers)


async def test_an_outage_is_503_then_the_services_answer_again(
    own_postgres: EmbeddedPostgres, run_service: Any, nats_url: str
) -> None:
    url = own_postgres.start()  # already running: its URL
    services = {name: await run_service(spec, database_url=url) for name, spec in SPECS.items()}
    for name, svc in services.items():
        assert (await _audit_entries(svc)).status_code == 200, name

    own_postgres.stop()
    for name, svc in services.items():
        r = await _audit_entries(svc)
        assert r.status_code == 503, (name, r.status_code, r.text[:300])
        assert r.headers["retry-after"] == str(RETRY_AFTER_S), name
        error = r.json()["error"]
        assert error["code"] == "unavailable" and error["request_id"], (name, error)
        ready = await svc.http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["postgres"] is False
    # over request/reply too: the registry answers `unavailable`, the caller gets a
    # TemporaryError (and its HTTP edge a 503), not an internal error
    bus = await Bus.connect(nats_url, name="test-outage")
    try:
        with pytest.raises(TemporaryError, match="database unavailable"):
            await bus.request(
                subjects.rpc("registry", "stats"), StatsRequest(), StatsReply, timeout=10
            )
    finally:
        await bus.close()

    own_postgres.start()
    for name, svc in services.items():
        deadline = time.monotonic() + 30
        while (r := await _audit_entries(svc)).status_code != 200:
            assert r.status_code == 503, (name, r.status_code, r.text[:300])
            assert time.monotonic() < deadline, f"{name} still answers {r.status_code}"
            await asyncio.sleep(0.1)
        assert (await svc.http.get("/readyz")).status_code == 200, name
