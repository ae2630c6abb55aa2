"""The four services' HTTP APIs, called on behalf of a signed-in person.

The web service owns no domain data (DESIGN §10): every task, result and entity it shows comes
from the service that owns it, asked with a short-lived token carrying the person's role,
department and (for an inspector) roster id. The embedded default signs that token with the
stack's key; when a province's SSO signs people in and the services verify its tokens (JWKS),
their own access token is passed instead (services/web/sso.py).

A service may run as several copies (DESIGN §11): its URL setting then lists them, joined by
commas. Calls take the copies in turn, and a copy that refuses the connection (stopped,
restarting) or answers 503 (it did nothing: its PostgreSQL or NATS is away) is passed over for
the next — so a write is safe to send there too.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from contracts.common import Role
from services.kit.auth import issue_token
from services.kit.errors import DomainError, TemporaryError

SERVICE_NAMES = ("registry", "planner", "draw", "publisher")
# Seconds an idle connection to a service is kept (below uvicorn's 5 s keep-alive).
KEEPALIVE_S = 2.0


@dataclass(frozen=True)
class Caller:
    """Whom a backend call is made for: the claims of the token it carries."""

    sub: str
    role: Role
    dept: str | None = None
    # A province SSO's access token, passed through instead of a minted one.
    bearer: str | None = None


# The web service itself, for what anyone may see (the 检查码 page, the roster check at
# sign-in): read-only everywhere.
SELF = Caller(sub="web", role=Role.AUDITOR)


class BackendError(DomainError):
    """A service refused a call: its status, code, message and per-field details, as sent."""

    def __init__(self, status: int, body: Any) -> None:
        err = body.get("error", {}) if isinstance(body, dict) else {}
        super().__init__(
            str(err.get("message") or f"HTTP {status}"),
            code=str(err.get("code") or "backend_error"),
            details=list(err.get("details") or []),
        )
        self.status = status


class Backends:
    """One HTTP client per service, with the token of whoever the call is for."""

    def __init__(
        self,
        *,
        urls: dict[str, str],
        key: bytes | None,
        token_ttl_s: int,
        timeout_s: float,
        issuer: str,
        audience: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # Each service's copies, and a turn counter per service spreading calls over them.
        self.urls = {
            name: [u.strip().rstrip("/") for u in value.split(",") if u.strip()]
            for name, value in urls.items()
        }
        self._turns = {name: itertools.count() for name in self.urls}
        self.key = key
        self.token_ttl_s = token_ttl_s
        self.issuer = issuer
        self.audience = audience
        # Idle connections are dropped before the services' own keep-alive (uvicorn: 5 s) ends
        # them: a request sent on a connection the server is closing fails "Server
        # disconnected without sending a response".
        limits = httpx.Limits(keepalive_expiry=KEEPALIVE_S)
        self.client = httpx.AsyncClient(timeout=timeout_s, transport=transport, limits=limits)

    def token(self, caller: Caller) -> str:
        """The bearer token of a call for `caller`."""
        if caller.bearer:
            return caller.bearer
        if self.key is None:
            raise TemporaryError("no signing key and no SSO token: cannot call the services")
        return issue_token(
            self.key,
            role=caller.role,
            sub=caller.sub,
            dept=caller.dept,
            ttl_s=self.token_ttl_s,
            issuer=self.issuer,
            audience=self.audience,
        )

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        caller: Caller | None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """One call; a refusal raises `BackendError`, an unreachable service `TemporaryError`.
        `timeout` replaces the client's for a step known to take long (a draw's selection)."""
        hdrs = dict(headers or {})
        if caller is not None:
            hdrs["authorization"] = f"Bearer {self.token(caller)}"
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        # A read is sent once more when the server closed the kept-alive connection under it;
        # a write is not (it may have been done: the caller's idempotency key decides).
        retries = 1 if method in ("GET", "HEAD") else 0
        bases = self._copies(service)
        base = next(bases)
        while True:
            try:
                response = await self.client.request(
                    method,
                    base + path,
                    json=json,
                    params=query,
                    content=content,
                    headers=hdrs,
                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.ConnectError as exc:
                base = next(bases, "")
                if not base:
                    raise TemporaryError(f"{service} is not reachable: {exc}") from exc
                continue
            except httpx.RemoteProtocolError as exc:
                if not retries:
                    raise TemporaryError(f"{service} is not reachable: {exc}") from exc
                retries -= 1
                continue
            except httpx.HTTPError as exc:
                raise TemporaryError(f"{service} is not reachable: {exc}") from exc
            if response.status_code == 503:
                # That copy did nothing (its PostgreSQL or NATS is away, or it is starting):
                # another copy may answer.
                other = next(bases, "")
                if other:
                    await response.aclose()
                    base = other
                    continue
            break
        if response.status_code >= 400:
            try:
                body: Any = response.json()
            except ValueError:
                body = {}
            if response.status_code >= 500:
                raise TemporaryError(f"{service} answered HTTP {response.status_code}")
            raise BackendError(response.status_code, body)
        return response

    async def get(
        self,
        service: str,
        path: str,
        *,
        caller: Caller | None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """GET and decode JSON."""
        return (await self.request(service, "GET", path, caller=caller, params=params)).json()

    async def post(self, service: str, path: str, *, caller: Caller | None, json: Any) -> Any:
        """POST JSON and decode the answer."""
        response = await self.request(service, "POST", path, caller=caller, json=json)
        return response.json() if response.content else None

    async def open_stream(self, service: str, path: str) -> httpx.Response:
        """A public GET whose body is read as it comes (`aiter_bytes()`); the caller closes it
        (`aclose()`). Any status is returned; an unreachable service is `TemporaryError`."""
        for base in self._copies(service):
            request = self.client.build_request("GET", base + path)
            try:
                return await self.client.send(request, stream=True)
            except httpx.ConnectError as exc:
                last: httpx.HTTPError = exc
            except httpx.HTTPError as exc:
                raise TemporaryError(f"{service} is not reachable: {exc}") from exc
        raise TemporaryError(f"{service} is not reachable: {last}")

    def _copies(self, service: str) -> Iterator[str]:
        """The service's copies, each once, starting at the next one in turn."""
        urls = self.urls[service]
        first = next(self._turns[service]) % len(urls)
        return iter(urls[first:] + urls[:first])

    async def close(self) -> None:
        """Close the connections."""
        await self.client.aclose()
