"""How the command line reaches the services: HTTP with a bearer token.

Where each service listens comes from `var/stack.json` (written by `spotcheck up`, which may
have moved a port that was taken), else from the settings (`SPOTCHECK_<SERVICE>_PORT`, or
`SPOTCHECK_<SERVICE>_URL` for a remote deployment). A service may run as several copies
(`spotcheck up --copies N`, or several URLs joined by commas): a command starts at one of them
chosen at random and passes over a copy that does not take the connection. Tokens:
`SPOTCHECK_TOKEN` if set, else one signed with the embedded key for the role the command needs.

Every command goes through this module: `Api` for the request, `call` to turn an error answer
into its lines on stderr and exit 1, `fail` for a refusal of the command's own, `print_json` for
`--json` output. Only the offline commands (`rules check/test`, `publisher due-date`) run code
of a service, and that through its library module (`services/planner/library.py`,
`services/publisher/library.py`).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import httpx
import typer

from contracts.common import Role
from services.kit.auth import issue_token, load_or_create_key
from services.kit.settings import Settings, load_settings

T = TypeVar("T")
# How long a command keeps asking a service that answers `503 unavailable` (a dependency away
# for a moment: a restart or failover of PostgreSQL takes seconds).
UNAVAILABLE_WAIT_S = 90.0


class ApiError(RuntimeError):
    """A service answered with the error shape; `str()` is the one-line message."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        err = body.get("error", {}) if isinstance(body, dict) else {}
        self.status = status
        self.code = err.get("code", "error")
        self.details: list[dict[str, Any]] = err.get("details", [])
        super().__init__(f"{err.get('message', body)} (HTTP {status}, {self.code})")


def stack_file(settings: Settings) -> Path:
    """Where `spotcheck up` records what runs where."""
    return settings.var_dir / "stack.json"


def read_stack(settings: Settings) -> dict[str, Any]:
    """The running stack's description, or {} when none was recorded."""
    path = stack_file(settings)
    if path.exists():
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data
        except (OSError, ValueError):
            return {}
    return {}


def service_urls(service: str, settings: Settings | None = None) -> list[str]:
    """Base URLs of a service's copies: `SPOTCHECK_<SERVICE>_URL` (several joined by commas),
    else those `spotcheck up` recorded, else the configured port."""
    settings = settings or load_settings()
    explicit = os.environ.get(f"SPOTCHECK_{service.upper()}_URL")
    if explicit:
        return [u.strip().rstrip("/") for u in explicit.split(",") if u.strip()]
    info = read_stack(settings).get("services", {}).get(service, {})
    recorded = [c.get("url") for c in info.get("copies", [])] or [info.get("url")]
    urls = [str(u).rstrip("/") for u in recorded if u]
    return urls or [f"http://{settings.http_host}:{settings.port_of(service)}"]


def service_url(service: str, settings: Settings | None = None) -> str:
    """Base URL of a service's HTTP API (its first copy)."""
    return service_urls(service, settings)[0]


def token_for(
    role: Role,
    *,
    dept: str | None = None,
    settings: Settings | None = None,
    sub: str | None = None,
) -> str:
    """A bearer token: `SPOTCHECK_TOKEN`, else signed with the embedded key for `sub` (who is
    acting; `cli-<role>` when not given)."""
    explicit = os.environ.get("SPOTCHECK_TOKEN")
    if explicit:
        return explicit
    settings = settings or load_settings()
    key = load_or_create_key(settings.key_file())
    return issue_token(key, role=role, dept=dept, sub=sub or f"cli-{role.value}")


class Api:
    """A small synchronous client of one service."""

    def __init__(
        self,
        service: str,
        *,
        role: Role | None = None,
        dept: str | None = None,
        settings: Settings | None = None,
        timeout: float = 120.0,
        sub: str | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        headers = {}
        if role is not None:
            token = token_for(role, dept=dept, settings=self.settings, sub=sub)
            headers["Authorization"] = f"Bearer {token}"
        urls = service_urls(service, self.settings)
        # Commands started together spread over the copies; each sticks to one while it answers.
        first = random.randrange(len(urls))
        self.bases = urls[first:] + urls[:first]
        self.base = self.bases[0]
        self.http = httpx.Client(base_url=self.base, headers=headers, timeout=timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request; the JSON body on success, `ApiError` on an error answer.

        Over the service's copies (DESIGN §11): a copy that refuses the connection (stopped,
        restarting) is passed over for the next — the request was not sent, so even a write
        is safe to send again. A `503 unavailable` (PostgreSQL or NATS away for a moment: the
        service did nothing) is sent again after its `Retry-After`, to the next copy, for up
        to `UNAVAILABLE_WAIT_S`. A read whose connection broke mid-way is sent again too; a
        write is not (it may have been done), and says so."""
        deadline = time.monotonic() + UNAVAILABLE_WAIT_S
        refused = 0
        turn = 0
        while True:
            base = self.bases[turn % len(self.bases)]
            turn += 1
            self.http.base_url = httpx.URL(base)
            try:
                resp = self.http.request(method, path, **kwargs)
            except httpx.ConnectError as exc:
                refused += 1
                if refused < len(self.bases):
                    continue
                raise _unavailable(
                    f"cannot reach {' or '.join(self.bases)}: is the stack running (spotcheck up)?"
                ) from exc
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if method in ("GET", "HEAD") and time.monotonic() < deadline:
                    continue
                raise _unavailable(
                    f"{base} closed the connection during {method} {path}: it may or may not "
                    "have been done; look, then try again"
                ) from exc
            refused = 0
            if resp.status_code == 503 and time.monotonic() < deadline:
                time.sleep(_retry_after(resp))
                continue
            break
        if base != self.bases[0]:
            # Start at the copy that answered next time.
            i = self.bases.index(base)
            self.bases = self.bases[i:] + self.bases[:i]
        self.base = base
        if resp.status_code >= 400:
            try:
                body = resp.json()
            except ValueError:
                body = {"error": {"message": resp.text[:500]}}
            raise ApiError(resp.status_code, body)
        ctype = resp.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            return resp.json()
        return resp.text

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET `path`."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        """POST `path`."""
        return self.request("POST", path, **kwargs)


def _unavailable(message: str) -> ApiError:
    return ApiError(503, {"error": {"code": "unavailable", "message": message}})


def _retry_after(resp: httpx.Response) -> float:
    """The wait a 503 asks for (`Retry-After` seconds), within reason."""
    try:
        return min(max(float(resp.headers.get("Retry-After", "1")), 0.2), 10.0)
    except ValueError:
        return 1.0


# -- for commands: what a command prints when a call fails ---------------------------------------


def fail(message: str) -> NoReturn:
    """Print `message` on stderr and exit 1."""
    print(message, file=sys.stderr)
    raise typer.Exit(1)


def report(exc: ApiError) -> None:
    """Print an error answer on stderr: each detail on its line (a rule file's as
    `file:line: [rule] reason` with its Chinese reason indented below, any other as `loc: msg`),
    then the one-line message."""
    for d in exc.details:
        if "file" in d:
            rule = f" [{d['rule']}]" if d.get("rule") else ""
            print(f"{d['file']}:{d.get('line', 0)}:{rule} {d.get('reason')}", file=sys.stderr)
            if d.get("reason_zh"):
                print(f"    {d['reason_zh']}", file=sys.stderr)
        else:
            print(f"{d.get('loc', '')}: {d.get('msg', d)}", file=sys.stderr)
    print(str(exc), file=sys.stderr)


def call(fn: Callable[[], T]) -> T:
    """`fn()`, or, when a service answers with an error, `report` it and exit 1."""
    try:
        return fn()
    except ApiError as exc:
        report(exc)
        raise typer.Exit(1) from None


def print_json(value: Any) -> None:
    """`value` as one line of JSON on stdout (Chinese as it is, not escaped)."""
    print(json.dumps(value, ensure_ascii=False))
