"""POSTing JSON to one URL over a pool of keep-alive connections (aiohttp).

The relay sends one POST per result to the disclosure system, thousands per second. The pool
holds at most `connections` connections to the destination, which is also the window of
deliveries in flight to it: a POST beyond the window waits for a free connection (no timeout
on that wait), and `timeout_s` bounds the exchange itself (connect, send, the whole reply).

Why aiohttp and not httpx (which the CLI uses): at this window httpx's pool rescans every
connection for every queued request (encode/httpx#3215), and measured on this project's
machine an httpx POST cost 2–10 ms of CPU against 0.3 ms for aiohttp (BENCHMARKS.md,
publisher section): the relay would have become the bottleneck of the whole publication path.

The request is exactly what the disclosure system has always received — the request line,
`Host`, the caller's headers in their order, `Content-Length`, the body — so the client's own
default headers (`User-Agent`, `Accept`, …) are left out. The trust store is the system's (a
provincial system's certificate may come from a domestic CA that is not in certifi), and proxy
variables of the environment are not read. A connection whose exchange failed or timed out is
closed, never reused, so a late reply can never be read as the answer to the next request.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

_MAX_BODY = 4 * 1024 * 1024
# Headers aiohttp would add on its own; the disclosure system gets only the caller's.
_NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


class HttpError(Exception):
    """The exchange failed before a complete reply (connect, send, timeout, malformed reply)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete HTTP reply."""

    status: int
    body: bytes


class HttpPoster:
    """POSTs to one URL over a bounded pool of keep-alive HTTP/1.1 connections.

    Create it inside the event loop that uses it (aiohttp binds its session to that loop).
    """

    def __init__(
        self,
        url: str,
        *,
        connections: int = 64,
        timeout_s: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self.timeout_s = timeout_s
        self._slots = asyncio.Semaphore(connections)
        self._connections = connections
        # A platform that asks for a client certificate gives its own context.
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._connections,
                    limit_per_host=self._connections,
                    ssl=self._ssl or ssl.create_default_context(),
                ),
                skip_auto_headers=_NO_AUTO_HEADERS,
                auto_decompress=False,
                trust_env=False,
            )
        return self._session

    async def post(self, body: bytes, headers: dict[str, str]) -> Reply:
        """Send one POST and read its whole reply (at most 4 MiB) within the timeout."""
        for name, value in headers.items():
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
                raise ValueError(f"header {name!r} is not a valid HTTP header")
        session = self._open()
        async with self._slots:
            try:
                async with (
                    asyncio.timeout(self.timeout_s),
                    session.post(self.url, data=body, headers=headers) as r,
                ):
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in r.content.iter_any():
                        size += len(chunk)
                        if size > _MAX_BODY:
                            raise HttpError(f"reply body over {_MAX_BODY} bytes")
                        chunks.append(chunk)
                    return Reply(r.status, b"".join(chunks))
            except TimeoutError as exc:
                raise HttpError(f"no reply within {self.timeout_s:g}s") from exc
            except aiohttp.ClientError as exc:
                raise HttpError(f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        """Close the pool's connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None
