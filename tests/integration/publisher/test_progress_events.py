"""What the publisher tells the draw about progress, on real NATS and PostgreSQL.

A deployment upgraded mid-year already holds results that were never announced (the
`result.accepted` event was not published before migration 004): the migration queues one per
result version, under the ids new results get, and the service's outbox publishes them.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from contracts.publisher import ResultAccepted
from services.kit.db import Database
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings

from .conftest import stream_messages

MIGRATIONS = Path(spec().migrations)
ACCEPTED = "spotcheck.v1.publisher.result.accepted"
AT = datetime(2026, 9, 16, 8, 0, tzinfo=UTC)


def _migrations_before_004(folder: Path) -> Path:
    folder.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name < "004":
            shutil.copy(path, folder / path.name)
    return folder


async def _publisher_before_the_upgrade(database_url: str, tmp_path: Path) -> None:
    """A publisher schema as of migration 003, holding one task with two result versions."""
    old = _migrations_before_004(tmp_path / "migrations-003")
    db = Database(url=database_url, schema="publisher")
    await db.connect()
    try:
        await db.migrate(old)
        pool = db.pool
        await pool.execute(
            "INSERT INTO tasks (task_id, draw_id, plan_id, uscc, entity_name, region_code, "
            "departments, lead_department, items, team, period_start, period_end) VALUES "
            "('D-1:U1', 'D-1', 'P-1', 'U1', '甲公司', '360202', '{scjg}', 'scjg', '[]', "
            "'{I-1,I-2}', '2026-07-01', '2026-09-30')"
        )
        for version in (1, 2):
            await pool.execute(
                "INSERT INTO results (result_id, version, task_id, supersedes, submitted_by, "
                "check_date, due_date, method, items, categories, violation, confirmations, "
                "attachments, accepted_at) VALUES ('R-D-1:U1', $1, 'D-1:U1', $2, 'I-1', "
                "'2026-09-15', '2026-10-20', '实地检查', '[]', '{1}', false, '[]', '[]', $3)",
                version,
                version - 1 or None,
                AT,
            )
            for dest in ("disclosure", "stream"):
                await pool.execute(
                    "INSERT INTO outbox (result_id, version, destination, idempotency_key, "
                    "payload) VALUES ('R-D-1:U1', $1, $2, $3, '{}')",
                    version,
                    dest,
                    f"R-D-1:U1:v{version}:{dest}",
                )
    finally:
        await db.close()


async def test_results_accepted_before_the_upgrade_are_announced(
    run_service: Any, database_url: str, tmp_path: Path
) -> None:
    await _publisher_before_the_upgrade(database_url, tmp_path)
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    rows = await svc.ctx.db.pool.fetch(
        "SELECT event_id, body FROM event_outbox WHERE subject = $1 ORDER BY id", ACCEPTED
    )
    assert [r["event_id"] for r in rows] == [
        "result.accepted:R-D-1:U1:v1",
        "result.accepted:R-D-1:U1:v2",
    ]
    first = ResultAccepted.model_validate_json(rows[0]["body"])
    assert first == ResultAccepted(
        result_id="R-D-1:U1",
        version=1,
        task_id="D-1:U1",
        check_date=date(2026, 9, 15),
        due_date=date(2026, 10, 20),
        destinations=["disclosure", "stream"],
        accepted_at=AT,
    )
    # The service's outbox relay publishes them to the PUBLISHER stream, once each.
    await svc.ctx.outbox.flush()
    seen = await stream_messages(svc, ACCEPTED)
    assert seen == {"result.accepted:R-D-1:U1:v1": 1, "result.accepted:R-D-1:U1:v2": 1}
