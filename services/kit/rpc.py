"""Request/reply over core NATS, with the one error shape (`spotcheck.v1.<service>.rpc.<verb>`).

A server answers with the reply model's JSON, or with an `ErrorBody` and the `Spotcheck-Error`
header; the client turns that back into our own error class, so a `NotFound` raised in the
registry is a `NotFound` in the draw. `Bus.serve_rpc` and `Bus.request` are the entry points.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from pydantic import BaseModel, ValidationError

from contracts.common import ErrorBody, ErrorInfo
from services.kit.envelope import dumps
from services.kit.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    TemporaryError,
    TooLarge,
    Unauthorized,
)
from services.kit.unavailable import as_unavailable

log = logging.getLogger("spotcheck.bus")

M = TypeVar("M", bound=BaseModel)

ERROR_HEADER = "Spotcheck-Error"
_ERRORS_BY_CODE: dict[str, type[DomainError]] = {
    cls.code: cls
    for cls in (Invalid, NotFound, Conflict, Unauthorized, Forbidden, TooLarge, TemporaryError)
}


async def serve(
    nc: NATS,
    subject: str,
    handler: Callable[[M], Awaitable[BaseModel]],
    *,
    request_model: type[M],
    queue: str,
    concurrency: int,
    spawn: Callable[[Coroutine[Any, Any, None]], None],
) -> Any:
    """Subscribe `handler` to `subject` in queue group `queue`; returns the subscription.

    Each request is answered in its own task (`spawn` runs and tracks it), at most
    `concurrency` at once.
    """
    limit = asyncio.Semaphore(concurrency)

    async def _answer(msg: Msg) -> None:
        async with limit:
            try:
                req = request_model.model_validate_json(msg.data or b"{}")
                reply = await handler(req)
                await msg.respond(dumps(reply))
            except Exception as exc:
                err = error_body(exc)
                if err.error.code == TemporaryError.code:
                    log.warning("rpc %s: %s", subject, err.error.message)
                elif not isinstance(exc, DomainError | ValidationError):
                    log.exception("rpc %s failed", subject)
                if msg.reply:
                    await nc.publish(msg.reply, dumps(err), headers={ERROR_HEADER: err.error.code})

    async def _cb(msg: Msg) -> None:
        spawn(_answer(msg))

    return await nc.subscribe(subject, queue=queue, cb=_cb)


async def request(
    nc: NATS, subject: str, body: BaseModel, reply_model: type[M], *, timeout: float
) -> M:
    """Send a request and parse the reply; a remote error is raised as our own error."""
    try:
        msg = await nc.request(subject, dumps(body), timeout=timeout)
    except (TimeoutError, NatsTimeout) as exc:
        raise TemporaryError(f"no answer on {subject} within {timeout:g}s") from exc
    except nats.errors.NoRespondersError as exc:
        raise TemporaryError(f"no service answers {subject}; is it running?") from exc
    if msg.headers and ERROR_HEADER in msg.headers:
        info = ErrorBody.model_validate_json(msg.data).error
        cls = _ERRORS_BY_CODE.get(info.code, DomainError)
        raise cls(info.message, code=info.code, details=list(info.details))
    return reply_model.model_validate_json(msg.data)


def error_body(exc: Exception) -> ErrorBody:
    """The one error shape for an exception raised while answering (PostgreSQL away is
    `unavailable`: the caller raises a `TemporaryError`)."""
    exc = as_unavailable(exc) or exc
    if isinstance(exc, DomainError):
        return ErrorBody(error=ErrorInfo(code=exc.code, message=exc.message, details=exc.details))
    if isinstance(exc, ValidationError):
        details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return ErrorBody(
            error=ErrorInfo(code="invalid", message="invalid request", details=details)
        )
    return ErrorBody(error=ErrorInfo(code="internal", message=f"{type(exc).__name__}: {exc}"))
