"""The relay loop: the one shape of every "rows in PostgreSQL → somewhere else" copier.

Three relays run on it: the event outbox (services/kit/outbox.py: events → JetStream), the
audit publisher (services/kit/audit.py: chain entries → `AUDIT`) and the publisher's delivery
relay (services/publisher/relay.py: result deliveries → the disclosure system over HTTP and
JetStream). Each gives a `step`: claim a batch of due rows, deliver them, record what happened,
and return how many rows it handled. The loop decides when to run it:

- at once again after a full batch (more is likely due);
- after a partial batch, when woken or after `partial_s`; when nothing was due, when woken or
  after `idle_s`. Woken means `nudge()` in this process (a command just queued a row) or a
  PostgreSQL `NOTIFY` on `channel` (another process did); the timers are the fallback. The
  LISTEN connection dies with its server: after an outage it is opened again once a step
  reaches the database;
- after a failure (the database or NATS went away), after the kit's backoff — doubling from
  `retry.base_s` up to `retry.cap_s`, reset by the next success — so that an outage is not
  hammered and a recovery is noticed within seconds. Nudges do not cut that wait short: the
  rows that caused them stay due.

`workers` loops run the step concurrently, so that recording one batch overlaps delivering the
next; each step must then claim rows no other step holds (a lock, or leases taken with
`FOR UPDATE SKIP LOCKED`). `stop()` lets the steps in progress finish and record their
outcomes; cancelling `run()` stops at once (the rows stay due and are delivered again later
under the same ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from services.kit.backoff import Backoff
from services.kit.db import Database
from services.kit.errors import TemporaryError

log = logging.getLogger("spotcheck.relay")

Step = Callable[[], Awaitable[int]]

# How often a lost LISTEN connection is tried again (only after a step reached the database).
RELISTEN_EVERY_S = 5.0

# Failures a relay expects while a dependency is away: logged in one line, without traceback.
EXPECTED_FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    TemporaryError,
)


class RelayLoop:
    """Runs a relay's `step` whenever rows may be due, in `workers` concurrent loops."""

    def __init__(
        self,
        *,
        name: str,
        step: Step,
        batch: int,
        idle_s: float,
        partial_s: float | None = None,
        settle_s: float = 0.0,
        workers: int = 1,
        wake: asyncio.Event | None = None,
        db: Database | None = None,
        channel: str | None = None,
        retry: Backoff | None = None,
    ) -> None:
        if (db is None) != (channel is None):
            raise ValueError("listening needs both the database and the channel")
        self.name = name
        self.step = step
        self.batch = batch
        self.idle_s = idle_s
        self.partial_s = idle_s if partial_s is None else partial_s
        # After a wait, a moment for the transaction that woke us to commit.
        self.settle_s = settle_s
        self.workers = workers
        self.wake = wake or asyncio.Event()
        self.db = db
        self.channel = channel
        self.retry = retry or Backoff(base_s=0.5, cap_s=5.0)
        self._stopping = False
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: Any = None
        self._relistening = False
        self._listen_tried_at = float("-inf")

    def nudge(self) -> None:
        """Rows may be due now: run the step without waiting for the timer."""
        self.wake.set()

    def start(self) -> None:
        """Run in the background (see `aclose`)."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=self.name)

    def stop(self) -> None:
        """Finish the steps in progress (their outcomes recorded), then return from `run`."""
        self._stopping = True
        self._stopped.set()
        self.wake.set()

    async def aclose(self) -> None:
        """Cancel the background run started by `start` and wait for it (rows stay due)."""
        if self._task is not None:
            # Stopping as well as cancelling: on Python 3.11 `wait_for` can swallow a cancel
            # that lands as its inner wait completes (a NOTIFY at shutdown), and the loop would
            # then run on and this wait never end.
            self.stop()
            self._task.cancel()
            done, _ = await asyncio.wait({self._task}, timeout=15)
            if not done:
                log.warning("%s did not stop within 15 s; left behind", self.name)
            elif not self._task.cancelled():
                with contextlib.suppress(Exception):
                    self._task.result()
            self._task = None

    async def run(self) -> None:
        """Relay until cancelled or stopped."""
        self._listener = await self._listen()
        try:
            await asyncio.gather(*(self._worker() for _ in range(self.workers)))
        finally:
            await self._unlisten()

    async def _unlisten(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            assert self.db is not None and self.channel is not None
            with contextlib.suppress(Exception):
                await listener.remove_listener(self.channel, self._notified)
            with contextlib.suppress(Exception):
                await self.db.pool.release(listener)

    async def _listen_again_if_lost(self) -> None:
        """After PostgreSQL came back (a step just succeeded), LISTEN again on a live connection:
        the one held died with the old server, and only the timers would wake us otherwise."""
        if self.channel is None or self._relistening:
            return
        if _alive(self._listener):
            return
        now = asyncio.get_running_loop().time()
        if now - self._listen_tried_at < RELISTEN_EVERY_S:
            return
        self._relistening, self._listen_tried_at = True, now
        try:
            await self._unlisten()
            self._listener = await self._listen()
            if self._listener is not None:
                log.info("%s: listening on %s again", self.name, self.channel)
                self.wake.set()  # rows queued while nobody listened
        finally:
            self._relistening = False

    async def _worker(self) -> None:
        failures = 0
        while not self._stopping:
            # Cleared before the claim, so that rows queued while it runs wake the next wait.
            self.wake.clear()
            try:
                n = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = self.retry.delay(failures)
                log.warning(
                    "%s failed, again in %.1fs: %s",
                    self.name,
                    delay,
                    exc,
                    exc_info=not isinstance(exc, EXPECTED_FAILURES),
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), delay)
                continue
            failures = 0
            await self._listen_again_if_lost()
            if n >= self.batch or self._stopping:
                continue
            wait = self.idle_s if n == 0 else self.partial_s
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), wait)
                if self.settle_s > 0 and not self._stopping:
                    await asyncio.sleep(self.settle_s)

    def _notified(self, *_: object) -> None:
        self.wake.set()

    async def _listen(self) -> Any:
        """Hold a connection that LISTENs on the channel (the timers stay the fallback)."""
        if self.db is None or self.channel is None:
            return None
        conn = None
        try:
            conn = await self.db.pool.acquire()
            await conn.add_listener(self.channel, self._notified)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("%s: cannot listen on %s, polling: %s", self.name, self.channel, exc)
            if conn is not None:
                with contextlib.suppress(Exception):
                    await self.db.pool.release(conn)
            return None
        except BaseException:
            # Cancelled while starting (a service stopped at once): never keep the connection,
            # or closing the pool would wait for it.
            if conn is not None:
                with contextlib.suppress(Exception):
                    await self.db.pool.release(conn)
            raise
        return conn


def _alive(conn: Any) -> bool:
    """Is this held connection still usable? The pool detaches one whose server went away, and
    then even asking raises."""
    if conn is None:
        return False
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False
