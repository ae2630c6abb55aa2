"""Fixtures of the planner's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from contracts import subjects
from contracts.registry import StatsRequest
from services.kit.bus import Bus

from .support import StatsDouble


@pytest.fixture
async def stats_double(nats_url: str) -> AsyncIterator[StatsDouble]:
    bus = await Bus.connect(nats_url, name="test-registry-stats")
    double = StatsDouble()
    await bus.serve_rpc(
        subjects.rpc("registry", "stats"), double, request_model=StatsRequest, queue="registry"
    )
    yield double
    await bus.close()
