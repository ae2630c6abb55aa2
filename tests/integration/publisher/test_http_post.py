"""The relay's keep-alive HTTP client against a raw local server: reuse, replies with a length,
chunked or until close, timeouts that never leave a late reply on a reused connection, and the
request bytes the disclosure system has always received."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from services.publisher.http_post import HttpError, HttpPoster

Reply = Callable[[bytes], bytes | None]  # request head → raw reply (None: never answer)


class Server:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                out = self.reply(head)
                if out is None:
                    await asyncio.sleep(5)
                    return
                writer.write(out)
                await writer.drain()
                if b"Connection: close" in out or out.startswith(b"HTTP/1.0"):
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/results?x=1"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Reply], Any]]:
    servers: list[Server] = []

    async def make(reply: Reply) -> tuple[Server, str]:
        s = Server(reply)
        servers.append(s)
        return s, await s.start()

    yield make
    for s in servers:
        assert s.server is not None
        s.server.close()


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"


async def test_keep_alive_reuses_connections_within_the_window(serve: Any) -> None:
    server, url = await serve(lambda head: OK)
    poster = HttpPoster(url, connections=4, timeout_s=2)
    replies = await asyncio.gather(
        *(poster.post(b'{"n":%d}' % i, {"Idempotency-Key": f"k{i}"}) for i in range(40))
    )
    await poster.aclose()
    assert {(r.status, r.body) for r in replies} == {(200, b"{}")}
    assert server.connections <= 4 and len(server.requests) == 40
    first = server.requests[0]
    assert first.startswith(b"POST /results?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"Idempotency-Key: k" in first and b"Content-Length: 7\r\n" in first


async def test_the_request_is_exactly_the_callers_headers_and_body(serve: Any) -> None:
    """What the disclosure system receives did not change with the move to httpx: no
    User-Agent, Accept or Accept-Encoding of the client's own, the caller's headers in order."""
    server, url = await serve(lambda head: OK)
    poster = HttpPoster(url, connections=1)
    headers = {"Idempotency-Key": "R-1:v1:disclosure", "Content-Type": "application/json"}
    await poster.post(b'{"a":"\xe6\x98\x8c"}', headers)
    await poster.aclose()
    port = url.split(":")[2].split("/")[0]
    assert server.requests == [
        b"POST /results?x=1 HTTP/1.1\r\nHost: 127.0.0.1:" + port.encode() + b"\r\n"
        b"Idempotency-Key: R-1:v1:disclosure\r\nContent-Type: application/json\r\n"
        b'Content-Length: 11\r\n\r\n{"a":"\xe6\x98\x8c"}'
    ]


async def test_chunked_replies_and_replies_until_close(serve: Any) -> None:
    chunked = b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbusy\r\n0\r\n\r\n"
    _, url = await serve(lambda head: chunked)
    poster = HttpPoster(url, connections=1)
    for _ in range(3):  # the chunked reply is fully read: the connection stays usable
        reply = await poster.post(b"{}", {})
        assert (reply.status, reply.body) == (503, b"busy")
    await poster.aclose()
    server, url = await serve(lambda head: b"HTTP/1.0 200 OK\r\n\r\ndone")
    poster = HttpPoster(url, connections=1)
    for _ in range(2):  # no length: the body ends when the server closes; never reused
        assert (await poster.post(b"{}", {})).body == b"done"
    assert server.connections == 2
    await poster.aclose()


async def test_a_timeout_closes_the_connection_so_no_late_reply_is_misread(serve: Any) -> None:
    calls = 0

    def reply(head: bytes) -> bytes | None:
        nonlocal calls
        calls += 1
        return None if calls == 1 else OK

    server, url = await serve(reply)
    poster = HttpPoster(url, connections=1, timeout_s=0.2)
    with pytest.raises(HttpError, match="no reply within"):
        await poster.post(b"{}", {})
    assert (await poster.post(b"{}", {})).status == 200
    assert server.connections == 2  # the timed-out connection was not reused
    await poster.aclose()


async def test_a_connection_closed_by_the_server_is_replaced(serve: Any) -> None:
    server, url = await serve(
        lambda head: OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    )
    poster = HttpPoster(url, connections=1)
    for _ in range(3):
        assert (await poster.post(b"{}", {})).status == 200
    assert server.connections == 3


async def test_header_injection_and_bad_urls_are_refused() -> None:
    with pytest.raises(ValueError):
        HttpPoster("ftp://example.org/x")
    poster = HttpPoster("http://127.0.0.1:9/x")
    with pytest.raises(ValueError):
        await poster.post(b"{}", {"Idempotency-Key": "a\r\nX-Evil: 1"})
    with pytest.raises(HttpError):  # nothing listens on the discard port
        await poster.post(b"{}", {})
