"""The watcher of `spotcheck up`: it keeps the stack whole while it runs.

A part that exits (any copy of a service or of the relay, NATS, PostgreSQL) is started again on
the same port after the backoff of `healing.py`, said on the console and in the part's log, and
reported when it is ready again. Only the fifth crash of one part within a minute stops the
stack (`failure`), naming the part and the end of its log. `Stack` (supervisor.py) is a
`Watcher`: it starts the parts and records how to start each again; this is the loop after.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from spotcheck.embedded import EmbeddedError, EmbeddedPostgres, start_nats
from spotcheck.stack.healing import Restarts
from spotcheck.stack.processes import RELAY, SERVICES, service_of, spawn, tail

WATCH_EVERY_S = 0.3


class Watcher:
    """The restart loop over the parts a `Stack` started (its fields, declared here)."""

    var_dir: Path
    console: Console
    failure: str | None
    _procs: dict[str, subprocess.Popen[bytes]]
    _pg: EmbeddedPostgres | None
    _stop: bool
    _spawn_args: dict[str, dict[str, Any]]
    _nats_start: dict[str, Any] | None
    _urls: dict[str, str]
    _restarts: Restarts
    _halt: threading.Event

    def _watch(self) -> None:
        """Restart each part that stopped (after its backoff) until `stop`, or give up."""
        due: dict[str, float] = {}  # part → when to start it again (monotonic)
        coming_back: set[str] = set()  # services restarted, not yet ready
        while not self._halt.wait(WATCH_EVERY_S) and not self._stop:
            try:
                self._watch_once(due, coming_back)
            except Exception as exc:  # the watcher must outlive any surprise of one round
                self.console.print(f"[red]spotcheck up: watching the stack failed: {exc!r}[/]")

    def _watch_once(self, due: dict[str, float], coming_back: set[str]) -> None:
        now = time.monotonic()
        for name in self._parts():
            if self._halt.is_set() or self._stop:
                return
            if name in due:
                if now >= due[name]:
                    del due[name]
                    if not self._restart(name):
                        self._crashed(name, "could not start", due)
                    elif service_of(name) in SERVICES:
                        coming_back.add(name)
                continue
            how = self._exit_code(name)
            if how is not None:
                coming_back.discard(name)
                self._crashed(name, how, due)
        for name in sorted(coming_back):
            if self._ready(name):
                coming_back.discard(name)
                self._say(name, f"{name} is ready again on {self._urls[name]}", "green")

    def _parts(self) -> list[str]:
        parts = ["postgres"] if self._pg is not None else []
        return parts + list(self._procs)

    def _exit_code(self, name: str) -> str | None:
        """How the part ended, or None while it runs."""
        if name == "postgres":
            assert self._pg is not None
            return None if self._pg.running() else "stopped"
        code = self._procs[name].poll()
        if code is None:
            return None
        return f"signal {-code}" if code < 0 else f"code {code}"

    def _crashed(self, name: str, how: str, due: dict[str, float]) -> None:
        now = time.monotonic()
        self._clean_up_after(name)
        delay = self._restarts.crashed(name, now)
        log = self.var_dir / "pg" / "log" if name == "postgres" else self._log_of(name)
        if delay is None:
            self.failure = (
                f"{name} stopped {self._restarts.limit} times within "
                f"{self._restarts.window_s:.0f} s (last: {how}); stopping the stack. "
                f"The end of {log}: {tail(log, 5)}"
            )
            self._say(name, self.failure, "bold red")
            self._halt.set()
            return
        count = self._restarts.recent(name, now)
        self._say(
            name,
            f"{name} stopped ({how}); starting it again in {delay:.1f} s "
            f"(crash {count} of at most {self._restarts.limit - 1} within "
            f"{self._restarts.window_s:.0f} s)",
            "yellow",
        )
        due[name] = now + delay

    def _clean_up_after(self, name: str) -> None:
        """Whatever the dead part left in its process group (worker processes) goes too."""
        proc = self._procs.get(name)
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def _restart(self, name: str) -> bool:
        """Start a part again as it was started; whether it started."""
        try:
            if name == "postgres":
                assert self._pg is not None
                self._pg.start()
                self._say(name, "postgres is running again", "green")
            elif name == "nats":
                assert self._nats_start is not None
                self._procs[name] = start_nats(self.var_dir / "nats", **self._nats_start)
                self._say(
                    name, f"nats is running again on port {self._nats_start['port']}", "green"
                )
            else:
                self._procs[name] = spawn(name, **self._spawn_args[name])
                if service_of(name) == RELAY:
                    self._say(name, f"{name} started again", "green")
        except (EmbeddedError, OSError) as exc:
            self._say(name, f"{name} did not start: {exc}", "red")
            return False
        return True

    def _log_of(self, name: str) -> Path:
        return self.var_dir / "logs" / f"{name}.log"

    def _ready(self, name: str) -> bool:
        try:
            return httpx.get(self._urls[name] + "/readyz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def _say(self, name: str, message: str, style: str) -> None:
        """On the console, and as a JSON line in the part's own log."""
        self.console.print(f"[{style}]{message}[/]")
        if name == "postgres":
            return  # its log belongs to PostgreSQL
        line = {
            "ts": datetime.now(UTC).isoformat(),
            "level": "error" if "red" in style else "warning" if style == "yellow" else "info",
            "service": "spotcheck-up",  # SUPERVISOR_MARK: `tail` leaves these out
            "logger": "spotcheck.stack",
            "msg": message,
        }
        with contextlib.suppress(OSError):
            with self._log_of(name).open("a", encoding="utf-8") as f:
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
