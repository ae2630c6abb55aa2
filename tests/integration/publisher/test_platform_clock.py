"""The 20-working-day clock counts the disclosing platforms (real outbox and relay, NATS +
PostgreSQL, 公示系统 as a real HTTP server): a result is published only once its disclosure
deliveries are all done — the built-in one and 公示系统's (`discloses: true` in its mapping);
with 公示系统 down past the deadline the result is overdue although our own pages show it, and
once delivered it counts late, never on time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from contracts.common import Role
from services.kit.mapping import load_mappings, read_mapping_dir
from services.publisher.app import spec
from services.publisher.domain.categories import load_categories
from services.publisher.domain.platforms import vocabulary
from services.publisher.settings import PublisherSettings
from tests.waiting import eventually

from .conftest import publish_tasks, result_body, task_assigned
from .fake_platforms import FakePlatform

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "gsxt-secret-token"


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "platforms"
    folder.mkdir()
    text = (ROOT / "deploy" / "platforms" / "gsxt.yaml").read_text(encoding="utf-8")
    (folder / "gsxt.yaml").write_text(text.replace("    SCJG:", "    scjg:"), encoding="utf-8")
    return folder


async def _state(svc: Any, destination: str, result_id: str) -> tuple[str, int]:
    row = await svc.ctx.db.pool.fetchrow(
        "SELECT state, attempts FROM outbox WHERE destination = $1 AND result_id = $2",
        destination,
        result_id,
    )
    return (row["state"], row["attempts"]) if row else ("", 0)


async def _timeliness(svc: Any, year: int) -> dict[str, int]:
    r = await svc.http.get("/stats/tasks", params={"year": year}, headers=svc.auth(Role.AUDITOR))
    assert r.status_code == 200, r.text
    return dict(r.json()["timeliness"])


async def test_a_result_is_late_when_a_disclosing_platform_was_down_past_its_deadline(
    run_service: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    folder = _folder(tmp_path)
    loaded = load_mappings(
        read_mapping_dir(folder), vocabulary(load_categories()), direction="outbound"
    )
    assert loaded["gsxt"].mapping.discloses
    gsxt = FakePlatform(loaded["gsxt"].mapping, kind="result", token=TOKEN)  # down: not started
    monkeypatch.setenv("SPOTCHECK_PLATFORM_GSXT_URL", gsxt.url)
    monkeypatch.setenv("SPOTCHECK_PLATFORM_GSXT_TOKEN", TOKEN)
    svc = await run_service(
        lambda: spec(
            PublisherSettings(
                platforms_dir=str(folder),
                retry_base_s=0.05,
                retry_cap_s=0.2,
                max_attempts=500,
                http_timeout_s=2.0,
            )
        )
    )
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    end = date(today.year, 12, 31)
    await publish_tasks(svc, [task_assigned(t, period_end=end) for t in ("T-LATE", "T-TIMELY")])
    staff, operator = svc.auth(Role.PLANNER, "scjg"), svc.auth(Role.OPERATOR)

    # Checked on 10 March: the last day to publish was in April.
    r = await svc.http.post("/results", json=result_body("T-LATE"), headers=staff)
    assert r.status_code == 201, r.text
    late_id = r.json()["result_id"]
    assert date.fromisoformat(r.json()["due_date"]) < today

    async def public_but_not_disclosed() -> bool:
        return (await _state(svc, "disclosure", late_id))[0] == "delivered" and (
            await _state(svc, "platform:gsxt", late_id)
        )[1] >= 2

    await eventually(public_but_not_disclosed, what="our pages have it, 公示系统 retried")
    row = await svc.ctx.db.pool.fetchrow(
        "SELECT published_at, disclosed_at FROM results WHERE result_id = $1", late_id
    )
    assert row["published_at"] is not None and row["disclosed_at"] is None
    overdue = (await svc.http.get("/deadlines", headers=operator)).json()
    assert [(d["result_id"], d["state"]) for d in overdue] == [(late_id, "overdue")]
    assert (await _timeliness(svc, 2026))["overdue"] == 1

    # 公示系统 back: delivered, published — late.
    await gsxt.start()
    try:

        async def disclosed() -> bool:
            return bool(
                await svc.ctx.db.pool.fetchval(
                    "SELECT disclosed_at IS NOT NULL FROM results WHERE result_id = $1", late_id
                )
            )

        await eventually(disclosed, what="公示系统 has the result")
        assert (await svc.http.get("/deadlines", headers=operator)).json() == []
        got = await _timeliness(svc, 2026)
        assert (got["late"], got["on_time"], got["overdue"]) == (1, 0, 0), got

        # Checked today (the intake's day is UTC's), delivered everywhere at once: on time.
        body = result_body("T-TIMELY", check_date=datetime.now(UTC).date().isoformat())
        r = await svc.http.post("/results", json=body, headers=staff)
        assert r.status_code == 201, r.text
        timely_id = r.json()["result_id"]

        async def timely_disclosed() -> bool:
            return (await _state(svc, "platform:gsxt", timely_id))[0] == "delivered"

        await eventually(timely_disclosed, what="the timely result at 公示系统")
        await eventually(
            lambda: _on_time(svc), what="the timely result counted on time", timeout=10
        )
        assert len(gsxt.effects) == 2
    finally:
        await gsxt.stop()


async def _on_time(svc: Any) -> bool:
    got = await _timeliness(svc, 2026)
    return (got["late"], got["on_time"]) == (1, 1)
