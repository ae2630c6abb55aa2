"""Every HTTP route of every service is either marked public or requires a role."""

from __future__ import annotations

from typing import Any

import pytest

from services.draw.app import spec as draw_spec
from services.kit.auth import is_public
from services.kit.http import api_routes
from services.planner.app import spec as planner_spec
from services.publisher.app import spec as publisher_spec
from services.registry.app import spec as registry_spec
from services.web.app import spec as web_spec


def _guarded(dependant: Any) -> bool:
    for dep in dependant.dependencies:
        if hasattr(dep.call, "__spotcheck_roles__") or _guarded(dep):
            return True
    return False


@pytest.mark.parametrize(
    "spec",
    [registry_spec, planner_spec, draw_spec, publisher_spec, web_spec],
    ids=lambda s: s.__module__,
)
async def test_every_route_is_public_or_guarded(run_service, spec) -> None:
    svc = await run_service(spec)
    routes = list(api_routes(svc.ctx.app.routes))
    # Not vacuous: the service's own routes are walked, not only /healthz and friends.
    assert len([r for r in routes if not is_public(r.endpoint)]) >= 3, [r.path for r in routes]
    unguarded = [
        f"{sorted(route.methods)} {route.path}"
        for route in routes
        if not is_public(route.endpoint) and not _guarded(route.dependant)
    ]
    assert unguarded == []
