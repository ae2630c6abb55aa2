"""Real NATS and real PostgreSQL for integration tests — never fakes.

- `pg_server_url`: one embedded PostgreSQL for the test session (from the wheel, temp dir);
  `database_url`: a fresh database in it for each test.
- `nats_url`: a fresh nats-server with JetStream (from the wheel) on a free port for each test.
- `external_nats_url` / `external_database_url`: the servers already running on this machine
  and CI's; used only with SPOTCHECK_TEST_EXTERNAL=1, otherwise the test is skipped with that
  reason (and under CI=true a missing SPOTCHECK_TEST_EXTERNAL is an error, not a skip).
- `run_service(spec_factory)`: starts a service in-process on those servers and returns its
  context plus an httpx client bound to its app.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest

from contracts.common import Role
from services.kit.auth import issue_token, load_or_create_key
from services.kit.service import ServiceContext, ServiceSpec, started
from services.kit.settings import Settings
from spotcheck.embedded import EmbeddedPostgres, free_port, start_nats, stop_process, with_database

EXTERNAL_NATS = os.environ.get("SPOTCHECK_TEST_NATS_URL", "nats://127.0.0.1:4222")
EXTERNAL_PG = os.environ.get(
    "SPOTCHECK_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _require_external() -> None:
    if os.environ.get("SPOTCHECK_TEST_EXTERNAL") == "1":
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI must run the external-server tests: set SPOTCHECK_TEST_EXTERNAL=1")
    pytest.skip("external servers not requested: set SPOTCHECK_TEST_EXTERNAL=1 to run")


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
    url = pg.start()
    yield url
    pg.stop()


# Every constraint, index, trigger and owned sequence of a table of `$1`, with that table.
_DERIVED_NAMES = """
SELECT t.relname AS table_name, o.kind, o.name FROM (
    SELECT conrelid AS rel, 'constraint' AS kind, conname AS name FROM pg_constraint
    UNION ALL SELECT i.indrelid, 'index', c.relname FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
    UNION ALL SELECT tgrelid, 'trigger', tgname FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL SELECT d.refobjid, 'sequence', s.relname FROM pg_depend d
        JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
        WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
) o JOIN pg_class t ON t.oid = o.rel
WHERE t.relnamespace = $1::regnamespace AND NOT starts_with(o.name, t.relname || '_')
ORDER BY 1, 2, 3
"""


async def names_not_after_their_table(conn: Any, schema: str) -> list[tuple[str, str, str]]:
    """(table, kind, name) of each constraint, index, trigger or owned sequence in `schema`
    whose name does not begin with its table's name (none should: docs/development.md)."""
    return [tuple(r) for r in await conn.fetch(_DERIVED_NAMES, schema)]


async def _fresh_database(server_url: str) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server_url, name)


@pytest.fixture
async def database_url(pg_server_url: str) -> str:
    return await _fresh_database(pg_server_url)


@pytest.fixture
def nats_url(tmp_path: Path) -> Any:
    port = free_port()
    proc = start_nats(tmp_path / "nats", port=port, log_file=tmp_path / "nats.log")
    yield f"nats://127.0.0.1:{port}"
    stop_process(proc)


@pytest.fixture
def external_nats_url() -> str:
    _require_external()
    return EXTERNAL_NATS


@pytest.fixture
async def external_database_url() -> str:
    _require_external()
    return await _fresh_database(EXTERNAL_PG)


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a service under test: given servers, a private var dir."""

    def make(nats_url: str, database_url: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "nats_url": nats_url,
            "database_url": database_url,
            "var_dir": tmp_path / "var",
            "log_json": False,
        }
        values.update(overrides)
        return Settings(**values)

    return make


class RunningService:
    """A service started in-process, with an HTTP client on its app and a token maker."""

    def __init__(self, ctx: ServiceContext, client: httpx.AsyncClient) -> None:
        self.ctx = ctx
        self.http = client
        # The service's typed objects as its app.py built them (DrawApp, PlannerApp, …).
        self.wiring: Any = ctx.wiring

    def token(self, role: Role, dept: str | None = None, ttl_s: int = 3600) -> str:
        key = load_or_create_key(self.ctx.settings.key_file())
        return issue_token(key, role=role, dept=dept, ttl_s=ttl_s, sub=f"test-{role.value}")

    def auth(self, role: Role, dept: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, dept)}"}

    def signed(self, **claims: Any) -> dict[str, str]:
        """Headers with a token of exactly these claims (plus a valid issuer, audience and
        expiry), signed with the service's key: tokens `issue_token` would refuse to make."""
        key = load_or_create_key(self.ctx.settings.key_file())
        body = {"iss": "spotcheck", "aud": "spotcheck", "exp": int(time.time()) + 600, **claims}
        return {"Authorization": "Bearer " + jwt.encode(body, key, algorithm="HS256")}


@pytest.fixture
async def run_service(
    nats_url: str, database_url: str, settings_for: Callable[..., Settings]
) -> AsyncIterator[Callable[..., Any]]:
    """`svc = await run_service(spec)`: the service on this test's NATS and database."""
    async with AsyncExitStack() as stack:

        async def start(spec_factory: Callable[[], ServiceSpec[Any]], **overrides: Any) -> Any:
            # a test may name another database (e.g. on the external server) or NATS server
            settings = settings_for(
                overrides.pop("nats_url", nats_url),
                overrides.pop("database_url", database_url),
                **overrides,
            )
            ctx = await stack.enter_async_context(started(spec_factory(), settings))
            assert ctx.app is not None
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=ctx.app), base_url="http://test"
            )
            stack.push_async_callback(client.aclose)
            return RunningService(ctx, client)

        yield start
