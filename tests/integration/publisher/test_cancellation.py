"""A task called off before its visit (取消任务), on real NATS and PostgreSQL: only staff of its
department, with a reason, before any result; afterwards it takes no start and no result, is
not overdue, leaves the phone's list (unless asked for), is public as 已取消, and the draw is
told (`task.cancelled`)."""

from __future__ import annotations

from typing import Any

from contracts.common import Role
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings

from .conftest import bearer, publish_tasks, result_body, stream_messages, task_assigned


async def test_a_task_called_off_takes_nothing_more(run_service: Any) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    # periods ended 2026-06-30: without a result both are overdue
    await publish_tasks(
        svc, [task_assigned("T-1"), task_assigned("T-2", uscc="91360202MA35BBBB0B")]
    )
    staff = bearer(svc, Role.PLANNER, "staff-1")
    other = bearer(svc, Role.PLANNER, "staff-sw", "sw")
    inspector = bearer(svc, Role.INSPECTOR, "I-1")
    body = {"reason": "deregistered"}

    r = await svc.http.post("/tasks/T-1/cancel", json=body, headers=inspector)
    assert r.status_code == 403, r.text
    r = await svc.http.post("/tasks/T-1/cancel", json=body, headers=other)
    assert r.status_code == 422 and "department_not_on_task" in r.text
    r = await svc.http.post("/tasks/T-1/cancel", json={"reason": "other"}, headers=staff)
    assert r.status_code == 422 and "cancel_note_missing" in r.text
    # a task with a result is past cancelling
    assert (await svc.http.post("/results", json=result_body("T-2"), headers=staff)).is_success
    r = await svc.http.post("/tasks/T-2/cancel", json=body, headers=staff)
    assert r.status_code == 422 and "task_has_result" in r.text

    r = await svc.http.post("/tasks/T-1/cancel", json=body, headers=staff)
    assert r.status_code == 200, r.text
    first = r.json()
    assert (first["reason"], first["cancelled_by"]) == ("deregistered", "staff-1")
    again = await svc.http.post("/tasks/T-1/cancel", json={"reason": "closed"}, headers=staff)
    assert again.json() == first  # the first cancellation's facts, nothing changed

    for path, payload in (("/tasks/T-1/start", None), ("/results", result_body("T-1"))):
        r = await svc.http.post(path, json=payload, headers=staff)
        assert r.status_code == 422, r.text
        [why] = r.json()["error"]["details"]
        assert why["type"] == "task_cancelled" and "主体已注销" in why["msg_zh"]

    i1 = bearer(svc, Role.INSPECTOR, "I-1")
    listed = {t["task_id"] for t in (await svc.http.get("/tasks", headers=i1)).json()}
    assert listed == {"T-2"}
    [gone] = (await svc.http.get("/tasks?status=cancelled", headers=i1)).json()
    assert (gone["task_id"], gone["status"], gone["overdue"]) == ("T-1", "cancelled", False)
    notice = (await svc.http.get("/public/tasks/T-1.json")).json()
    assert notice["status"] == "cancelled"

    audited = await svc.ctx.db.pool.fetch(
        "SELECT subject FROM audit_log WHERE action = 'task.cancelled'"
    )
    assert [a["subject"] for a in audited] == ["T-1"]
    await svc.ctx.outbox.flush()
    told = await stream_messages(svc, "spotcheck.v1.publisher.task.cancelled")
    assert told == {"task.cancelled:T-1": 1}
