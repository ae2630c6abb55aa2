"""PostgreSQL away is a 503 with Retry-After (the one error shape), never a 500: which
exceptions mean an outage, and how the HTTP and rpc edges answer them."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
import nats.errors
import nats.js.errors
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse

from services.kit import rpc
from services.kit.auth import TokenVerifier, public
from services.kit.errors import DomainError, TemporaryError
from services.kit.http import create_app
from services.kit.unavailable import RETRY_AFTER_S, as_unavailable


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.InterfaceError("pool is closing"),
    ],
    ids=type,
)
def test_what_says_postgresql_is_away(exc: Exception) -> None:
    mapped = as_unavailable(exc)
    assert isinstance(mapped, TemporaryError) and mapped.status == 503
    assert "database unavailable" in mapped.message


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.UntranslatableCharacterError("unsupported Unicode escape sequence"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        ValueError("bad"),
    ],
    ids=type,
)
def test_what_is_not_an_outage(exc: Exception) -> None:
    assert as_unavailable(exc) is None


@pytest.mark.parametrize(
    "exc",
    [
        nats.js.errors.ServerError(code=500, err_code=10118, description="stream is offline"),
        nats.js.errors.ServiceUnavailableError(code=503, description="JetStream unavailable"),
        nats.errors.NoRespondersError(),
        nats.errors.ConnectionClosedError(),
        nats.errors.TimeoutError(),
    ],
    ids=type,
)
def test_what_says_nats_or_a_stream_leader_is_away(exc: Exception) -> None:
    mapped = as_unavailable(exc)
    assert isinstance(mapped, TemporaryError) and mapped.status == 503


def test_a_jetstream_refusal_is_not_an_outage() -> None:
    exc = nats.js.errors.BadRequestError(code=400, err_code=10058, description="stream exists")
    assert as_unavailable(exc) is None


async def test_an_oserror_counts_only_when_asyncpg_raised_it(tmp_path: Path) -> None:
    with pytest.raises(OSError) as from_asyncpg:
        await asyncpg.connect(f"postgresql://postgres@/postgres?host={tmp_path}", timeout=5)
    assert isinstance(as_unavailable(from_asyncpg.value), TemporaryError)
    with pytest.raises(OSError) as elsewhere:
        (tmp_path / "missing").read_text()
    assert as_unavailable(elsewhere.value) is None


async def test_a_connect_that_times_out_counts() -> None:
    with socket.socket() as silent:  # listens, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        with pytest.raises(TimeoutError) as caught:
            await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/x", timeout=0.3)
    mapped = as_unavailable(caught.value)
    assert isinstance(mapped, TemporaryError) and "timed out" in mapped.message


def _app(raise_: Callable[[], None], configure: Callable[[FastAPI], None] | None = None) -> FastAPI:
    router = APIRouter()

    @router.get("/thing")
    @public
    async def thing() -> dict[str, str]:
        raise_()
        return {"ok": "yes"}

    app = create_app(
        service="test",
        version="0",
        verifier=TokenVerifier(key=b"k" * 32),
        routers=[router],
        ready_checks={},
    )
    if configure is not None:
        configure(app)
    return app


async def _get(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/thing", headers={"X-Request-Id": "rid-1"})


def _raises(exc: Exception) -> Callable[[], None]:
    def go() -> None:
        raise exc

    return go


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        TemporaryError("no answer on spotcheck.v1.registry.rpc.stats within 10s"),
    ],
    ids=type,
)
async def test_http_answers_503_in_the_one_shape_with_retry_after(exc: Exception) -> None:
    r = await _get(_app(_raises(exc)))
    assert r.status_code == 503
    assert r.headers["retry-after"] == str(RETRY_AFTER_S)
    error = r.json()["error"]
    assert error["code"] == "unavailable" and error["request_id"] == "rid-1"


async def test_http_outage_from_asyncpg_connect_is_503(tmp_path: Path) -> None:
    async def connect() -> None:
        await asyncpg.connect(f"postgresql://postgres@/postgres?host={tmp_path}", timeout=5)

    router = APIRouter()

    @router.get("/thing")
    @public
    async def thing() -> dict[str, str]:
        await connect()
        return {}

    app = create_app(
        service="t",
        version="0",
        verifier=TokenVerifier(key=b"k" * 32),
        routers=[router],
        ready_checks={},
    )
    r = await _get(app)
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"


async def test_other_errors_stay_500() -> None:
    r = await _get(_app(_raises(FileNotFoundError("no such file"))))
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal"
    assert "retry-after" not in r.headers
    r = await _get(_app(_raises(asyncpg.InterfaceError("another operation is in progress"))))
    assert r.status_code == 500


async def test_a_service_that_replaced_the_error_handler_keeps_its_shape() -> None:
    """The web answers people with pages: the 503 is its page, with Retry-After."""

    def pages(app: FastAPI) -> None:
        @app.exception_handler(DomainError)
        async def page(request: Request, exc: DomainError) -> PlainTextResponse:
            return PlainTextResponse(f"服务暂时不可用: {exc.code}", status_code=exc.status)

    r = await _get(_app(_raises(asyncpg.exceptions.CannotConnectNowError("x")), pages))
    assert r.status_code == 503 and r.text == "服务暂时不可用: unavailable"
    assert r.headers["retry-after"] == str(RETRY_AFTER_S)


def test_rpc_answers_an_outage_as_unavailable() -> None:
    body = rpc.error_body(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert body.error.code == "unavailable"
    assert rpc._ERRORS_BY_CODE[body.error.code] is TemporaryError
