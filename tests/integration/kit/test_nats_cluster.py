"""deploy/nats/cluster-node.conf: three real nodes, replicas-3 streams, one node lost.

This is the configuration a province runs; the services' own user (with its permissions from
accounts.conf) creates its stream with replicas 3 and keeps publishing when a node is down.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from contracts.base import Contract
from services.kit.bus import Bus
from spotcheck.embedded import free_port, nats_server_binary, stop_process

ROOT = Path(__file__).resolve().parents[3]
PASSWORDS = {
    name: f"pw-{name.lower()}"
    for name in (
        "REGISTRY",
        "PLANNER",
        "DRAW",
        "PUBLISHER",
        "RELAY",
        "WEB",
        "CLI",
        "CREDIT",
        "CASES",
        "AGENCY",
        "SYS",
    )
}


class Changed(Contract):
    uscc: str


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


@pytest.fixture
def cluster(tmp_path: Path):
    ports = [free_port() for _ in range(3)]
    routes = [free_port() for _ in range(3)]
    procs: list[subprocess.Popen[bytes]] = []
    for i in range(3):
        env = dict(os.environ)
        env.update({f"SPOTCHECK_NATS_PASS_{k}": v for k, v in PASSWORDS.items()})
        env.update(
            SPOTCHECK_NATS_SERVER_NAME=f"nats-{i + 1}",
            SPOTCHECK_NATS_HOST="127.0.0.1",
            SPOTCHECK_NATS_PORT=str(ports[i]),
            SPOTCHECK_NATS_CLUSTER_PORT=str(routes[i]),
            SPOTCHECK_NATS_STORE_DIR=str(tmp_path / f"store{i}"),
            **{
                f"SPOTCHECK_NATS_ROUTE_{j + 1}": f"nats-route://127.0.0.1:{routes[j]}"
                for j in range(3)
            },
        )
        log = tmp_path / f"node{i}.log"
        procs.append(
            subprocess.Popen(
                [str(nats_server_binary()), "-c", str(ROOT / "deploy/nats/cluster-node.conf")],
                env=env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
        _wait_port(ports[i], procs[i], log)
    yield ports, procs
    for proc in procs:
        stop_process(proc)


async def _connect(ports: list[int]) -> Bus:
    pw = PASSWORDS["REGISTRY"]
    url = ",".join(f"nats://registry:{pw}@127.0.0.1:{p}" for p in ports)
    deadline = time.monotonic() + 30
    while True:
        bus = await Bus.connect(url, name="spotcheck-registry")
        try:
            # JetStream needs a meta leader before streams can be made.
            await bus.js.account_info()
            return bus
        except Exception:
            await bus.close()
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_replicated_stream_survives_a_lost_node(cluster) -> None:
    ports, procs = cluster
    bus = await _connect(ports)
    try:
        await bus.ensure_stream("REGISTRY", ["spotcheck.v1.registry.entity.changed"], replicas=3)
        info = await bus.js.stream_info("REGISTRY")
        assert info.config.num_replicas == 3
        assert info.cluster is not None and len(info.cluster.replicas or []) == 2
        await bus.publish_event(
            "spotcheck.v1.registry.entity.changed", Changed(uscc="91360202MA3500005R")
        )
    finally:
        await bus.close()

    stop_process(procs[0])
    bus = await _connect(ports[1:])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                await bus.publish_event(
                    "spotcheck.v1.registry.entity.changed", Changed(uscc="92360203L000000006")
                )
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        info = await bus.js.stream_info("REGISTRY")
        assert info.state.messages == 2
    finally:
        await bus.close()
