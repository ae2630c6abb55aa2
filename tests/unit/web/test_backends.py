"""A call to a service on a kept-alive connection the service was closing: a read is sent once
more, a write never (it may have been done)."""

from __future__ import annotations

import httpx
import pytest

from services.kit.errors import TemporaryError
from services.web.backends import Backends


def _backends(handler: httpx.MockTransport) -> Backends:
    return Backends(
        urls={"publisher": "http://publisher.test"},
        key=None,
        token_ttl_s=300,
        timeout_s=5,
        issuer="spotcheck",
        audience="spotcheck",
        transport=handler,
    )


def _closing_once() -> tuple[httpx.MockTransport, list[str]]:
    calls: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200, json={"ok": True})

    return httpx.MockTransport(handle), calls


async def test_a_read_is_sent_again_once() -> None:
    transport, calls = _closing_once()
    backends = _backends(transport)
    assert await backends.get("publisher", "/public/draws.json", caller=None) == {"ok": True}
    assert calls == ["GET", "GET"]
    await backends.close()


async def test_a_write_is_not_sent_again() -> None:
    transport, calls = _closing_once()
    backends = _backends(transport)
    with pytest.raises(TemporaryError):
        await backends.post("publisher", "/results", caller=None, json={})
    assert calls == ["POST"]
    await backends.close()
