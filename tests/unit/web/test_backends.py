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


def _copies(down: set[str]) -> tuple[httpx.MockTransport, list[str]]:
    """Two copies of the publisher; a copy in `down` refuses the connection."""
    hosts: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.host in down:
            raise httpx.ConnectError("Connection refused")
        return httpx.Response(200, json={"host": request.url.host})

    return httpx.MockTransport(handle), hosts


def _two_copies(transport: httpx.MockTransport) -> Backends:
    return Backends(
        urls={"publisher": "http://copy-1.test, http://copy-2.test/"},
        key=None,
        token_ttl_s=300,
        timeout_s=5,
        issuer="spotcheck",
        audience="spotcheck",
        transport=transport,
    )


async def test_calls_take_the_copies_in_turn() -> None:
    transport, hosts = _copies(down=set())
    backends = _two_copies(transport)
    for _ in range(4):
        await backends.get("publisher", "/tasks", caller=None)
    assert hosts == ["copy-1.test", "copy-2.test", "copy-1.test", "copy-2.test"]
    await backends.close()


async def test_a_copy_refusing_the_connection_is_passed_over_even_for_a_write() -> None:
    transport, hosts = _copies(down={"copy-1.test"})
    backends = _two_copies(transport)
    assert await backends.post("publisher", "/results", caller=None, json={}) == {
        "host": "copy-2.test"
    }
    assert hosts == ["copy-1.test", "copy-2.test"]
    await backends.close()


async def test_no_copy_answering_is_a_temporary_error_naming_the_service() -> None:
    transport, hosts = _copies(down={"copy-1.test", "copy-2.test"})
    backends = _two_copies(transport)
    with pytest.raises(TemporaryError, match="publisher is not reachable"):
        await backends.get("publisher", "/tasks", caller=None)
    assert sorted(hosts) == ["copy-1.test", "copy-2.test"]
    await backends.close()


async def test_a_copy_answering_503_is_passed_over() -> None:
    hosts: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.host == "copy-1.test":
            return httpx.Response(503, json={"error": {"code": "unavailable", "message": "pg"}})
        return httpx.Response(201, json={"host": request.url.host})

    backends = _two_copies(httpx.MockTransport(handle))
    assert await backends.post("publisher", "/results", caller=None, json={}) == {
        "host": "copy-2.test"
    }
    assert hosts == ["copy-1.test", "copy-2.test"]
    await backends.close()
