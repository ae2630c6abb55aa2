"""One naming rule in every schema (docs/development.md): a table is named for the rows it
holds, in the plural, and what is made after a table (keys, indexes, constraints, triggers,
sequences) carries its name first."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.draw.app import spec as draw
from services.kit.db import Database
from services.planner.app import spec as planner
from services.publisher.app import spec as publisher
from services.registry.app import spec as registry
from services.web.app import spec as web
from tests.integration import conftest
from tests.integration.conftest import names_not_after_their_table

SERVICES = {
    "draw": draw,
    "planner": planner,
    "publisher": publisher,
    "registry": registry,
    "web": web,
}
# Plurals without an s, and the nouns that already name a set or a singleton.
NOT_IN_S = {
    "strata",
    "plan_strata",
    "snapshot_strata",
    "audit_log",
    "outbox",
    "event_outbox",
    "entity_history",
    "inspector_history",
    "holiday_calendar",
}


@pytest.mark.parametrize("server", ["embedded", "external"])
async def test_every_schema_names_its_tables_one_way(database_url: str, server: str) -> None:
    # on the embedded PostgreSQL 18 and on the machine's own (15): their catalogues differ
    if server == "external":
        conftest._require_external()
        database_url = await conftest._fresh_database(conftest.EXTERNAL_PG)
    for name, spec in SERVICES.items():
        db = Database(url=database_url, schema=name)
        await db.connect()
        try:
            await db.migrate(Path(spec().migrations))
            tables = [
                r["relname"]
                for r in await db.pool.fetch(
                    "SELECT relname FROM pg_class WHERE relkind = 'r' "
                    "AND relnamespace = $1::regnamespace",
                    name,
                )
            ]
            singular = [t for t in tables if not t.endswith("s") and t not in NOT_IN_S]
            assert singular == [], (name, singular)
            misnamed = await names_not_after_their_table(db.pool, name)
            assert misnamed == [], (name, misnamed)
        finally:
            await db.close()
