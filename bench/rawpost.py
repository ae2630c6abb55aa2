"""The benchmarks' load generator: a minimal HTTP/1.1 client that POSTs to one URL.

This was the publisher relay's own client until the relay moved to aiohttp (issue 16). It stays
here, unchanged, as the benchmark's client for intake requests: it spends far less CPU per
request than a general client, so the figures measure the services rather than the load
generator, and runs before and after the move are compared under the same load.

It writes the request in one buffer and parses only what a reply needs (status, length or
chunked body, `Connection: close`), keeping a pool of at most `connections` keep-alive
connections (also the window of requests in flight). A connection is reused only after a
complete reply; any error or timeout closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

_MAX_HEAD = 64 * 1024
_MAX_BODY = 4 * 1024 * 1024


class HttpError(Exception):
    """The exchange failed before a complete reply (connect, send, timeout, malformed reply)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete HTTP reply."""

    status: int
    body: bytes


class _Conn:
    __slots__ = ("reader", "used", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used = False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class HttpPoster:
    """POSTs to one URL over a bounded pool of keep-alive HTTP/1.1 connections."""

    def __init__(self, url: str, *, connections: int = 64, timeout_s: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl: ssl.SSLContext | None = (
            ssl.create_default_context() if parts.scheme == "https" else None
        )
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        host_header = parts.netloc.rpartition("@")[2]
        self._head = f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\n".encode("ascii")
        self.timeout_s = timeout_s
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[_Conn] = []
        self._closed = False

    async def post(self, body: bytes, headers: dict[str, str]) -> Reply:
        """Send one POST and read its whole reply within the timeout."""
        for name, value in headers.items():
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
                raise ValueError(f"header {name!r} is not a valid HTTP header")
        request = b"".join(
            (
                self._head,
                "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1"),
                b"Content-Length: %d\r\n\r\n" % len(body),
                body,
            )
        )
        async with self._slots:
            conn = self._idle.pop() if self._idle else None
            if conn is not None:
                try:
                    return await self._exchange(conn, request)
                except _Stale:
                    pass  # the server closed an idle connection: one fresh try is safe
            return await self._exchange(None, request)

    async def _exchange(self, conn: _Conn | None, request: bytes) -> Reply:
        try:
            async with asyncio.timeout(self.timeout_s):
                if conn is None:
                    reader, writer = await asyncio.open_connection(
                        self.host, self.port, ssl=self.ssl, limit=_MAX_HEAD
                    )
                    conn = _Conn(reader, writer)
                reused = conn.used
                conn.used = True
                conn.writer.write(request)
                try:
                    head = await conn.reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError as exc:
                    if reused and not exc.partial:
                        raise _Stale from exc
                    raise
                reply, keep = await _read_reply(conn.reader, head)
        except _Stale:
            if conn is not None:
                conn.close()
            raise
        except TimeoutError as exc:
            if conn is not None:
                conn.close()
            raise HttpError(f"no reply within {self.timeout_s:g}s") from exc
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            if conn is not None:
                conn.close()
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        if keep and not self._closed:
            self._idle.append(conn)
        else:
            conn.close()
        return reply

    async def aclose(self) -> None:
        """Close every idle connection (busy ones close when their exchange ends)."""
        self._closed = True
        while self._idle:
            self._idle.pop().close()


class _Stale(Exception):
    pass


async def _read_reply(reader: asyncio.StreamReader, head: bytes) -> tuple[Reply, bool]:
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/1.") or len(rest) < 3 or not rest[:3].isdigit():
        raise ValueError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    status = int(rest[:3])
    fields: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
    connection = fields.get("connection", "").lower()
    keep = "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
    if status in (204, 304) or 100 <= status < 200:
        return Reply(status, b""), keep
    if "chunked" in fields.get("transfer-encoding", "").lower():
        return Reply(status, await _read_chunked(reader)), keep
    if "content-length" in fields:
        n = int(fields["content-length"])
        if n > _MAX_BODY:
            raise ValueError(f"reply body of {n} bytes")
        return Reply(status, await reader.readexactly(n)), keep
    return Reply(status, await reader.read(_MAX_BODY)), False  # body until the server closes


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            return b"".join(parts)
        total += size
        if total > _MAX_BODY:
            raise ValueError("reply body too large")
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
