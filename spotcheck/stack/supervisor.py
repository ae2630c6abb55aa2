"""`spotcheck up`: the supervisor that starts the stack, watches it and stops it.

Children are started in their own process groups and stopped in reverse order (services
first, then NATS and PostgreSQL) on Ctrl-C or SIGTERM, so nothing is left behind.

Once ready, a watcher thread keeps the stack whole (`watcher.py`): a part that exits (any copy
of a service or of the relay, NATS, PostgreSQL) is started again on the same port after the
backoff of `healing.py`; only the fifth crash of one part within a minute stops the stack.
NATS keeps its port (and the services theirs) across restarts of the stack: `var/ports.json`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from services.kit.auth import load_or_create_key
from services.kit.settings import SettingsError, load_settings
from spotcheck.embedded import EmbeddedError, EmbeddedPostgres, start_nats, stop_process
from spotcheck.stack import accounts
from spotcheck.stack.healing import Restarts
from spotcheck.stack.health import probe_nats, probe_pg, short_pg
from spotcheck.stack.processes import (
    MAX_COPIES,
    RELAY,
    SERVICES,
    ensure_runtime_dir,
    nats_port,
    part_name,
    service_ports,
    spawn,
    tail,
)
from spotcheck.stack.stackfile import (
    StackError,
    check_not_running,
    forget_stack,
    read_json,
    remember_ports,
    remembered_ports,
    write_stack,
)
from spotcheck.stack.watcher import WATCH_EVERY_S, Watcher

READY_TIMEOUT_S = 90.0


@dataclass
class Stack(Watcher):
    """The local stack in one data folder (its restart loop: `Watcher`, watcher.py)."""

    var_dir: Path
    nats_url: str | None = None
    database_url: str | None = None
    # How many copies of each service (and of the relay) run: DESIGN §11, `--copies`.
    copies: int = 1
    console: Console = field(default_factory=lambda: Console(stderr=False))
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _pg: EmbeddedPostgres | None = None
    _stop: bool = False
    # How to start each part again: its spawn arguments (NATS: its config and environment).
    _spawn_args: dict[str, dict[str, Any]] = field(default_factory=dict)
    _nats_start: dict[str, Any] | None = None
    _urls: dict[str, str] = field(default_factory=dict)  # part → its URL
    _restarts: Restarts = field(default_factory=Restarts)
    _watcher: threading.Thread | None = None
    _halt: threading.Event = field(default_factory=threading.Event)
    # Set when the watcher gave up on a part: why the stack stopped.
    failure: str | None = None

    def run(self, *, detach: bool = False) -> None:
        """Start everything and serve until Ctrl-C/SIGTERM (or return when `detach`).

        Raises `StackError` when a part crashed too often (after stopping everything)."""
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
        if self.failure:
            raise StackError(self.failure)

    def catch_signals(self) -> None:
        """From now on Ctrl-C and SIGTERM only ask the stack to stop (see `serve`)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def start(self) -> dict[str, Any]:
        """Start NATS, PostgreSQL and the services; wait until ready; record and print them;
        from then on restart whatever stops (the watcher).

        Returns what `var/stack.json` holds. On failure raises `StackError`; call `stop` (in a
        `finally`) to stop whatever had started.
        """
        self._prepare_var()
        check_not_running(self.var_dir)
        info = self._start_all()
        write_stack(self.var_dir, info)
        self._print_table(info)
        self._watcher = threading.Thread(target=self._watch, name="spotcheck-watch", daemon=True)
        self._watcher.start()
        return info

    def serve(self) -> None:
        """Keep running until Ctrl-C/SIGTERM (after `catch_signals`) or until the watcher gave
        up on a part (`failure`)."""
        while not self._stop and not self._halt.is_set():
            time.sleep(WATCH_EVERY_S)

    def stop(self) -> None:
        """Stop the watcher, the services, then NATS and PostgreSQL; forget
        `var/stack.json`. Idempotent."""
        self._halt.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=60)
            self._watcher = None
        # The reverse of the start: relays, the services (the web first), then NATS.
        for name in reversed(list(self._procs)):
            stop_process(self._procs[name])
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
        if not 1 <= self.copies <= MAX_COPIES:
            raise StackError(f"--copies must be between 1 and {MAX_COPIES} (got {self.copies})")
        notes: list[str] = []
        remembered = remembered_ports(self.var_dir)
        try:
            settings = load_settings(var_dir=self.var_dir)
            nats_url = self.nats_url
            folder: Path | None
            if not nats_url:
                folder = accounts.credentials_dir(self.var_dir)
                port = nats_port(notes, remembered=remembered.get("nats"))
                self._start_nats(folder, port)
                nats_url = f"nats://127.0.0.1:{port}"
            else:
                folder = settings.nats_credentials_dir
                probe_nats(nats_url, accounts.cli_credentials(settings, {}))
            part_env = {
                part: accounts.part_environment(part, folder) for part in (*SERVICES, RELAY)
            }
        except (accounts.AccountsError, SettingsError) as exc:
            raise StackError(str(exc)) from None
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
        services = service_ports(notes, remembered=remembered, copies=self.copies)
        copies = {name: list(info["copies"]) for name, info in services.items()}
        ports = {str(c["part"]): int(c["port"]) for cs in copies.values() for c in cs}
        if not self.nats_url:
            ports["nats"] = port
        remember_ports(self.var_dir, ports)
        publisher_url = str(services["publisher"]["url"])
        self._urls = {str(c["part"]): str(c["url"]) for cs in copies.values() for c in cs}
        # The web reaches every copy of each service (services/web/backends.py spreads its
        # calls over them and passes over a copy that does not answer).
        every_url = {name: ",".join(str(c["url"]) for c in cs) for name, cs in copies.items()}
        for name in SERVICES:
            for copy in copies[name]:
                part = str(copy["part"])
                self._spawn_args[part] = {
                    "var_dir": self.var_dir,
                    "port": int(copy["port"]),
                    "service": name,
                    "nats_url": nats_url,
                    "database_url": database_url,
                    "publisher_url": publisher_url,
                    "urls": every_url,
                    "nats_env": part_env[name],
                }
                self._procs[part] = spawn(part, **self._spawn_args[part])
                if copy is copies[name][0] and self.copies > 1:
                    # Copy 1 migrates the schema alone (an advisory lock would make the others
                    # wait anyway); the other copies then start on a ready schema.
                    self._wait_ready({part: self._urls[part]})
        for note in notes:
            self.console.print(f"[yellow]note:[/] {note}")
        self._wait_ready(self._urls)
        # After the publisher migrated its schema: the relays only read and write it; several
        # share the outbox by leases (FOR UPDATE SKIP LOCKED).
        for copy in range(1, self.copies + 1):
            part = part_name(RELAY, copy)
            self._spawn_args[part] = {
                "var_dir": self.var_dir,
                "port": None,
                "service": RELAY,
                "nats_url": nats_url,
                "database_url": database_url,
                "module": "services.publisher.relay",
                "nats_env": part_env[RELAY],
            }
            self._procs[part] = spawn(part, **self._spawn_args[part])
        return {
            "pid": os.getpid(),
            "nats_url": nats_url,
            "nats_embedded": self.nats_url is None,
            "database_url": database_url,
            "database_embedded": self.database_url is None,
            "var_dir": str(self.var_dir.resolve()),
            "services": services,
            "copies": self.copies,
            "started_at": time.time(),
        }

    def _start_nats(self, folder: Path, port: int) -> None:
        """The embedded NATS with deploy/nats/accounts.conf and the generated passwords."""
        passwords = accounts.ensure_passwords(
            folder, accounts.password_users(accounts.accounts_text())
        )
        store = self.var_dir / "nats"
        if accounts.adopt_global_streams(store):
            self.console.print(
                "[yellow]note:[/] NATS now runs with accounts: its streams moved to the "
                "SPOTCHECK account"
            )
        config = accounts.write_server_config(
            self.var_dir / "nats-config", host="127.0.0.1", port=port, store_dir=store
        )
        self._nats_start = {
            "port": port,
            "log_file": self.var_dir / "logs" / "nats.log",
            "config": config,
            "env": accounts.server_environment(passwords),
        }
        try:
            self._procs["nats"] = start_nats(store, **self._nats_start)
        except EmbeddedError as exc:
            raise StackError(str(exc)) from None

    def _wait_ready(self, urls: dict[str, str]) -> None:
        """Wait until each part answers `/readyz` (`urls`: part → its URL)."""
        pending = set(urls)
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
                        r = httpx.get(urls[name] + "/readyz", timeout=1.0)
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
            for copy in info["services"][name]["copies"]:
                url = copy["url"]
                table.add_row(copy["part"], url, f"{url}/docs")
        relays = ", ".join(part_name(RELAY, k) for k in range(1, self.copies + 1))
        table.add_row(relays, "(process)", "delivers results: disclosure, credit, referral, stream")
        self.console.print(table)

    def _detach(self) -> None:
        self._prepare_var()
        check_not_running(self.var_dir)
        args = [sys.executable, "-m", "spotcheck", "up", "--var-dir", str(self.var_dir)]
        if self.nats_url:
            args += ["--nats-url", self.nats_url]
        if self.database_url:
            args += ["--database-url", self.database_url]
        if self.copies != 1:
            args += ["--copies", str(self.copies)]
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
