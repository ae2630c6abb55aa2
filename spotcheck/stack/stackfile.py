"""`var/stack.json`: what runs where, written by `spotcheck up` once every part is ready;
`var/ports.json`: the ports the parts had, kept after a stop so the next start reuses them.

The command line reads it to find the services (`spotcheck.client`), `spotcheck down` to find
the supervisor, `spotcheck demo` to reuse a running stack. Only the supervisor that wrote it
removes it.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx

from spotcheck.stack.processes import SERVICES, alive

STACK_FILE = "stack.json"
PORTS_FILE = "ports.json"


class StackError(RuntimeError):
    """The stack could not start (or stop); one line saying what failed and how to fix it."""


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in `path`, or {} when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_stack(var_dir: Path, info: dict[str, Any]) -> None:
    """Record `info` in `var_dir/stack.json` (written whole or not at all)."""
    path = var_dir / STACK_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)


def remembered_ports(var_dir: Path) -> dict[str, int]:
    """The ports each part had the last time (`var/ports.json`; kept after the stack stops)."""
    data = read_json(var_dir / PORTS_FILE)
    return {k: v for k, v in data.items() if isinstance(v, int) and 0 < v < 65536}


def remember_ports(var_dir: Path, ports: dict[str, int]) -> None:
    """Keep the parts' ports for the next start (`var/ports.json`)."""
    path = var_dir / PORTS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(ports, indent=2), encoding="utf-8")
    tmp.replace(path)


def forget_stack(var_dir: Path) -> None:
    """Remove `var_dir/stack.json` if this process wrote it."""
    path = var_dir / STACK_FILE
    if read_json(path).get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def check_not_running(var_dir: Path) -> None:
    """`StackError` if another live supervisor recorded itself in `var_dir`."""
    pid = read_json(var_dir / STACK_FILE).get("pid")
    if isinstance(pid, int) and alive(pid) and pid != os.getpid():
        raise StackError(
            f"a stack already runs from {var_dir} (pid {pid}); stop it first "
            "(Ctrl-C in its terminal, or spotcheck down)"
        )


def stop_detached(var_dir: Path, *, timeout: float = 60.0) -> None:
    """Stop the stack whose supervisor pid is in `var/stack.json`."""
    pid = read_json(var_dir / STACK_FILE).get("pid")
    if not isinstance(pid, int) or not alive(pid):
        raise StackError(f"no running stack recorded in {var_dir / STACK_FILE}")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if alive(pid):
        raise StackError(f"the stack (pid {pid}) did not stop within {timeout:.0f} s")


def running_stack(var_dir: Path, *, wait_s: float = 0.0) -> dict[str, Any] | None:
    """The stack recorded in `var_dir/stack.json` if its supervisor lives and every service
    answers `/readyz` (one copy of it is enough: the others may be restarting); else None.

    A live supervisor whose services are not all ready (one restarting, PostgreSQL coming
    back) is given up to `wait_s` seconds before None: it is still the stack of this folder."""
    deadline = time.monotonic() + wait_s
    while True:
        info = read_json(var_dir / STACK_FILE)
        pid = info.get("pid")
        if not isinstance(pid, int) or not alive(pid):
            return None
        if all(_any_copy_ready(info, name) for name in SERVICES):
            return info
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.5)


def _any_copy_ready(info: dict[str, Any], name: str) -> bool:
    service = info.get("services", {}).get(name, {})
    urls = [c.get("url") for c in service.get("copies", [])] or [service.get("url")]
    return any(url and _ready(str(url)) for url in urls)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=3.0).status_code == 200
    except httpx.HTTPError:
        return False
