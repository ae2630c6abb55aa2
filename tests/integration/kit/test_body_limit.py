"""The body limit counts bytes as they stream in (issue 17, "Limits that hold").

A body sent with chunked transfer encoding has no Content-Length: the kit's `RequestContext`
counts it as it arrives and answers 413 at the limit, without reading (or keeping) the rest.
Tested over real HTTP (uvicorn on a free port; httpx's ASGI transport hands the app the body
it already holds, which proves nothing about streaming) on the three routes where a 50 MB body
once grew a service to 1.3 GB, and on one that reads its own body: a raw client sends chunks
and watches for the answer as it goes, and httpx sends a generator (chunked) to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import psutil

from contracts.common import Role
from services.draw.app import spec as draw_spec
from services.planner.app import spec as planner_spec
from services.publisher.app import spec as publisher_service
from services.publisher.settings import PublisherSettings
from spotcheck.embedded import free_port
from tests.fuzzing import serve_app

LIMIT = 1024 * 1024  # 1 MiB for this test; 10 MiB by default
SENT = 50 * 1024 * 1024  # what the client would send
CHUNK = 64 * 1024


class Body:
    """A chunked body of `SENT` bytes of filler, counting what the client handed on."""

    def __init__(self, opening: bytes) -> None:
        self.opening = opening
        self.yielded = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.opening
        self.yielded += len(self.opening)
        filler = b" " * CHUNK
        while self.yielded < SENT:
            yield filler
            self.yielded += len(filler)
            await asyncio.sleep(0)


async def _chunked_until_answered(
    url: str, path: str, headers: dict[str, str]
) -> tuple[int, bytes]:
    """Send a chunked POST of up to `SENT` bytes over a raw connection, reading as it goes:
    (bytes of body sent when the answer came, the answer)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", "Transfer-Encoding: chunked"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    chunk = b" " * CHUNK
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    answer = b""
    try:
        while sent < SENT:
            writer.write(framed)
            sent += len(chunk)
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                answer += await asyncio.wait_for(reader.read(65536), timeout=0.001)
            if b"\r\n\r\n" in answer:
                break
        else:
            writer.write(b"0\r\n\r\n")  # the whole body went: end it, then read the answer
            while b"\r\n\r\n" not in answer:
                answer += await asyncio.wait_for(reader.read(65536), timeout=60)
        head_end = answer.index(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in answer[:head_end].split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        while len(answer) < head_end + 4 + length:
            answer += await reader.read(65536)
        return sent, answer
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def test_a_chunked_body_stops_at_the_limit_on_every_route(run_service) -> None:
    publisher = await run_service(
        lambda: publisher_service(PublisherSettings(relay_enabled=False)), max_body_bytes=LIMIT
    )
    planner = await run_service(planner_spec, max_body_bytes=LIMIT)
    draw = await run_service(draw_spec, max_body_bytes=LIMIT)
    process = psutil.Process(os.getpid())
    async with AsyncExitStack() as stack:
        cases = [
            (publisher, "/results/batch", publisher.auth(Role.PLANNER, "SCJG")),
            (planner, "/rules/check", planner.auth(Role.POLICY)),
            (draw, "/draws", draw.auth(Role.DRAW_OFFICER)),
            # /attachments reads its own body
            (publisher, "/attachments", publisher.auth(Role.INSPECTOR, "SCJG")),
        ]
        urls = {id(svc): await serve_app(stack, svc.ctx.app, free_port()) for svc, _, _ in cases}
        for svc, path, headers in cases:
            rss_before = process.memory_info().rss
            sent, answer = await _chunked_until_answered(
                urls[id(svc)], path, {**headers, "Content-Type": "application/json"}
            )
            grown = process.memory_info().rss - rss_before
            assert answer.startswith(b"HTTP/1.1 413 "), (path, answer[:300])
            head, _, body = answer.partition(b"\r\n\r\n")
            error = json.loads(body)["error"]
            assert error["code"] == "too_large"
            assert f"x-request-id: {error['request_id']}".encode() in head.lower()
            # The answer came while the body was still streaming: at the limit, plus what the
            # sockets' buffers held, not after the 50 MB; and the service kept none of it.
            assert sent < 16 * 1024 * 1024, (path, sent)
            assert grown < 40 * 1024 * 1024, (path, grown)

        # A client that sends its whole body before it reads (httpx) still gets a clean 413:
        # the rest is read off the connection and dropped, never kept.
        body = Body(b'[{"task_id": "')
        rss_before = process.memory_info().rss
        async with httpx.AsyncClient(base_url=urls[id(publisher)], timeout=60) as client:
            r = await client.post(
                "/results/batch",
                content=body,
                headers={
                    **publisher.auth(Role.PLANNER, "SCJG"),
                    "Content-Type": "application/json",
                },
            )
        assert "content-length" not in {k.lower() for k in r.request.headers}
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        assert body.yielded >= SENT
        assert process.memory_info().rss - rss_before < 40 * 1024 * 1024

        # A declared Content-Length over the limit is refused before a byte is read.
        r = await planner.http.post(
            "/rules/check",
            content=b"x" * (LIMIT + 1),
            headers={**planner.auth(Role.POLICY), "Content-Type": "application/json"},
        )
        assert r.status_code == 413
        # Under the limit, the same routes read their body as before.
        r = await planner.http.post(
            "/rules/check", json={"files": {}}, headers=planner.auth(Role.POLICY)
        )
        assert r.status_code != 413, r.text
