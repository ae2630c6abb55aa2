"""The HTTP app factory every service uses.

`/healthz` (the process is alive), `/readyz` (NATS and PostgreSQL answer), `/metrics`
(Prometheus), one JSON error shape (`contracts.common.ErrorBody`), request ids
(`X-Request-Id`), a body-size limit and JSON logs.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.common import ErrorBody, ErrorInfo
from services.kit import unavailable
from services.kit.auth import TokenVerifier, public
from services.kit.errors import DomainError
from services.kit.logs import request_id_var

log = logging.getLogger("spotcheck.http")

ReadyCheck = Callable[[], Awaitable[bool]]


def error_response(
    status: int, code: str, message: str, details: Sequence[dict[str, Any]] = ()
) -> JSONResponse:
    """The one JSON error shape."""
    body = ErrorBody(
        error=ErrorInfo(
            code=code, message=message, details=list(details), request_id=request_id_var.get()
        )
    )
    return JSONResponse(body.model_dump(), status_code=status)


class RequestContext:
    """Request id, body-size limit and metrics as a plain ASGI middleware.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs every
    request through an extra task and memory stream, which costs more than most handlers.
    """

    def __init__(
        self, app: Any, *, max_body_bytes: int, requests: Counter, latency: Histogram
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1") or uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", rid.encode("latin-1")),
                ]
            await send(message)

        try:
            length = headers.get(b"content-length", b"")
            if length.isdigit() and int(length) > self.max_body_bytes:
                response = error_response(
                    413,
                    "too_large",
                    f"body of {int(length)} bytes exceeds {self.max_body_bytes} bytes",
                )
                await response(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            method = scope.get("method", "")
            self.requests.labels(method, path, str(status)).inc()
            self.latency.labels(method, path).observe(time.perf_counter() - started)


def api_routes(routes: Sequence[Any]) -> Iterator[APIRoute]:
    """Every API route of an app, also those inside routers that FastAPI (0.165 on) keeps
    nested as included routers rather than copying them into `app.routes`."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from api_routes(inner.routes)


def create_app(
    *,
    service: str,
    version: str,
    verifier: TokenVerifier,
    routers: Sequence[APIRouter],
    ready_checks: dict[str, ReadyCheck],
    max_body_bytes: int = 10 * 1024 * 1024,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """Build a service's FastAPI app with the shared endpoints and error handling."""
    app = FastAPI(title=f"spotcheck {service}", version=version)
    app.state.verifier = verifier
    app.state.service = service
    metrics = registry or CollectorRegistry()
    requests = Counter(
        "http_requests_total", "HTTP requests", ["method", "route", "status"], registry=metrics
    )
    latency = Histogram(
        "http_request_seconds", "HTTP request latency", ["method", "route"], registry=metrics
    )
    app.state.metrics = metrics

    app.add_middleware(
        RequestContext, max_body_bytes=max_body_bytes, requests=requests, latency=latency
    )

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return error_response(422, "invalid", "the request is not valid", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal error; see the service log")

    unavailable.install(app)  # PostgreSQL away, TemporaryError: 503 with Retry-After

    @app.get("/healthz", tags=["ops"])
    @public
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["ops"])
    @public
    async def readyz() -> JSONResponse:
        results = {name: await check() for name, check in ready_checks.items()}
        ok = all(results.values())
        body = {"status": "ready" if ok else "not ready", "service": service, "checks": results}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"])
    @public
    async def metrics_endpoint() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    return app
