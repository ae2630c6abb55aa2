"""A seeded draw whose staffing was interrupted (registry down) resumes to the same result."""

from __future__ import annotations

from typing import Any

from contracts import subjects
from contracts.common import Role
from services.draw import app as draw_app
from services.kit.bus import Bus
from tests.integration.draw.standin import RegistryStandIn
from tests.integration.draw.test_draw_ceremony import (
    PLAN_ID,
    SEED,
    _entities,
    _inspectors,
    _plan,
    _until,
)


async def test_seeded_draw_resumes_after_registry_outage(run_service: Any, nats_url: str) -> None:
    svc = await run_service(draw_app.spec)
    officer = svc.auth(Role.DRAW_OFFICER)
    bus = await Bus.connect(nats_url, name="test-resume")
    registry = RegistryStandIn(_entities(), _inspectors())
    await registry.start(nats_url)
    try:
        await bus.publish_event(subjects.event("planner", "plan.approved"), _plan(), event_id="p")

        async def start() -> Any:
            r = await svc.http.post("/draws", json={"plan_id": PLAN_ID}, headers=officer)
            return r if r.status_code != 404 else None

        r = await _until(start)
        assert r.status_code == 201, r.text
        draw_id = r.json()["draw_id"]
        await registry.stop()  # the registry goes away after the commitment
        r = await svc.http.post(
            f"/draws/{draw_id}/seed", json={"seed": SEED, "source": "dice"}, headers=officer
        )
        assert r.status_code == 503
        status = (await svc.http.get(f"/draws/{draw_id}")).json()
        assert status["state"] == "seeded" and status["tasks"] == 0
        again = await svc.http.post(
            f"/draws/{draw_id}/seed", json={"seed": "9" * 20, "source": "dice"}, headers=officer
        )
        assert again.status_code == 409  # the recorded seed stays
        registry = RegistryStandIn(_entities(), _inspectors())
        await registry.start(nats_url)
        r = await svc.http.post(f"/draws/{draw_id}/resume", headers=officer)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "completed" and r.json()["tasks"] == 21
        assert (await svc.http.get(f"/draws/{draw_id}/verify")).json()["ok"] is True
        r = await svc.http.post(f"/draws/{draw_id}/resume", headers=officer)
        assert r.status_code == 409
    finally:
        await registry.stop()
        await bus.close()
