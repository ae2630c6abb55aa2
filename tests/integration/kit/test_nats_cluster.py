"""deploy/nats/cluster-node.conf: three real nodes, replicas-3 streams, one node lost.

This is the configuration a province runs; the services' own user (with its permissions from
accounts.conf) creates its stream with replicas 3 and keeps publishing when a node is down.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from contracts.base import Contract
from services.kit.bus import Bus
from tests.cluster.nats_cluster import NatsCluster


class Changed(Contract):
    uscc: str


@pytest.fixture
def cluster(tmp_path: Path):
    nodes = NatsCluster(tmp_path)
    nodes.start()
    yield nodes
    nodes.stop()


async def _connect(ports: list[int], pw: str) -> Bus:
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


async def test_replicated_stream_survives_a_lost_node(cluster: NatsCluster) -> None:
    ports, pw = cluster.ports, cluster.passwords["registry"]
    bus = await _connect(ports, pw)
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

    cluster.stop_node(0)
    bus = await _connect(ports[1:], pw)
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
