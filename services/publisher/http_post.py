"""POSTing JSON to one URL over a pool of keep-alive connections (httpx).

The relay sends one POST per result to the disclosure system. The pool holds at most
`connections` connections to the destination, which is also the window of deliveries in
flight to it: a POST beyond the window waits for a free connection (no timeout on that wait);
`timeout_s` bounds connecting, sending and each read of the reply.

The request is exactly what the disclosure system has always received — the request line,
`Host`, the caller's headers in their order, `Content-Length`, the body — so the client's own
default headers (`User-Agent`, `Accept`, …) are removed. The trust store is the system's (a
provincial system's certificate may come from a domestic CA that is not in certifi), and proxy
variables of the environment are not read: the destination is reached the way it was
configured. httpx closes a connection on any error or timeout, so a late reply can never be
read as the answer to the next request.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

_MAX_BODY = 4 * 1024 * 1024


class HttpError(Exception):
    """The exchange failed before a complete reply (connect, send, timeout, malformed reply)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete HTTP reply."""

    status: int
    body: bytes


class HttpPoster:
    """POSTs to one URL over a bounded pool of keep-alive HTTP/1.1 connections."""

    def __init__(self, url: str, *, connections: int = 64, timeout_s: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self.timeout_s = timeout_s
        self._client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            timeout=httpx.Timeout(timeout_s, pool=None),
            verify=ssl.create_default_context(),
            trust_env=False,
        )
        self._client.headers.clear()  # only the caller's headers go out (see above)

    async def post(self, body: bytes, headers: dict[str, str]) -> Reply:
        """Send one POST and read its whole reply (at most 4 MiB)."""
        for name, value in headers.items():
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
                raise ValueError(f"header {name!r} is not a valid HTTP header")
        try:
            async with self._client.stream("POST", self.url, content=body, headers=headers) as r:
                data = bytearray()
                async for chunk in r.aiter_bytes():
                    data += chunk
                    if len(data) > _MAX_BODY:
                        raise HttpError(f"reply body over {_MAX_BODY} bytes")
                return Reply(r.status_code, bytes(data))
        except httpx.TimeoutException as exc:
            raise HttpError(f"no reply within {self.timeout_s:g}s") from exc
        except httpx.HTTPError as exc:
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        """Close the pool's connections."""
        await self._client.aclose()
