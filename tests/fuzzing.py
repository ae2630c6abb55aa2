"""Schemathesis over the services' OpenAPI documents, with a token of each role.

Shared by the fuzz test (`tests/integration/kit/test_fuzz.py`, short and in `make test`) and
the longer run of `bench/fuzz.py`. The services run in-process (the kit's `started`, as the
integration tests run them) and each is served by uvicorn on a free port of 127.0.0.1 in the
caller's event loop; the fuzzer is synchronous (requests) and so runs in a worker thread
(`asyncio.to_thread(fuzz_all, …)`), while the loop answers it.

Every operation of a service is tried, positive and negative data, with the token of each role
the route admits (`require(...)`), one role it refuses and no token at all; hypothesis is seeded
so a run is repeatable. Each response is checked with schemathesis' checks: no server error,
status code, content type, headers and body as the document declares them, and (negative data)
the request is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable

from contracts.common import Role
from services.kit.auth import is_public, issue_token, load_or_create_key
from services.kit.http import api_routes
from services.kit.service import ServiceContext, ServiceSpec, started
from services.kit.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# The order the services are started in: the web service calls the four others.
SERVICES = ("registry", "planner", "draw", "publisher", "web")
DEPARTMENT = "SCJG"


def _spec(name: str) -> ServiceSpec[Any]:
    module = __import__(f"services.{name}.app", fromlist=["spec"])
    factory: Callable[[], ServiceSpec[Any]] = module.spec
    return factory()


@dataclass
class Served:
    """A service started in-process and served over HTTP."""

    name: str
    ctx: ServiceContext
    url: str

    @property
    def app(self) -> FastAPI:
        assert self.ctx.app is not None
        return self.ctx.app


async def serve_app(stack: AsyncExitStack, app: Any, port: int) -> str:
    """Serve `app` with uvicorn on 127.0.0.1:`port` in this loop until `stack` closes."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def stop() -> None:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=10)

    stack.push_async_callback(stop)
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return f"http://127.0.0.1:{port}"


@asynccontextmanager
async def serving(
    settings: Settings, names: Iterable[str] = SERVICES
) -> AsyncIterator[dict[str, Served]]:
    """The services, each on the port `settings` gives it (`<name>_port`)."""
    async with AsyncExitStack() as stack:
        out: dict[str, Served] = {}
        for name in names:
            ctx = await stack.enter_async_context(started(_spec(name), settings))
            assert ctx.app is not None
            url = await serve_app(stack, ctx.app, settings.port_of(name))
            out[name] = Served(name=name, ctx=ctx, url=url)
        yield out


@dataclass
class FuzzStats:
    """What one service's run did."""

    service: str
    operations: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    # "METHOD /path [role, mode] check: first line" → one example (a curl command)
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    # "negative" requests refused by no check because what reached the server was valid
    # (a list or object given for a plain string parameter is sent as its text)
    dismissed: int = 0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def line(self) -> str:
        top = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        return (
            f"{self.service:<10} {self.operations:>3} operations {self.requests:>6} requests "
            f"{self.server_errors:>4} 5xx {len(self.failures):>3} failed checks "
            f"({self.dismissed} dismissed) "
            f"{self.seconds:>6.1f} s   ({top})"
        )


def _roles(app: FastAPI) -> dict[tuple[str, str], tuple[Role, ...] | None]:
    """(METHOD, path) → the roles `require(...)` admits (every role for `require()`), or None
    for a public route."""

    def find(dependant: Any) -> tuple[Role, ...] | None:
        for dep in dependant.dependencies:
            roles = getattr(dep.call, "__spotcheck_roles__", None)
            if roles is not None:
                return tuple(roles) or tuple(Role)
            inner = find(dep)
            if inner is not None:
                return inner
        return None

    out: dict[tuple[str, str], tuple[Role, ...] | None] = {}
    for route in api_routes(app.routes):
        roles = None if is_public(route.endpoint) else find(route.dependant)
        for method in route.methods:
            out[(method, route.path)] = roles
    return out


def _callers(roles: tuple[Role, ...] | None) -> list[Role | None]:
    """Who calls an operation: each admitted role, one refused role and nobody."""
    if roles is None:
        return [None]
    refused = [r for r in Role if r not in roles]
    return [*roles, *refused[:1], None]


def fuzz_service(
    served: Served,
    *,
    key: bytes,
    max_examples: int,
    seed_value: int = 20261201,
    modes: tuple[str, ...] = ("positive", "negative"),
) -> FuzzStats:
    """Run schemathesis over one service's OpenAPI document (blocking: call it in a thread)."""
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.config import SchemathesisConfig
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ]
    stats = FuzzStats(service=served.name)
    started_at = time.perf_counter()
    document = requests.get(f"{served.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document, config=SchemathesisConfig())
    roles_of = _roles(served.app)
    tokens = {
        role: issue_token(key, role=role, sub=f"fuzz-{role.value}", dept=DEPARTMENT, ttl_s=7200)
        for role in Role
    }
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        stats.operations += 1
        roles = roles_of.get((operation.method.upper(), operation.path))
        for caller in _callers(roles):
            headers = {"Authorization": f"Bearer {tokens[caller]}"} if caller else {}
            who = caller.value if caller else "anonymous"
            for mode in modes:
                _fuzz_operation(
                    operation,
                    GenerationMode(mode),
                    served=served,
                    session=session,
                    headers=headers,
                    label=f"{operation.method.upper()} {operation.path} [{who}, {mode}]",
                    checks=checks,
                    failure_group=FailureGroup,
                    stats=stats,
                    max_examples=max_examples,
                    seed_value=seed_value,
                )
    stats.seconds = time.perf_counter() - started_at
    return stats


def _fuzz_operation(
    operation: Any,
    mode: Any,
    *,
    served: Served,
    session: requests.Session,
    headers: dict[str, str],
    label: str,
    checks: list[Any],
    failure_group: type[Exception],
    stats: FuzzStats,
    max_examples: int,
    seed_value: int,
) -> None:
    @seed(seed_value)
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case: Any) -> None:
        response = case.call(base_url=served.url, session=session, headers=headers, timeout=30)
        stats.requests += 1
        stats.statuses[response.status_code] += 1
        try:
            case.validate_response(
                response,
                checks=checks,
                headers=headers,
                transport_kwargs={"base_url": served.url, "headers": headers},
            )
        except failure_group as exc:
            for failure in exc.exceptions:  # type: ignore[attr-defined]
                title = str(getattr(failure, "title", type(failure).__name__))
                if type(failure).__name__ == "AcceptedNegativeData" and _valid_on_the_wire(
                    case, response, headers
                ):
                    stats.dismissed += 1
                    continue
                key = f"{label} {title}"
                if key not in stats.failures:
                    curl = case.as_curl_command(headers=headers)
                    why = " ".join(str(getattr(failure, "message", "")).split())[:300]
                    stats.failures[key] = (
                        f"{response.status_code} {response.text[:300]}\n      {why}\n    {curl}"
                    )

    with contextlib.suppress(Unsatisfiable):
        one()


def _valid_on_the_wire(case: Any, response: Any, sent: dict[str, str]) -> bool:
    """Whether every parameter schemathesis mutated for a negative case reached the server as a
    value its schema allows: a query or path parameter is text on the wire, so a list given for
    a plain string parameter arrives as a valid string (schemathesis 4.32 dismisses such cases
    for numbers, not for strings); a mutated header the caller replaced (the token) was never
    sent; an unknown or optional query parameter that the client left out of the URL (a `null`
    value) was never sent either. The request is then not schema-violating at all."""
    from urllib.parse import parse_qs, unquote, urlsplit

    from schemathesis.specs.openapi.checks import _wire_value_matches_parameter

    try:
        mutations = case.meta.phase.data.mutations
        if not mutations:
            return False
        url = urlsplit(response.request.url)
        query = parse_qs(url.query, keep_blank_values=True)
        for mutation in mutations:
            location = str(getattr(mutation.parameter_location, "name", "")).lower()
            name = mutation.parameter
            parameter = case.operation.get_parameter_set(mutation.parameter_location).get(name)
            if location == "header" and name.lower() in {k.lower() for k in sent}:
                continue
            if location == "query" and parameter is None:
                # A parameter the operation does not take (`additionalProperties`): negative
                # only if it reached the server; the APIs refuse unknown names (422) when it does.
                declared = case.operation.get_parameter_set(mutation.parameter_location)
                if any(k not in declared for k in query):
                    return False
                continue
            if location == "query":
                values = query.get(name, [])
            elif location == "path":
                values = [unquote(str(case.path_parameters[name]))]
            else:
                return False
            if parameter is None:
                return False
            if not values:
                # Mutated to a value the client cannot send (a `null`), so left out of the URL:
                # an optional parameter not sent is a valid request.
                if location == "query" and not parameter.is_required:
                    continue
                return False
            if not all(_wire_value_matches_parameter(parameter, v) for v in values):
                return False
        return True
    except Exception:
        return False


def fuzz_all(
    served: dict[str, Served], *, key: bytes, max_examples: int, seed_value: int = 20261201
) -> list[FuzzStats]:
    """Every service in turn."""
    return [
        fuzz_service(s, key=key, max_examples=max_examples, seed_value=seed_value)
        for s in served.values()
    ]


def signing_key(settings: Settings) -> bytes:
    """The key the services verify tokens with (the settings' key file)."""
    return load_or_create_key(settings.key_file())
