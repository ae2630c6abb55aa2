"""A dependency that is away is a `TemporaryError` (503, retryable), never an internal error.

PostgreSQL restarting, failing over or briefly unreachable shows itself as asyncpg exceptions
raised from deep inside any query: the socket is gone (`OSError` while connecting), the server
refuses connections for now (`CannotConnectNowError`), a connection died under a query
(`ConnectionDoesNotExistError`, `AdminShutdownError` after `pg_terminate_backend`), the pool
waited too long (`TimeoutError`). `as_unavailable(exc)` says which exceptions mean that, once
for every edge:

- HTTP: `install(app)` (called by `services/kit/http.py`'s `create_app`) answers them — and
  every `TemporaryError` — with the app's own `DomainError` handler (the one JSON error shape,
  or the web's page) as 503 `unavailable` with `Retry-After`;
- NATS request/reply: `services/kit/rpc.py` answers them as `unavailable`, which the caller
  raises as a `TemporaryError` again;
- consumers already nak and retry every unexpected failure with backoff (`services/kit/bus.py`).

NATS away, or JetStream electing a new stream leader after a node of the cluster was lost
("stream is offline", API error 500/503), is an outage of the same kind: 503, not 500.

An `OSError` or `TimeoutError` counts only when asyncpg raised it (its traceback passes through
asyncpg): a file that cannot be read is not a database outage.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import asyncpg
import nats.errors
import nats.js.errors
from fastapi import FastAPI, Request
from fastapi.responses import Response

from services.kit.errors import DomainError, TemporaryError

# Seconds a client should wait before trying again (a restart or failover takes a few).
RETRY_AFTER_S = 2

# Server errors that mean "not now": the connection (SQLSTATE class 08), operator intervention
# (57: shutdown, cannot connect now, cancelled), insufficient resources (53: too many
# connections, disk full, out of memory).
_SERVER_UNAVAILABLE: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)
# NATS away or JetStream between leaders (a node of the cluster lost: "stream is offline",
# "JetStream system temporarily unavailable" come back as API errors 500/503 until a new
# leader is elected).
_BUS_UNAVAILABLE: tuple[type[Exception], ...] = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.NoServersError,
    nats.errors.NoRespondersError,
    nats.errors.TimeoutError,
    nats.errors.StaleConnectionError,
)
# What the handlers are registered for (the most general classes that may carry an outage).
HANDLED: tuple[type[Exception], ...] = (
    TemporaryError,
    *_SERVER_UNAVAILABLE,
    asyncpg.InterfaceError,
    OSError,  # TimeoutError is an OSError
    nats.errors.Error,
)


def as_unavailable(exc: BaseException) -> TemporaryError | None:
    """The `TemporaryError` that `exc` amounts to when it says PostgreSQL or NATS is away,
    else None."""
    if isinstance(exc, TemporaryError):
        return exc
    if isinstance(exc, _SERVER_UNAVAILABLE):
        return TemporaryError(f"database unavailable: {type(exc).__name__}: {exc}")
    if isinstance(exc, asyncpg.InterfaceError):
        # "connection is closed", "the underlying connection is closed", "pool is closing";
        # other interface errors are misuse (a bug), not an outage.
        if "closed" in str(exc) or "closing" in str(exc):
            return TemporaryError(f"database unavailable: {exc}")
        return None
    if isinstance(exc, _BUS_UNAVAILABLE):
        return TemporaryError(f"message bus unavailable: {type(exc).__name__}: {exc}")
    if isinstance(exc, nats.js.errors.APIError) and exc.code in (500, 503):
        return TemporaryError(f"JetStream unavailable: {exc.description or exc}")
    if isinstance(exc, OSError) and _raised_in_asyncpg(exc.__traceback__):
        what = "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        return TemporaryError(f"database unavailable: {what}")
    return None


def _raised_in_asyncpg(tb: TracebackType | None) -> bool:
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith("asyncpg"):
            return True
        tb = tb.tb_next
    return False


def install(app: FastAPI) -> None:
    """Answer outages and every `TemporaryError` as 503 with `Retry-After`, through the app's
    `DomainError` handler as it is when the error happens (so a service that replaced it, like
    the web's pages, keeps its own shape); anything else goes on to the 500 handler."""

    async def _unavailable(request: Request, exc: Exception) -> Response:
        mapped = as_unavailable(exc)
        if mapped is None:
            raise exc
        handler: Any = request.app.exception_handlers[DomainError]
        response: Response = await handler(request, mapped)
        response.headers.setdefault("Retry-After", str(RETRY_AFTER_S))
        return response

    for cls in HANDLED:
        app.add_exception_handler(cls, _unavailable)
