"""Running a service: connect, migrate, ensure streams, answer ping, serve HTTP, stop clean.

Each service's `app.py` builds a `ServiceSpec` (the wiring of its own objects) and its
`__main__.py` calls `main(spec)`. Tests use `started(spec, settings)` to run the same service
in-process against real NATS and PostgreSQL, and talk to `ctx.app` through httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry

from contracts import subjects
from contracts.common import PingReply, PingRequest, Role
from services.kit.audit import AuditTrail
from services.kit.auth import TokenVerifier, load_or_create_key, require
from services.kit.bus import Bus, ConnectError
from services.kit.db import Database, DatabaseError
from services.kit.edge import Limit, RowId
from services.kit.http import create_app
from services.kit.logs import setup_logging
from services.kit.outbox import Outbox
from services.kit.settings import Settings, SettingsError, load_settings

log = logging.getLogger("spotcheck.service")
VERSION = "0.1.0"


@dataclass
class ServiceContext:
    """What a running service has: settings, database, bus, audit trail, token verifier."""

    name: str
    settings: Settings
    db: Database
    bus: Bus
    audit: AuditTrail
    verifier: TokenVerifier
    outbox: Outbox
    metrics: CollectorRegistry = field(default_factory=CollectorRegistry)
    instance: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    app: FastAPI | None = None
    # The service's own objects as its app.py built them (a typed dataclass). Routes, handlers
    # and use cases receive what they need by keyword; this is for tests and tools only.
    wiring: object = None
    background: list[asyncio.Task[Any]] = field(default_factory=list)


W = TypeVar("W")


@dataclass
class ServiceSpec(Generic[W]):
    """How to wire one service: its migrations, the typed objects its `app.py` builds (`build`,
    the one place that constructs them), its routers, and what to start and stop."""

    name: str
    migrations: Path
    build: Callable[[ServiceContext], W]
    routers: Callable[[ServiceContext, W], list[APIRouter]]
    start: Callable[[ServiceContext, W], Awaitable[None]] | None = None
    stop: Callable[[ServiceContext, W], Awaitable[None]] | None = None
    extra_streams: list[tuple[str, list[str]]] = field(default_factory=list)
    # Other services whose event streams this one consumes.
    reads_streams_of: tuple[str, ...] = ()
    # Last touches on the built app (the web service's HTML error pages and static files).
    configure: Callable[[FastAPI, ServiceContext, W], None] | None = None


def make_verifier(settings: Settings) -> TokenVerifier:
    """The token verifier the settings ask for (JWKS URL, or the embedded key file)."""
    if settings.jwt_jwks_url:
        return TokenVerifier(
            jwks_url=settings.jwt_jwks_url,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    return TokenVerifier(
        key=load_or_create_key(settings.key_file()),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


def audit_router(ctx: ServiceContext) -> APIRouter:
    """`/audit/entries` and `/audit/verify` for auditors."""
    router = APIRouter(prefix="/audit", tags=["audit"])

    @router.get("/entries")
    async def entries(
        after: RowId = 0, limit: Limit = 100, _: Any = require(Role.AUDITOR)
    ) -> list[dict[str, Any]]:
        rows = await ctx.audit.entries(after=after, limit=min(limit, 1000))
        return [{**e.__dict__, "at": e.at.isoformat()} for e in rows]

    @router.get("/verify")
    async def verify(_: Any = require(Role.AUDITOR)) -> dict[str, Any]:
        """Re-walk the chain against its copy on the AUDIT stream: `ok`, `entries`, `anchored`
        (how many were compared with their copy), `head` (the last published head's seq) and,
        when broken, `broken_at` (the first entry altered, rewritten or missing), `kind` and
        `reason`. 503 when the stream cannot be read."""
        return (await ctx.audit.verify()).as_dict()

    return router


@asynccontextmanager
async def started(spec: ServiceSpec[W], settings: Settings) -> AsyncIterator[ServiceContext]:
    """Run a service's connections, migrations, streams, handlers and app (no HTTP server)."""
    db = Database(url=settings.database_url, schema=spec.name, pool_max=settings.db_pool_max)
    await db.connect()
    bus: Bus | None = None
    ctx: ServiceContext | None = None
    wiring: W | None = None
    try:
        await db.migrate(spec.migrations)
        bus = await Bus.connect(
            settings.nats_url,
            name=f"spotcheck-{spec.name}",
            credentials=settings.nats_credentials(),
        )
        bus.replicas = settings.stream_replicas
        # Its own stream, and those of the services it reads: they may not exist yet if their
        # owner never started. The same duplicate window as their owner gives them, or each
        # start would reset the other's.
        for svc in (spec.name, *spec.reads_streams_of):
            if not subjects.stream_subjects(svc):
                continue  # a service with no events of its own (web) has no stream
            await bus.ensure_stream(
                subjects.stream_name(svc),
                subjects.stream_subjects(svc),
                replicas=settings.stream_replicas,
                duplicate_window_s=settings.stream_duplicate_window_s,
            )
        await bus.ensure_stream(
            subjects.AUDIT_STREAM,
            [f"{subjects.AUDIT_SUBJECT_PREFIX}.>"],
            replicas=settings.stream_replicas,
            deny_delete=True,
            deny_purge=True,
        )
        for name, subs in spec.extra_streams:
            await bus.ensure_stream(name, subs, replicas=settings.stream_replicas)
        ctx = ServiceContext(
            name=spec.name,
            settings=settings,
            db=db,
            bus=bus,
            audit=AuditTrail(service=spec.name, db=db, bus=bus),
            verifier=make_verifier(settings),
            outbox=Outbox(db=db, bus=bus),
        )
        ctx_ = ctx

        async def ping(_: PingRequest) -> PingReply:
            return PingReply(service=spec.name, version=VERSION, instance=ctx_.instance)

        await bus.serve_rpc(
            subjects.rpc(spec.name, "ping"), ping, request_model=PingRequest, queue=spec.name
        )
        ctx.audit.start_publisher()
        ctx.outbox.start()
        wiring = spec.build(ctx)
        ctx.wiring = wiring
        if spec.start is not None:
            await spec.start(ctx, wiring)

        async def nats_ready() -> bool:
            return ctx_.bus.connected

        ctx.app = create_app(
            service=spec.name,
            version=VERSION,
            verifier=ctx.verifier,
            routers=[*spec.routers(ctx, wiring), audit_router(ctx)],
            ready_checks={"nats": nats_ready, "postgres": db.ping},
            max_body_bytes=settings.max_body_bytes,
            registry=ctx.metrics,
        )
        if spec.configure is not None:
            spec.configure(ctx.app, ctx, wiring)
        yield ctx
    finally:
        if ctx is not None:
            if spec.stop is not None and wiring is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(spec.stop(ctx, wiring), timeout=15)
            for task in ctx.background:
                task.cancel()
            for task in ctx.background:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=10)
            await ctx.audit.stop()
            await ctx.outbox.stop()
        if bus is not None:
            await bus.close()
        await db.close()


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal capture: it would re-raise SIGTERM after serving and kill
    the process before the bus and pool are closed. Our handlers set `should_exit` instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(spec: ServiceSpec[Any], settings: Settings) -> None:
    """Run the service until SIGINT or SIGTERM."""

    port = settings.port_of(spec.name)
    if not _port_free(settings.http_host, port):
        raise ConnectError(
            f"port {port} on {settings.http_host} is taken; "
            f"set SPOTCHECK_{spec.name.upper()}_PORT to a free port"
        )
    async with started(spec, settings) as ctx:
        assert ctx.app is not None
        config = uvicorn.Config(
            ctx.app, host=settings.http_host, port=port, log_config=None, lifespan="off"
        )
        server = _QuietServer(config)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        log.info("%s serving on http://%s:%d", spec.name, settings.http_host, port)
        await server.serve()
        log.info("%s stopping", spec.name)


def main(spec_factory: Callable[[], ServiceSpec[Any]]) -> None:
    """Entry point of `python -m services.<name>`: one clear line and exit 1 on failure."""
    settings = load_settings()
    spec = spec_factory()
    setup_logging(spec.name, level=settings.log_level, json_lines=settings.log_json)
    try:
        asyncio.run(serve(spec, settings))
    except (ConnectError, DatabaseError, SettingsError) as exc:
        print(f"spotcheck {spec.name}: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
