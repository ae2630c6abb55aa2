"""`spotcheck status`: whether NATS, PostgreSQL and each service of the stack answer."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from spotcheck.stack.processes import SERVICES
from spotcheck.stack.stackfile import StackError


def probe_nats(url: str, credentials: tuple[str, str] | None = None) -> None:
    """Connect to NATS at `url` (as the user of `credentials`) and close; `StackError` when it
    cannot."""
    from services.kit.bus import Bus, ConnectError

    async def probe() -> None:
        bus = await Bus.connect(
            url, name="spotcheck-up-probe", connect_timeout=3, credentials=credentials
        )
        await bus.close()

    try:
        asyncio.run(probe())
    except ConnectError as exc:
        raise StackError(str(exc)) from None


def probe_pg(url: str) -> None:
    """Connect to PostgreSQL at `url` and close; `StackError` when it cannot."""
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise StackError(f"cannot reach PostgreSQL at {url}: {exc}") from None


def short_pg(url: str) -> str:
    """The embedded PostgreSQL's socket URL, shorter for a table."""
    return url.replace("postgresql://postgres:@/postgres?host=", "socket ")


def collect_status(var_dir: Path | None = None) -> dict[str, Any]:
    """Health of NATS, PostgreSQL and each service of the recorded (or configured) stack."""
    from services.kit.settings import SettingsError, load_settings
    from spotcheck.client import read_stack
    from spotcheck.stack.accounts import cli_credentials

    settings = load_settings(**({"var_dir": var_dir} if var_dir else {}))
    stack = read_stack(settings)
    nats_url = stack.get("nats_url") or settings.nats_url
    database_url = stack.get("database_url") or settings.database_url
    parts: list[dict[str, Any]] = []
    try:
        probe_nats(nats_url, cli_credentials(settings, stack))
        parts.append({"part": "nats", "where": nats_url, "ok": True, "detail": "connected"})
    except (StackError, SettingsError) as exc:
        parts.append({"part": "nats", "where": nats_url, "ok": False, "detail": str(exc)})
    try:
        probe_pg(database_url)
        pg_detail = "connected"
        pg_ok = True
    except StackError as exc:
        pg_detail, pg_ok = str(exc), False
    parts.append(
        {"part": "postgres", "where": short_pg(database_url), "ok": pg_ok, "detail": pg_detail}
    )
    for part, url in _service_parts(settings, stack):
        try:
            r = httpx.get(url + "/readyz", timeout=2)
            body = r.json()
            ok = r.status_code == 200
            detail = ", ".join(f"{k}={'ok' if v else 'down'}" for k, v in body["checks"].items())
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            ok, detail = False, f"not answering ({type(exc).__name__})"
        parts.append({"part": part, "where": url, "ok": ok, "detail": detail})
    return {"stack_pid": stack.get("pid"), "parts": parts}


def _service_parts(settings: Any, stack: dict[str, Any]) -> list[tuple[str, str]]:
    """(part, URL) of every copy of every service: recorded by `spotcheck up`, else one each."""
    from spotcheck.client import service_url

    parts: list[tuple[str, str]] = []
    for name in SERVICES:
        copies = stack.get("services", {}).get(name, {}).get("copies") or []
        if copies and not os.environ.get(f"SPOTCHECK_{name.upper()}_URL"):
            parts += [(str(c["part"]), str(c["url"]).rstrip("/")) for c in copies]
        else:
            parts.append((name, service_url(name, settings)))
    return parts


def print_status(report: dict[str, Any]) -> None:
    """The status report as a table."""
    table = Table(title="spotcheck status")
    for col in ("part", "where", "health", "detail"):
        table.add_column(col)
    for part in report["parts"]:
        health = "[green]ok[/]" if part["ok"] else "[red]down[/]"
        table.add_row(part["part"], part["where"], health, part["detail"])
    Console().print(table)
