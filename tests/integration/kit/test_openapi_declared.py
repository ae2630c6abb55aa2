"""Each service's OpenAPI declares the bearer scheme on every guarded route and the error
answers each route can give, in the one error shape — generated from `require(...)` and the
kit's default set, so a new route is declared without anyone writing it by hand."""

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

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _error_shape(response: dict[str, Any]) -> bool:
    return bool(response.get("content", {}).get("application/json", {}).get("schema") == ERROR_REF)


@pytest.mark.parametrize(
    "spec",
    [registry_spec, planner_spec, draw_spec, publisher_spec, web_spec],
    ids=lambda s: s.__module__.split(".")[1],
)
async def test_openapi_declares_bearer_scheme_and_error_answers(run_service, spec) -> None:
    svc = await run_service(spec)
    r = await svc.http.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["components"]["securitySchemes"] == {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": doc["components"]["securitySchemes"]["bearer"]["description"],
        }
    }
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert set(doc["components"]["schemas"]["ErrorBody"]["properties"]) == {"error"}
    guarded = public = 0
    for route in api_routes(svc.ctx.app.routes):
        if not route.include_in_schema:
            continue
        for method in route.methods:
            op = doc["paths"][route.path][method.lower()]
            where = f"{method} {route.path}"
            responses = op["responses"]
            for status in ("404", "409", "413", "422"):
                assert _error_shape(responses[status]), (where, status)
            if route.path != "/readyz":
                assert _error_shape(responses["503"]), where
            if "requestBody" in op:
                assert _error_shape(responses["415"]) and _error_shape(responses["400"]), where
            if is_public(route.endpoint):
                public += 1
                assert "security" not in op and "401" not in responses, where
            else:
                guarded += 1
                assert op["security"] == [{"bearer": []}], where
                assert _error_shape(responses["401"]) and _error_shape(responses["403"]), where
    assert guarded >= 3 and public >= 3  # /healthz, /readyz, /metrics at least
