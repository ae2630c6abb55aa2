"""Fixtures of the planner's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .support import StatsDouble, serving_stats


@pytest.fixture
async def stats_double(nats_url: str) -> AsyncIterator[StatsDouble]:
    """The registry's `rpc.stats` answered by a `StatsDouble` on the test's real NATS."""
    async with serving_stats(nats_url) as double:
        yield double
