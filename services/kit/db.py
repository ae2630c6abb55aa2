"""PostgreSQL: an asyncpg pool per service, one schema per service, forward-only migrations.

Migrations are `NNN_name.sql` files applied in order, each in its own transaction, recorded
with their SHA-256 in `<schema>.schema_migrations`; an applied file that later changes is an
error (write a new migration instead). An advisory lock keeps two copies of a service from
migrating at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from services.kit.errors import TemporaryError

KIT_MIGRATIONS = Path(__file__).parent / "migrations"
CONNECT_TIMEOUT_S = 10.0
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]*$")


class DatabaseError(RuntimeError):
    """The database could not be reached or migrated; the message says how to fix it."""


async def _init_connection(conn: asyncpg.Connection) -> None:
    def _dumps(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, default=str)

    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=_dumps, decoder=json.loads, schema="pg_catalog")


class Database:
    """A pool bound to one schema (its `search_path`)."""

    def __init__(self, *, url: str, schema: str, pool_max: int = 10) -> None:
        if not _SCHEMA.match(schema):
            raise ValueError(f"bad schema name {schema!r}")
        self.url = url
        self.schema = schema
        self.pool_max = pool_max
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        """The connection pool (after `connect`)."""
        if self._pool is None:
            raise RuntimeError("Database.connect() was not called")
        return self._pool

    async def connect(self) -> None:
        """Create the schema if needed and open the pool."""
        try:
            conn = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT_S)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise DatabaseError(
                f"cannot reach PostgreSQL at {_redact(self.url)}: {exc}. "
                "Start it (spotcheck up starts one) or set SPOTCHECK_DATABASE_URL."
            ) from exc
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        except asyncpg.UniqueViolationError:
            pass  # two copies created it at the same moment
        finally:
            await conn.close()
        self._pool = await asyncpg.create_pool(
            self.url,
            min_size=1,
            max_size=self.pool_max,
            init=_init_connection,
            server_settings={"search_path": f'"{self.schema}",public'},
            # A new connection while PostgreSQL is away fails within this (a 503 to the
            # caller: services/kit/unavailable.py) instead of asyncpg's default minute.
            timeout=CONNECT_TIMEOUT_S,
        )

    async def migrate(self, *directories: Path) -> list[str]:
        """Apply pending migrations from the kit and the given folders; return what was applied."""
        applied: list[str] = []
        async with self.pool.acquire() as conn:
            lock = int.from_bytes(
                hashlib.sha256(self.schema.encode()).digest()[:8], "big", signed=True
            )
            await conn.execute("SELECT pg_advisory_lock($1)", lock)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version text PRIMARY KEY, sha256 text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
                done = {
                    r["version"]: r["sha256"]
                    for r in await conn.fetch("SELECT version, sha256 FROM schema_migrations")
                }
                for directory in (KIT_MIGRATIONS, *directories):
                    prefix = "kit:" if directory == KIT_MIGRATIONS else ""
                    for path in sorted(directory.glob("*.sql")):
                        version = prefix + path.name
                        text = path.read_text(encoding="utf-8")
                        digest = hashlib.sha256(text.encode()).hexdigest()
                        if version in done:
                            if done[version] != digest:
                                raise DatabaseError(
                                    f"migration {path} changed after it was applied to schema "
                                    f"{self.schema}; migrations are forward-only: add a new file"
                                )
                            continue
                        async with conn.transaction():
                            await conn.execute(text)
                            await conn.execute(
                                "INSERT INTO schema_migrations (version, sha256) VALUES ($1, $2)",
                                version,
                                digest,
                            )
                        applied.append(version)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", lock)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        """A connection inside a transaction; commits when the block ends without error."""
        try:
            conn_cm = self.pool.acquire()
            conn = await conn_cm.__aenter__()
        except (OSError, asyncpg.PostgresConnectionError) as exc:
            raise TemporaryError(f"database unavailable: {exc}") from exc
        try:
            async with conn.transaction():
                yield conn
        finally:
            await conn_cm.__aexit__(None, None, None)

    async def ping(self) -> bool:
        """Whether a trivial query answers."""
        try:
            async with self.pool.acquire(timeout=2) as conn:
                return bool(await conn.fetchval("SELECT 1") == 1)
        except Exception:
            return False

    async def close(self, *, timeout: float = 10.0) -> None:
        """Close the pool; connections still held after `timeout` seconds are terminated.

        A graceful close waits for every acquired connection to be released, so one task that
        never lets go (a LISTEN loop cancelled at the wrong moment) would hang shutdown.
        """
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout)
            except TimeoutError:
                pool.terminate()


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)
