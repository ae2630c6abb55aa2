"""`spotcheck up`: the supervisor that starts the stack, watches it and stops it.

Children are started in their own process groups and stopped in reverse order (services
first, then NATS and PostgreSQL) on Ctrl-C or SIGTERM, so nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from services.kit.auth import load_or_create_key
from spotcheck.embedded import EmbeddedError, EmbeddedPostgres, start_nats, stop_process
from spotcheck.stack.health import probe_nats, probe_pg, short_pg
from spotcheck.stack.processes import (
    RELAY,
    SERVICES,
    ensure_runtime_dir,
    nats_port,
    service_ports,
    spawn,
    tail,
)
from spotcheck.stack.stackfile import (
    StackError,
    check_not_running,
    forget_stack,
    read_json,
    write_stack,
)

READY_TIMEOUT_S = 90.0


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
        check_not_running(self.var_dir)
        info = self._start_all()
        write_stack(self.var_dir, info)
        self._print_table(info)
        return info

    def serve(self) -> None:
        """Keep running until Ctrl-C/SIGTERM (after `catch_signals`) or a child stops."""
        while not self._stop:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    self.console.print(
                        f"[red]{name} stopped (code {proc.returncode}); stopping the stack[/]"
                    )
                    self._stop = True
                    break
            time.sleep(0.3)

    def stop(self) -> None:
        """Stop the services, then NATS and PostgreSQL; forget `var/stack.json`. Idempotent."""
        for name in (RELAY, *reversed(SERVICES), "nats"):
            proc = self._procs.get(name)
            if proc is not None:
                stop_process(proc)
        if self._pg is not None:
            self._pg.stop()
            self._pg = None
        forget_stack(self.var_dir)
        self._procs.clear()

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

    def _start_all(self) -> dict[str, Any]:
        notes: list[str] = []
        nats_url = self.nats_url
        if not nats_url:
            port = nats_port(notes)
            try:
                self._procs["nats"] = start_nats(
                    self.var_dir / "nats", port=port, log_file=self.var_dir / "logs" / "nats.log"
                )
            except EmbeddedError as exc:
                raise StackError(str(exc)) from None
            nats_url = f"nats://127.0.0.1:{port}"
        else:
            probe_nats(nats_url)
        database_url = self.database_url
        if not database_url:
            ensure_runtime_dir()
            self._pg = EmbeddedPostgres((self.var_dir / "pg").resolve())
            try:
                database_url = self._pg.start()
            except EmbeddedError as exc:
                raise StackError(str(exc)) from None
        else:
            probe_pg(database_url)
        load_or_create_key(self.var_dir / "jwt.key")
        services = service_ports(notes)
        publisher_url = str(services["publisher"]["url"])
        for name in SERVICES:
            self._procs[name] = spawn(
                name,
                var_dir=self.var_dir,
                port=int(services[name]["port"]),
                nats_url=nats_url,
                database_url=database_url,
                publisher_url=publisher_url,
                urls={n: str(info["url"]) for n, info in services.items()},
            )
        for note in notes:
            self.console.print(f"[yellow]note:[/] {note}")
        self._wait_ready(services)
        # After the publisher migrated its schema: the relay only reads and writes it.
        self._procs[RELAY] = spawn(
            RELAY,
            var_dir=self.var_dir,
            port=None,
            nats_url=nats_url,
            database_url=database_url,
            module="services.publisher.relay",
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

    def _wait_ready(self, services: dict[str, dict[str, Any]]) -> None:
        pending = set(services)
        deadline = time.monotonic() + READY_TIMEOUT_S
        with self.console.status("waiting for services to be ready…") as status:
            while pending and not self._stop:
                for name in sorted(pending):
                    proc = self._procs[name]
                    if proc.poll() is not None:
                        last = tail(self.var_dir / "logs" / f"{name}.log")
                        raise StackError(
                            f"{name} exited with code {proc.returncode} while starting: {last}"
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

    # -- run and stop -----------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stop = True

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
            short_pg(info["database_url"]),
            "embedded (var/pg)" if info["database_embedded"] else "external",
        )
        for name in SERVICES:
            url = info["services"][name]["url"]
            table.add_row(name, url, f"{url}/docs")
        table.add_row(RELAY, "(process)", "delivers results: disclosure, credit, referral, stream")
        self.console.print(table)

    def _detach(self) -> None:
        self._prepare_var()
        check_not_running(self.var_dir)
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
                    f"{tail(self.var_dir / 'logs' / 'stack.log')}"
                )
            if read_json(self.var_dir / "stack.json").get("pid") == proc.pid:
                self.console.print(f"stack running in the background (pid {proc.pid})")
                return
            time.sleep(0.3)
        stop_process(proc)
        raise StackError("the stack did not become ready in time; see var/logs/stack.log")
