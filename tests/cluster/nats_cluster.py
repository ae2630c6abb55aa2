"""A 3-node NATS cluster started from deploy/nats/cluster-node.conf, as a province runs it.

Each node is a real nats-server from the wheel with the accounts of deploy/nats/accounts.conf
(passwords made in a credentials folder, as `spotcheck up` makes them); a node can be stopped
and started again on the same ports and store, as an operator's maintenance would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from spotcheck.embedded import free_port, nats_server_binary, stop_process
from spotcheck.stack import accounts

ROOT = Path(__file__).resolve().parents[2]
NODE_CONF = ROOT / "deploy" / "nats" / "cluster-node.conf"


@dataclass
class NatsCluster:
    """Three nodes on free ports; `credentials` holds each NATS user's password file."""

    folder: Path
    size: int = 3
    ports: list[int] = field(default_factory=list)
    routes: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def credentials(self) -> Path:
        """The passwords folder (`SPOTCHECK_NATS_CREDENTIALS_DIR`)."""
        return self.folder / "secrets" / "nats"

    def url(self, nodes: list[int] | None = None) -> str:
        """The client URL listing the nodes (all of them by default), without credentials."""
        picked = range(self.size) if nodes is None else nodes
        return ",".join(f"nats://127.0.0.1:{self.ports[i]}" for i in picked)

    def start(self) -> None:
        """Start every node and wait until each takes connections."""
        self.passwords = accounts.ensure_passwords(
            self.credentials, accounts.password_users(accounts.accounts_text())
        )
        self.ports = [free_port() for _ in range(self.size)]
        self.routes = [free_port() for _ in range(self.size)]
        self.procs = [None] * self.size
        for i in range(self.size):
            self.start_node(i)

    def start_node(self, i: int) -> None:
        """Start node `i` (again) on its ports and store."""
        env = dict(os.environ)
        env.update(accounts.server_environment(self.passwords))
        env.update(
            SPOTCHECK_NATS_SERVER_NAME=f"nats-{i + 1}",
            SPOTCHECK_NATS_HOST="127.0.0.1",
            SPOTCHECK_NATS_PORT=str(self.ports[i]),
            SPOTCHECK_NATS_CLUSTER_PORT=str(self.routes[i]),
            SPOTCHECK_NATS_STORE_DIR=str(self.folder / f"store{i + 1}"),
            **{
                f"SPOTCHECK_NATS_ROUTE_{j + 1}": f"nats-route://127.0.0.1:{self.routes[j]}"
                for j in range(self.size)
            },
        )
        log = self.folder / f"nats-{i + 1}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [str(nats_server_binary()), "-c", str(NODE_CONF)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.procs[i] = proc
        _wait_port(self.ports[i], proc, log)

    def stop_node(self, i: int) -> None:
        """Stop node `i` (SIGTERM, as a maintenance stop)."""
        proc = self.procs[i]
        if proc is not None:
            stop_process(proc)
            self.procs[i] = None

    def stop(self) -> None:
        """Stop every node."""
        for i in range(self.size):
            self.stop_node(i)


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"node on {port} did not start: {log.read_text()[-2000:]}")
