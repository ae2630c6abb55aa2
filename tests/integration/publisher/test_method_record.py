"""What each check method requires, on real NATS and PostgreSQL: an online check is refused
without its capture, then kept with the URL it watched and the capture's kind, which the task's
record gives back."""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.common import Role
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings

from .conftest import publish_tasks, result_body, task_assigned


async def test_an_online_check_is_kept_with_what_it_watched_and_its_capture(
    run_service: Any,
) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    task = task_assigned("T-1", period_end=date(2099, 12, 31)).model_copy(
        update={"methods": ["documents", "online"]}
    )
    await publish_tasks(svc, [task])
    staff = svc.auth(Role.PLANNER, "scjg")
    page = "2026-03-10 店铺首页存档".encode()
    up = await svc.http.post("/attachments", content=page, headers=staff)
    assert up.status_code in (200, 201), up.text
    saved = {"name": "首页.html", "sha256": up.json()["sha256"], "size": len(page)}

    refused = result_body(
        "T-1", method="网络监测", method_record={"platform": "某电商平台"}, attachments=[saved]
    )
    r = await svc.http.post("/results", json=refused, headers=staff)
    assert r.status_code == 422, r.text
    [reason] = r.json()["error"]["details"]
    assert reason["type"] == "method_capture_missing" and reason["loc"] == ["attachments"]
    assert reason["msg_zh"] == "网络监测须附监测截图或页面存档"
    assert await svc.ctx.db.pool.fetchval("SELECT count(*) FROM results") == 0

    record = {"platform": "某电商平台", "url": "https://shop.example.cn/91360202"}
    ok = result_body(
        "T-1", method="网络监测", method_record=record, attachments=[{**saved, "kind": "capture"}]
    )
    r = await svc.http.post("/results", json=ok, headers=staff)
    assert r.status_code == 201, r.text
    detail = (await svc.http.get("/tasks/T-1", headers=staff)).json()
    [version] = detail["results"]
    assert version["method"] == "online"
    assert version["method_record"] == {**record, "place": "", "documents": []}
    assert [a["kind"] for a in version["attachments"]] == ["capture"]
