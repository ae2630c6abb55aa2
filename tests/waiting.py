"""Waiting for a condition, with a bound, instead of sleeping a fixed time and then asserting.

A fixed sleep is either too short on a loaded machine (a flaky failure) or longer than needed
(a slow suite), and before an assertion that "nothing happened" it proves nothing: the thing may
simply not have happened yet. Wait instead for the state that makes the outcome final (a
consumer with nothing pending, a process gone, a stream holding what the outbox flushed), then
assert. The bound only stops a hang; it is not a performance claim (those are in `bench/`).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

POLL_S = 0.05


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], *, what: str, timeout: float = 30.0
) -> None:
    """Return as soon as `check()` (sync or async) is true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(POLL_S)


def wait_until(check: Callable[[], bool], *, what: str, timeout: float = 30.0) -> None:
    """The same for code without an event loop (processes, files)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(POLL_S)
