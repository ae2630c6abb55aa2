"""Triggered tasks (触发检查) in the publisher, on real NATS and PostgreSQL: kept with their kind
and trigger, counted apart from the draws' tasks in `GET /stats/tasks` and the home page's
figures, and shown in 任务公告 as 触发检查 with the trigger (never the evidence)."""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.common import Role
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings

from .conftest import publish_tasks, result_body, task_assigned

FAR = date(2099, 12, 31)


async def test_triggered_tasks_are_counted_and_shown_apart(run_service: Any) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    triggered = task_assigned("TT-1", uscc="91360202MA35XXXX0A", period_end=FAR).model_copy(
        update={"draw_id": "", "plan_id": "", "kind": "triggered", "trigger": "complaint"}
    )
    await publish_tasks(
        svc,
        [
            task_assigned("T-1", uscc="92360202MA35YYYY1B", period_end=FAR),
            task_assigned("T-2", uscc="93360202MA35ZZZZ2C", period_end=FAR),
            triggered,
        ],
    )
    staff = svc.auth(Role.PLANNER, "scjg")
    for task_id in ("T-1", "TT-1"):
        resp = await svc.http.post("/results", json=result_body(task_id), headers=staff)
        assert resp.status_code == 201, resp.text

    async def stats(**params: Any) -> dict[str, Any]:
        resp = await svc.http.get(
            "/stats/tasks", params={"year": 2026, **params}, headers=svc.auth(Role.AUDITOR)
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    random_ = await stats()
    assert (random_["kind"], random_["tasks"], random_["completed"]) == ("random", 2, 1)
    assert random_["timeliness"]["results"] == 1
    trig = await stats(kind="triggered")
    assert (trig["kind"], trig["tasks"], trig["completed"]) == ("triggered", 1, 1)
    assert [r["key"] for r in trig["by_inspector"]] == ["I-1", "I-2"]
    resp = await svc.http.get(
        "/stats/tasks", params={"year": 2026, "kind": "adhoc"}, headers=svc.auth(Role.AUDITOR)
    )
    assert resp.status_code == 422

    overview = (await svc.http.get("/public/overview.json", params={"year": 2026})).json()
    assert (overview["tasks"], overview["triggered_tasks"]) == (2, 1)
    page = (await svc.http.get("/public/notices/tasks.json", params={"year": 2026})).json()
    rows = {t["task_id"]: t for t in page["tasks"]}
    assert (rows["TT-1"]["kind"], rows["TT-1"]["trigger"]) == ("triggered", "complaint")
    assert (rows["T-1"]["kind"], rows["T-1"]["trigger"]) == ("random", None)
