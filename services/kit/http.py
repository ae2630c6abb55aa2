"""The HTTP app factory every service uses.

`/healthz` (the process is alive), `/readyz` (NATS and PostgreSQL answer), `/metrics`
(Prometheus), one JSON error shape (`contracts.common.ErrorBody`), request ids
(`X-Request-Id`), a body-size limit and JSON logs.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
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
from services.kit.edge import check_request
from services.kit.errors import DomainError
from services.kit.logs import request_id_var

log = logging.getLogger("spotcheck.http")

ReadyCheck = Callable[[], Awaitable[bool]]


def error_response(
    status: int, code: str, message: str, details: Sequence[dict[str, Any]] = ()
) -> JSONResponse:
    """The one JSON error shape, carrying the id of the request being answered."""
    body = ErrorBody(
        error=ErrorInfo(
            code=code, message=message, details=list(details), request_id=request_id_var.get()
        )
    )
    return JSONResponse(body.model_dump(), status_code=status)


# The code of the one error shape for an HTTP status raised by the framework (or by the body
# limit below) rather than as one of our `DomainError`s.
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}

# A request id a client sent is used only when it looks like one (no header injection, no
# megabyte of id in every log line); otherwise the request gets its own.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class BodyTooLarge(StarletteHTTPException):
    """Raised by the body counter as the body streams in: the framework re-raises an
    `HTTPException` from body parsing, so it becomes a 413 wherever the body is read."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body exceeds {limit} bytes")


class RequestContext:
    """Request id, body-size limit, last-resort 500 and metrics as a plain ASGI middleware.

    - The request id (`X-Request-Id`, the client's when it looks like one) is set for the whole
      request, so that every log line and every error body — a 500 too — carries it, and it is
      the header of every response.
    - The body limit counts the bytes as they stream in, whether or not a Content-Length was
      sent (chunked transfer encoding), and stops at the limit: a declared length over it is
      refused before reading; otherwise the read that passes it raises `BodyTooLarge` (413)
      and nothing past the limit is buffered. The server (uvicorn) discards what the client
      still sends after the answer, reading it off the connection without keeping it; the
      connection is not closed on it, which would reset it and lose the answer.
    - An exception no handler took is logged and answered here, inside the request's context,
      with the one error shape (500, code `internal`). Starlette's own last-resort handler
      runs outside every middleware, after the context is gone.

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
        # HEAD is answered as GET without the body (headers, Content-Length and status as GET's):
        # link checkers, monitors and caches ask it, and FastAPI routes only GET.
        head = scope.get("method") == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        headers = dict(scope.get("headers") or [])
        sent_id = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = sent_id if _REQUEST_ID.fullmatch(sent_id) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500
        response_started = False
        limit = self.max_body_bytes
        received = 0

        async def send_with_id(message: Any) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [
                    *(h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"),
                    (b"x-request-id", rid.encode("latin-1")),
                ]
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        async def counting_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            length = headers.get(b"content-length", b"")
            if length.isdigit() and int(length) > limit:
                response = error_response(
                    413, "too_large", f"body of {int(length)} bytes exceeds {limit} bytes"
                )
                await response(scope, receive, send_with_id)
            else:
                await self.app(scope, counting_receive, send_with_id)
        except Exception as exc:
            if response_started:
                log.exception("error after the response began on %s", scope.get("path"))
                raise
            if isinstance(exc, BodyTooLarge):
                response = error_response(413, "too_large", exc.detail)
            else:
                log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
                response = error_response(500, "internal", "internal error; see the service log")
            await response(scope, receive, send_with_id)
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


# The error answers a route can give, declared in its OpenAPI operation with the one error
# shape. Every route: nothing there (404), a clash with the state (409), a body over the limit
# (413, counted on every route), input refused (422: the text rule applies to every query),
# a dependency down (503). A route that takes a body: malformed (400), of another media type
# (415). A guarded route (it depends on `require`, which declares the bearer scheme): no valid
# token (401), a role or department that may not (403).
ERROR_STATUSES = {
    400: "The body could not be read (not UTF-8, not the declared format).",
    401: "No valid bearer token (missing, expired, wrong signature).",
    403: "The token's role or department may not do this.",
    404: "Nothing found there.",
    409: "The request clashes with the current state.",
    413: "The body exceeds the service's limit.",
    415: "The body is not of the media type the route reads.",
    422: "The input is not valid; every reason is in `details`, each with its `loc`.",
    503: "A dependency (PostgreSQL, NATS, another service) does not answer; try again.",
}
_EVERY_ROUTE = (404, 409, 413, 422, 503)
_WITH_BODY = (400, 415)
_GUARDED = (401, 403)


def declare_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Add the error answers (`ERROR_STATUSES`, body `contracts.common.ErrorBody`) to every
    operation of an OpenAPI document, beside any a route declares itself; FastAPI's own 422
    shape, which the app never sends, gives way to ours."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    body_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(body_schema.pop("$defs", {}))
    schemas["ErrorBody"] = body_schema
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete", "options", "head", "patch"):
                continue
            responses = operation.setdefault("responses", {})
            statuses = [
                *_EVERY_ROUTE,
                *(_WITH_BODY if "requestBody" in operation else ()),
                *(_GUARDED if operation.get("security") else ()),
            ]
            for status in sorted(statuses):
                declared = responses.get(str(status))
                fastapi_422 = status == 422 and "HTTPValidationError" in str(declared)
                if declared is None or fastapi_422:
                    responses[str(status)] = {
                        "description": ERROR_STATUSES[status],
                        "content": content,
                    }
    text = str(document.get("paths"))
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"/{unused}'" not in text:
            schemas.pop(unused, None)
    return document


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
    app = FastAPI(
        title=f"spotcheck {service}",
        version=version,
        # The text rule on every route's query, path and body (services/kit/edge.py).
        dependencies=[Depends(check_request)],
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_errors(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
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
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    unavailable.install(app)  # PostgreSQL away, TemporaryError: 503 with Retry-After

    @app.get("/healthz", tags=["ops"])
    @public
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get(
        "/readyz",
        tags=["ops"],
        responses={503: {"description": "NATS or PostgreSQL does not answer (`checks`)"}},
    )
    @public
    async def readyz() -> JSONResponse:
        results = {name: await check() for name, check in ready_checks.items()}
        ok = all(results.values())
        body = {"status": "ready" if ok else "not ready", "service": service, "checks": results}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    @public
    async def metrics_endpoint() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    return app
