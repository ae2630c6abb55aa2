"""The message bus: NATS with JetStream (DESIGN §4).

- `Bus.connect` connects with unlimited reconnects;
- `ensure_stream` creates or updates a stream;
- `publish_event` / `publish_raw` send a JSON body in the envelope of services/kit/envelope.py
  (CloudEvents `ce-*` headers, `Nats-Msg-Id` = the event id, so that JetStream drops a repeated
  publish);
- `consume` runs a durable pull consumer: ack after the handler returned (its effect
  committed), `nak(delay)` on `TemporaryError` (the kit's backoff), `term` + log on a poison
  message;
- `follow` runs an ordered, ephemeral consumer of this process alone: every copy of a service
  sees every new message (for effects local to a copy, such as warming a cache);
- `serve_rpc` / `request` are request/reply with timeouts and the one error shape
  (services/kit/rpc.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import AuthorizationError, NoServersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import BadRequestError, NotFoundError
from pydantic import BaseModel, ValidationError

from services.kit import envelope, rpc
from services.kit.backoff import Backoff
from services.kit.envelope import Incoming, dumps, loads
from services.kit.errors import DomainError, PoisonMessage, TemporaryError
from services.kit.unavailable import as_unavailable

__all__ = [
    "Bus",
    "ConnectError",
    "Handler",
    "Incoming",
    "PoisonMessage",
    "dumps",
    "loads",
    "nak_delay",
]

log = logging.getLogger("spotcheck.bus")

M = TypeVar("M", bound=BaseModel)


class ConnectError(RuntimeError):
    """The bus could not be reached; the message says where and how to fix it."""


Handler = Callable[[Incoming], Awaitable[None]]

# Redelivery after a handler's temporary failure: 0.5 s, doubling, at most 30 s (max_deliver
# bounds the attempts). Deterministic: JetStream spreads redeliveries by itself.
NAK_BACKOFF = Backoff(base_s=0.5, cap_s=30.0)
# A pull that failed (the connection is down): try again soon, then less often.
FETCH_BACKOFF = Backoff(base_s=1.0, cap_s=5.0)


def nak_delay(num_delivered: int) -> float:
    """Delay before a redelivery after the `num_delivered`-th delivery failed."""
    return NAK_BACKOFF.delay(max(1, num_delivered))


class Bus:
    """A connection to NATS with its JetStream context."""

    def __init__(self, *, nc: NATS, source: str) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.source = source
        self._tasks: list[asyncio.Task[None]] = []
        self._subs: list[Any] = []
        self._closing = False
        # Replicas of what this bus creates (object store buckets): 3 on a cluster, so that
        # evidence and frozen lists outlive a lost node (`Settings.stream_replicas`).
        self.replicas = 1

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        name: str,
        connect_timeout: float = 5.0,
        credentials: tuple[str, str] | None = None,
    ) -> Bus:
        """Connect to `url` (comma-separated servers of a cluster allowed), as the user of
        `credentials` (user, password) when given (`Settings.nats_credentials()`)."""
        servers = [u.strip() for u in url.split(",") if u.strip()]
        auth = {"user": credentials[0], "password": credentials[1]} if credentials else {}

        refused: list[str] = []  # the server's "Authorization Violation", seen by error_cb

        async def _on_error(exc: Exception) -> None:
            if isinstance(exc, AuthorizationError) or "authorization" in str(exc).lower():
                refused.append(str(exc))
            log.warning("nats error: %s", exc)

        try:
            nc = await nats.connect(
                servers=servers,
                name=name,
                connect_timeout=connect_timeout,
                # Fail fast on the first connect; reconnect forever once connected.
                max_reconnect_attempts=1,
                reconnect_time_wait=0.2,
                allow_reconnect=True,
                error_cb=_on_error,
                drain_timeout=5,
                **auth,
            )
        except (AuthorizationError, TimeoutError, NoServersError, OSError, NatsTimeout) as exc:
            if refused or isinstance(exc, AuthorizationError):
                who = (
                    f"user {credentials[0]!r}"
                    if credentials
                    else "the URL's user"
                    if "@" in url
                    else "no user"
                )
                raise ConnectError(
                    f"NATS at {_redact(url)} refused {who} ({refused[-1] if refused else exc}). "
                    "Set SPOTCHECK_NATS_USER and SPOTCHECK_NATS_PASSWORD_FILE (or "
                    "SPOTCHECK_NATS_PASSWORD) to this process's user: docs/operations.md."
                ) from exc
            raise ConnectError(
                f"cannot reach NATS at {_redact(url)}: {exc or type(exc).__name__}. "
                "Start it (spotcheck up starts one) or set SPOTCHECK_NATS_URL."
            ) from exc
        nc.options["max_reconnect_attempts"] = -1
        nc.options["reconnect_time_wait"] = 1
        return cls(nc=nc, source=name)

    @property
    def connected(self) -> bool:
        """Whether the connection is up right now."""
        return bool(self.nc.is_connected)

    async def ensure_stream(
        self,
        name: str,
        subjects: list[str],
        *,
        replicas: int = 1,
        deny_delete: bool = False,
        deny_purge: bool = False,
        max_age_s: float | None = None,
        duplicate_window_s: float = 600.0,
    ) -> None:
        """Create the stream, or bring an existing one's subjects up to date."""
        config = js_api.StreamConfig(
            name=name,
            subjects=subjects,
            num_replicas=replicas,
            deny_delete=deny_delete,
            deny_purge=deny_purge,
            max_age=max_age_s,
            duplicate_window=duplicate_window_s,
            storage=js_api.StorageType.FILE,
        )
        try:
            info = await self.js.stream_info(name)
        except NotFoundError:
            try:
                await self.js.add_stream(config)
                return
            except BadRequestError:
                # Another service created it at the same moment (AUDIT, shared buckets): use
                # theirs and bring it up to date below.
                info = await self.js.stream_info(name)
        current = info.config
        if sorted(current.subjects or []) != sorted(subjects) or (
            abs((current.duplicate_window or 0) - duplicate_window_s) > 1e-3
        ):
            await self.js.update_stream(config)

    async def publish_event(
        self,
        subject: str,
        data: BaseModel,
        *,
        event_type: str | None = None,
        event_id: str | None = None,
        time: datetime | None = None,
    ) -> int:
        """Publish an event to JetStream; returns the stream sequence.

        Giving the same `event_id` again stores nothing new (dedup window), so a retry after a
        lost ack is safe. Prefer `ctx.outbox.add(conn, …)` when the event records a database
        change: it is then published if and only if the change commits.
        """
        return await self.publish_raw(
            subject, dumps(data), event_type=event_type, event_id=event_id, time=time
        )

    async def publish_raw(
        self,
        subject: str,
        body: bytes,
        *,
        event_type: str | None = None,
        event_id: str | None = None,
        time: datetime | None = None,
        source: str | None = None,
        timeout: float | None = None,
    ) -> int:
        """Publish JSON bytes in the event envelope; returns the stream sequence.

        `source` overrides this connection's CloudEvents source (a relay process publishes on
        behalf of its service); `timeout` bounds the wait for JetStream's ack.
        """
        eid = event_id or envelope.new_event_id()
        headers = envelope.headers(
            event_id=eid, source=source or self.source, subject=subject, time=time
        )
        if event_type:
            headers["ce-type"] = event_type
        try:
            ack = await self.js.publish(subject, body, headers=headers, timeout=timeout)
        except (TimeoutError, NatsTimeout) as exc:
            raise TemporaryError(f"JetStream did not acknowledge {subject}") from exc
        return int(ack.seq)

    def consume(
        self,
        *,
        stream: str,
        durable: str,
        subjects: list[str],
        handler: Handler,
        batch: int = 50,
        ack_wait_s: float = 60.0,
        max_deliver: int = 20,
    ) -> asyncio.Task[None]:
        """Start a durable pull consumer in the background and return its task."""
        task = asyncio.create_task(
            self._consume_loop(
                stream=stream,
                durable=durable,
                subjects=subjects,
                handler=handler,
                batch=batch,
                ack_wait_s=ack_wait_s,
                max_deliver=max_deliver,
            ),
            name=f"consume:{durable}",
        )
        self._tasks.append(task)
        return task

    async def _consume_loop(
        self,
        *,
        stream: str,
        durable: str,
        subjects: list[str],
        handler: Handler,
        batch: int,
        ack_wait_s: float,
        max_deliver: int,
    ) -> None:
        config = js_api.ConsumerConfig(
            durable_name=durable,
            ack_policy=js_api.AckPolicy.EXPLICIT,
            ack_wait=ack_wait_s,
            max_deliver=max_deliver,
            filter_subjects=subjects if len(subjects) > 1 else None,
            filter_subject=subjects[0] if len(subjects) == 1 else None,
        )
        psub = await self.js.pull_subscribe(
            subjects[0] if len(subjects) == 1 else "", durable=durable, stream=stream, config=config
        )
        failures = 0
        while not self._closing:
            try:
                msgs = await psub.fetch(batch, timeout=2)
            except (TimeoutError, NatsTimeout):
                failures = 0
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the connection is down: wait for the reconnect
                if self._closing:
                    return  # nats-py turns a cancelled fetch into "connection closed"
                failures += 1
                delay = FETCH_BACKOFF.delay(failures)
                log.warning("fetch on %s failed, again in %.1fs: %s", durable, delay, exc)
                await asyncio.sleep(delay)
                continue
            failures = 0
            for msg in msgs:
                await self._handle_one(msg, handler, durable)

    async def _handle_one(self, msg: Msg, handler: Handler, durable: str) -> None:
        incoming = Incoming.from_msg(msg)
        fields = {"subject": msg.subject, "consumer": durable, "event_id": incoming.event_id}
        try:
            await handler(incoming)
        except TemporaryError as exc:
            delay = nak_delay(incoming.num_delivered)
            log.warning(
                "temporary failure, retry in %.1fs: %s", delay, exc, extra={"fields": fields}
            )
            await msg.nak(delay=delay)
        except (DomainError, ValidationError, ValueError) as exc:
            log.error("poison message terminated: %s", exc, extra={"fields": fields})
            await msg.term()
        except asyncio.CancelledError:
            await msg.nak()
            raise
        except Exception as exc:
            # Unknown failures are retried with backoff; max_deliver bounds the loop. PostgreSQL
            # away is expected for a while: one line, no traceback.
            delay = nak_delay(incoming.num_delivered)
            outage = as_unavailable(exc)
            if outage is not None:
                log.warning(
                    "temporary failure, retry in %.1fs: %s",
                    delay,
                    outage.message,
                    extra={"fields": fields},
                )
            else:
                log.exception("handler failed, retry in %.1fs", delay, extra={"fields": fields})
            await msg.nak(delay=delay)
        else:
            await msg.ack()

    async def follow(self, *, stream: str, subject: str, handler: Handler) -> None:
        """Hand every message on `subject` published from now on to `handler`, in this process.

        A durable consumer is shared by the copies of a service, so each message reaches only
        one of them; this one is ordered and ephemeral (the server removes it when the process
        goes, and the client recreates it after a reconnect). Nothing is acknowledged or
        redelivered: use it only where a missed message costs time, not correctness (the
        handler's effect must also be reached another way, e.g. by reading PostgreSQL).
        A failing handler is logged; the next message is still delivered.
        """

        async def _cb(msg: Msg) -> None:
            incoming = Incoming.from_msg(msg)
            try:
                await handler(incoming)
            except Exception:
                log.exception(
                    "follower of %s failed", subject, extra={"fields": {"subject": msg.subject}}
                )

        sub = await self.js.subscribe(
            subject,
            stream=stream,
            cb=_cb,
            ordered_consumer=True,
            deliver_policy=js_api.DeliverPolicy.NEW,
        )
        self._subs.append(sub)

    async def serve_rpc(
        self,
        subject: str,
        handler: Callable[[M], Awaitable[BaseModel]],
        *,
        request_model: type[M],
        queue: str,
        concurrency: int = 8,
    ) -> None:
        """Answer requests on `subject` (queue group `queue`, so copies share the load)."""
        sub = await rpc.serve(
            self.nc,
            subject,
            handler,
            request_model=request_model,
            queue=queue,
            concurrency=concurrency,
            spawn=self._spawn,
        )
        self._subs.append(sub)
        # The server knows the subscription once this returns: a request sent right after (a
        # test's, or another copy's the moment this one says it is ready) finds a responder.
        await self.nc.flush()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` as a task that `close` cancels; it forgets itself when done."""
        task = asyncio.create_task(coro)
        self._tasks.append(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    async def request(
        self, subject: str, body: BaseModel, reply_model: type[M], *, timeout: float = 10.0
    ) -> M:
        """Send a request and parse the reply; a remote error is raised as our own error."""
        return await rpc.request(self.nc, subject, body, reply_model, timeout=timeout)

    async def object_store(self, bucket: str, *, replicas: int | None = None) -> Any:
        """The object store bucket, created if missing (with `replicas`, else the bus's)."""
        replicas = replicas or self.replicas
        try:
            return await self.js.object_store(bucket)
        except (NotFoundError, nats.js.errors.BucketNotFoundError):
            try:
                return await self.js.create_object_store(
                    bucket, config=js_api.ObjectStoreConfig(bucket=bucket, replicas=replicas)
                )
            except BadRequestError:
                return await self.js.object_store(bucket)  # created by another service meanwhile

    async def close(self) -> None:
        """Stop consumers and close; every step is bounded so shutdown never hangs."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=5)
        # Every publish was awaited for its ack, so a flush is enough; drain would wait for
        # the inboxes of cancelled pull requests until its timeout.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.nc.flush(), timeout=2)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.nc.close(), timeout=5)


def _redact(url: str) -> str:
    """`url` without the passwords of `nats://user:password@host` servers."""
    return re.sub(r"//([^:/@,]+):[^@,]*@", r"//\1:***@", url)
