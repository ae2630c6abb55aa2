"""The relay loop's timing, without a database: when a step runs again, and how it stops."""

from __future__ import annotations

import asyncio
import time

from services.kit.backoff import Backoff
from services.kit.relay import RelayLoop


class Steps:
    """A step that returns the given counts (or raises them), then 0 for ever."""

    def __init__(self, *results: int | Exception) -> None:
        self.results = list(results)
        self.at: list[float] = []

    async def __call__(self) -> int:
        self.at.append(time.monotonic())
        if not self.results:
            return 0
        r = self.results.pop(0)
        if isinstance(r, Exception):
            raise r
        return r


async def test_full_batches_run_back_to_back_then_the_loop_waits() -> None:
    steps = Steps(10, 10, 3)
    loop = RelayLoop(name="t", step=steps, batch=10, idle_s=30, partial_s=30)
    loop.start()
    await asyncio.sleep(0.2)
    await loop.aclose()
    assert len(steps.at) == 3  # two full batches, then a partial one: wait for a nudge


async def test_a_nudge_runs_the_step_at_once() -> None:
    steps = Steps()
    loop = RelayLoop(name="t", step=steps, batch=10, idle_s=30)
    loop.start()
    await asyncio.sleep(0.05)
    loop.nudge()
    await asyncio.sleep(0.05)
    await loop.aclose()
    assert len(steps.at) == 2


async def test_partial_zero_drains_until_nothing_is_left() -> None:
    steps = Steps(3, 2, 1)
    loop = RelayLoop(name="t", step=steps, batch=500, idle_s=30, partial_s=0)
    loop.start()
    await asyncio.sleep(0.1)
    await loop.aclose()
    assert len(steps.at) == 4  # 3, 2, 1, then 0: idle


async def test_failures_back_off_and_nudges_do_not_cut_the_wait() -> None:
    steps = Steps(OSError("down"), OSError("down"), 1)
    loop = RelayLoop(
        name="t", step=steps, batch=10, idle_s=30, retry=Backoff(base_s=0.1, cap_s=1.0)
    )
    loop.start()
    await asyncio.sleep(0.02)
    loop.nudge()  # during the first backoff: ignored
    await asyncio.sleep(0.5)
    await loop.aclose()
    gaps = [b - a for a, b in zip(steps.at, steps.at[1:], strict=False)]
    assert len(steps.at) == 3 and gaps[0] >= 0.09 and gaps[1] >= 0.19  # 0.1 s, then 0.2 s


async def test_stop_finishes_the_step_in_progress() -> None:
    done: list[int] = []

    async def slow() -> int:
        await asyncio.sleep(0.1)
        done.append(1)
        return 10  # a full batch: it would run again at once

    loop = RelayLoop(name="t", step=slow, batch=10, idle_s=30, workers=2)
    run = asyncio.create_task(loop.run())
    await asyncio.sleep(0.05)
    loop.stop()
    await asyncio.wait_for(run, 1)
    assert done == [1, 1]  # both workers recorded their batch, neither started another
