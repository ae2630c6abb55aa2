"""Upgrading a registry schema in place: migration 006 renames the singular tables (and the
names made after them) to the plural, keeping every row; an import staged before the upgrade
still commits, and a first load's build left by a crash is dropped."""

from __future__ import annotations

import io
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from contracts.common import Role
from services.kit.db import Database
from services.registry.app import spec
from services.registry.domain import synthetic
from services.registry.store.staging import RAW_COLUMNS
from tests.integration import conftest
from tests.integration.conftest import names_not_after_their_table

MIGRATIONS = Path(spec().migrations)
BEFORE = datetime(2026, 3, 1, tzinfo=UTC)
CHANGED = datetime(2026, 6, 1, tzinfo=UTC)
USCC = "91360202MA3500000A"
OLD_IMPORT = uuid.uuid4().hex  # staged, not yet committed, when the upgrade comes
CRASHED = uuid.uuid4().hex  # a first load whose build a crash left behind
ENTITY = (
    f"'{USCC}', $1, '企业', '360202', 'C3074', '存续', false, 'B', '2025-03-01', "
    "'{食品经营}', '{}', '昌江区珠山路1号', '2010-05-20'"
)
PARAMS_13 = ", ".join(f"${i}" for i in range(1, 14))
STAGED = [
    "91360202MA3500001Y",
    "景德镇新开瓷业有限公司",
    "企业",
    "360202",
    "C3074",
    "存续",
    False,
    None,
    None,
    [],
    [],
    "",
    None,
]


def _migrations_before_006(folder: Path) -> Path:
    folder.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name < "006":
            shutil.copy(path, folder / path.name)
    return folder


def _raw_chunk() -> bytes:
    """Five plain CSV lines of entities, without the header, as a chunk table holds them."""
    out = io.StringIO()
    synthetic.write_entities(out, 5, seed=41)
    return "".join(out.getvalue().splitlines(keepends=True)[1:]).encode()


async def _registry_before_the_upgrade(database_url: str, tmp_path: Path) -> None:
    """A registry schema as of migration 005, a row or more in each of its tables."""
    db = Database(url=database_url, schema="registry")
    await db.connect()
    try:
        await db.migrate(_migrations_before_006(tmp_path / "migrations-005"))
        async with db.transaction() as conn:
            await conn.execute(
                f"INSERT INTO entity_history VALUES ({ENTITY}, $2, $3)",
                "景德镇旧名瓷业",
                BEFORE,
                CHANGED,
            )
            await conn.execute(
                f"INSERT INTO entity VALUES ({ENTITY}, $2)", "景德镇昌江瓷业", CHANGED
            )
            await conn.execute(
                "INSERT INTO inspector (inspector_id, name, department, region_codes, "
                "certificate_no, certificate_expiry, status, capacity, recusal_usccs, "
                "recusal_relations, valid_from) VALUES ('I-1', '张三', 'SCJG', '{360202}', "
                "'C-1', '2027-12-31', 'active', 20, $1, '{relative}', $2)",
                [USCC],
                BEFORE,
            )
            await conn.execute(
                "INSERT INTO risk_push_chunk VALUES ('push-1', 0, 2, '2026-05-01', '[]');"
                "INSERT INTO risk_push (push_id, state, items) VALUES ('push-0', 'applied', 3);"
                "INSERT INTO snapshot (snapshot_id, request_id, as_of, request)"
                " VALUES ('S-1', 'req-1', now(), '{}');"
                "INSERT INTO snapshot_stratum"
                " VALUES ('S-1', 'st-1', 1, 'sha', 'S-1/st-1.txt', '{}')"
            )
            await conn.execute(
                "INSERT INTO snapshot_block (snapshot_id, stratum_id, block, data) "
                "VALUES ('S-1', 'st-1', 0, $1)",
                f"{USCC}\n".encode(),
            )
            # an import of entities staged the way the code before the upgrade staged it: a
            # typed table (chunk 0) and a raw CSV chunk table (chunk 1, file lines 3-7)
            await conn.execute(
                "INSERT INTO import_run (import_id, kind, actor) VALUES ($1, 'entities', 'x')",
                OLD_IMPORT,
            )
            await conn.execute(
                "INSERT INTO import_chunk (import_id, chunk, accepted, rejected, raw_first_line)"
                " VALUES ($1, 0, 1, 0, NULL), ($1, 1, 5, 0, 3)",
                OLD_IMPORT,
            )
            await conn.execute(
                f"CREATE UNLOGGED TABLE stage_{OLD_IMPORT} (chunk integer NOT NULL, line integer "
                'NOT NULL, uscc text COLLATE "C", name text, entity_type text, region_code text, '
                "industry_code text, status text, abnormal boolean, risk_class text, "
                "risk_class_date date, tags text[], key_supervision text[], address text, "
                "established date) WITH (autovacuum_enabled = false)"
            )
            await conn.execute(
                f"INSERT INTO stage_{OLD_IMPORT} VALUES (0, 2, {PARAMS_13})",
                *STAGED,
            )
            await conn.execute(
                f"CREATE UNLOGGED TABLE stage_{OLD_IMPORT}_1 (ordinal integer GENERATED ALWAYS "
                f"AS IDENTITY (MINVALUE 0 START WITH 0), {RAW_COLUMNS})"
            )
            await conn.copy_to_table(
                f"stage_{OLD_IMPORT}_1",
                source=io.BytesIO(_raw_chunk()),
                columns=[c.split()[0] for c in RAW_COLUMNS.split(", ")],
                format="csv",
            )
            await conn.execute(f"CREATE TABLE entity_load_{CRASHED} (LIKE entity)")
    finally:
        await db.close()


@pytest.mark.parametrize("server", ["embedded", "external"])
async def test_an_upgrade_renames_the_tables_and_keeps_their_rows(
    run_service: Any, database_url: str, tmp_path: Path, server: str
) -> None:
    # on the embedded PostgreSQL 18 and on the machine's own (15), whose NOT NULL
    # constraints differ (named after their table from 18 on)
    if server == "external":
        conftest._require_external()
        database_url = await conftest._fresh_database(conftest.EXTERNAL_PG)
    await _registry_before_the_upgrade(database_url, tmp_path)
    svc = await run_service(spec, database_url=database_url)
    pool = svc.ctx.db.pool
    tables = {
        r["relname"]
        for r in await pool.fetch(
            "SELECT relname FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = 'registry'::regnamespace"
        )
    }
    assert tables == {
        "audit_log",
        "event_outbox",
        "schema_migrations",
        "entities",
        "entity_history",
        "inspectors",
        "inspector_history",
        "import_runs",
        "import_chunks",
        "risk_pushes",
        "risk_push_chunks",
        "snapshots",
        "snapshot_strata",
        "snapshot_blocks",
        "directory_summaries",
        f"staged_rows_{OLD_IMPORT}",
        f"staged_rows_{OLD_IMPORT}_1",
    }  # and the crashed build entity_load_<import> is gone
    # keys, indexes, NOT NULLs, triggers and the chunk table's identity sequence went along
    misnamed = await names_not_after_their_table(pool, "registry")
    assert misnamed == [], misnamed
    assert {
        r["indexname"]
        for r in await pool.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'entities'")
    } == {"entities_pkey", "entities_name"}
    assert await pool.fetchval(
        "SELECT to_regclass($1) IS NOT NULL", f"staged_rows_{OLD_IMPORT}_1_ordinal_seq"
    )

    # the rows are all there, and the service reads them
    owner = svc.auth(Role.REGISTRY_OWNER)
    detail = (await svc.http.get(f"/entities/{USCC}", headers=owner)).json()
    assert detail["entity"]["name"] == "景德镇昌江瓷业"
    assert [v["entity"]["name"] for v in detail["history"]] == ["景德镇旧名瓷业", "景德镇昌江瓷业"]
    inspector = (await svc.http.get("/inspectors/I-1", headers=owner)).json()
    assert inspector["recusals"] == [{"uscc": USCC, "relation": "relative"}]
    assert (await svc.http.get("/snapshots/S-1")).json()["strata"][0]["n"] == 1
    listing = await svc.http.get("/snapshots/S-1/strata/st-1.txt")
    assert listing.status_code == 200 and listing.text == f"{USCC}\n"
    assert await pool.fetchval("SELECT count(*) FROM risk_push_chunks") == 1
    assert (
        await pool.fetchval("SELECT state FROM risk_pushes WHERE push_id = 'push-0'") == "applied"
    )
    # frozen snapshots are still immutable under their new names
    for table in ("snapshots", "snapshot_strata", "snapshot_blocks"):
        with pytest.raises(asyncpg.RaiseError, match="immutable"):
            await pool.execute(f"DELETE FROM {table}")

    # the import staged before the upgrade commits from its renamed tables
    r = await svc.http.post(f"/imports/{OLD_IMPORT}/commit", headers=owner)
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["changed"]) == (6, 6)
    assert await pool.fetchval("SELECT count(*) FROM entities") == 7
    assert (
        await pool.fetchval("SELECT state FROM import_runs WHERE import_id = $1", OLD_IMPORT)
        == "committed"
    )
    assert not await pool.fetchval(
        "SELECT count(*) FROM pg_class WHERE relname LIKE '%' || $1 || '%'", OLD_IMPORT
    )
