"""The HTTP app factory every service uses.

`/healthz` (the process is alive), `/readyz` (NATS and PostgreSQL answer), `/metrics`
(Prometheus), one JSON error shape (`contracts.common.ErrorBody`), request ids
(`X-Request-Id`), a body-size limit and JSON logs.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.common import ErrorBody, ErrorInfo
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

    @app.middleware("http")
    async def _request_context(request: Request, call_next: Any) -> Response:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        try:
            length = request.headers.get("content-length")
            if length and length.isdigit() and int(length) > max_body_bytes:
                response: Response = error_response(
                    413, "too_large", f"body of {length} bytes exceeds {max_body_bytes} bytes"
                )
            else:
                response = await call_next(request)
        finally:
            request_id_var.reset(token)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        requests.labels(request.method, path, str(response.status_code)).inc()
        latency.labels(request.method, path).observe(time.perf_counter() - started)
        response.headers["X-Request-Id"] = rid
        return response

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
