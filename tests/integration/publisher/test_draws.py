"""draw.completed and draw.superseded over real NATS: 任务公告 shows each draw with its tasks,
and a superseded draw stays public, marked superseded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from contracts import subjects
from contracts.common import Role
from contracts.draw import DrawCompleted, DrawRecord, DrawSuperseded
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings

from .conftest import bearer, publish_tasks, result_body, task_assigned

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def completed(draw_id: str, *, tasks: int, supersedes: str | None = None) -> DrawCompleted:
    return DrawCompleted(
        record=DrawRecord(
            draw_id=draw_id,
            plan_id="P-1",
            rules_version="r" * 64,
            seed="314159",
            seed_source="dice",
            commitment_sha256="c" * 64,
            strata=[],
            supersedes=supersedes,
        ),
        tasks=tasks,
        unstaffed=0,
        completed_at=AT,
    )


async def wait_draws(svc: Any, n: int, *, superseded: int = 0) -> None:
    for _ in range(400):
        row = await svc.ctx.db.pool.fetchrow(
            "SELECT count(*) FILTER (WHERE completed_at IS NOT NULL) AS done,"
            " count(superseded_by) AS sup FROM draws"
        )
        if row["done"] == n and row["sup"] == superseded:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"draws not stored: {dict(row)}")


async def test_tasks_notice_shows_draws_and_marks_the_superseded_one(run_service: Any) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    bus = svc.ctx.bus
    old = [task_assigned("T-1", name="景德镇甲瓷业有限公司", uscc="91360202MA35AAAA0A")]
    new = [task_assigned("T-2", name="景德镇乙瓷业有限公司", uscc="91360202MA35BBBB0B")]
    old[0] = old[0].model_copy(update={"draw_id": "D-1"})
    new[0] = new[0].model_copy(update={"draw_id": "D-2"})
    await publish_tasks(svc, old + new)
    await bus.publish_event(
        subjects.event("draw", "completed"), completed("D-1", tasks=1), event_id="D-1.completed"
    )
    await wait_draws(svc, 1)
    page = (await svc.http.get("/public/tasks")).text
    assert "D-1" in page and "有效" in page and "景德镇甲瓷业有限公司" in page
    assert "已被重新抽取" not in page

    # The redraw: D-1 superseded (reason is user input: escaped), D-2 completed.
    await bus.publish_event(
        subjects.event("draw", "superseded"),
        DrawSuperseded(
            draw_id="D-1", superseded_by="D-2", reason="<b>候选名单有误</b>", by="officer", at=AT
        ),
        event_id="D-1.superseded",
    )
    await bus.publish_event(
        subjects.event("draw", "completed"),
        completed("D-2", tasks=1, supersedes="D-1"),
        event_id="D-2.completed",
    )
    await wait_draws(svc, 2, superseded=1)
    page = (await svc.http.get("/public/tasks")).text
    # both draws and both tasks stay public; the old one is marked
    assert "景德镇甲瓷业有限公司" in page and "景德镇乙瓷业有限公司" in page
    assert "已被重新抽取 D-2 取代" in page
    assert "&lt;b&gt;候选名单有误&lt;/b&gt;" in page and "<b>候选名单有误" not in page
    assert "重新抽取，取代 D-1" in page
    one = (await svc.http.get("/public/tasks", params={"draw": "D-2"})).text
    assert "景德镇乙瓷业有限公司" in one and "景德镇甲瓷业有限公司" not in one
    old_only = (await svc.http.get("/public/tasks", params={"draw": "D-1"})).text
    assert "景德镇甲瓷业有限公司" in old_only and "已被重新抽取 D-2 取代" in old_only
    draws = {d["draw_id"]: d for d in (await svc.http.get("/public/draws.json")).json()["draws"]}
    assert draws["D-1"]["superseded"] is True and draws["D-1"]["superseded_by"] == "D-2"
    assert draws["D-2"]["superseded"] is False and draws["D-2"]["supersedes"] == "D-1"
    assert draws["D-2"]["tasks"] == 1 and draws["D-2"]["seed"] == "314159"


async def test_a_superseded_mark_that_arrives_first_survives_the_completion(
    run_service: Any,
) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    await svc.ctx.bus.publish_event(
        subjects.event("draw", "superseded"),
        DrawSuperseded(draw_id="D-7", superseded_by="D-8", reason="重抽", by="officer", at=AT),
        event_id="D-7.superseded",
    )
    await svc.ctx.bus.publish_event(
        subjects.event("draw", "completed"), completed("D-7", tasks=0), event_id="D-7.completed"
    )
    await wait_draws(svc, 1, superseded=1)
    draws = (await svc.http.get("/public/draws.json")).json()["draws"]
    assert [(d["draw_id"], d["superseded_by"], d["tasks"]) for d in draws] == [("D-7", "D-8", 0)]


async def test_a_superseded_draws_tasks_leave_the_phone_list_and_take_no_new_result(
    run_service: Any,
) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    old = [task_assigned("T-1"), task_assigned("T-3", uscc="91360202MA35CCCC0C")]
    new = [task_assigned("T-2", uscc="91360202MA35BBBB0B").model_copy(update={"draw_id": "D-2"})]
    await publish_tasks(svc, old + new)
    staff = bearer(svc, Role.PLANNER, "staff-1")
    # T-3's result was recorded before the redraw: it stays, and may still be corrected.
    r = await svc.http.post("/results", json=result_body("T-3"), headers=staff)
    assert r.status_code == 201, r.text
    await svc.ctx.bus.publish_event(
        subjects.event("draw", "superseded"),
        DrawSuperseded(draw_id="D-1", superseded_by="D-2", reason="重抽", by="officer", at=AT),
        event_id="D-1.superseded",
    )
    await wait_draws(svc, 0, superseded=1)

    i1 = bearer(svc, Role.INSPECTOR, "I-1")
    listed = (await svc.http.get("/tasks", headers=i1)).json()
    assert {t["task_id"]: t["status"] for t in listed} == {
        "T-2": "assigned",
        "T-3": "result_recorded",
    }
    [gone] = (await svc.http.get("/tasks?status=superseded", headers=i1)).json()
    # its period ended long ago (2026-06-30) with no result: overdue, were it not superseded
    assert (gone["task_id"], gone["status"], gone["overdue"]) == ("T-1", "superseded", False)
    assert (await svc.http.get("/public/tasks/T-1.json")).json()["status"] == "superseded"

    for path, body in (("/results", result_body("T-1")), ("/tasks/T-1/start", {})):
        r = await svc.http.post(path, json=body, headers=staff)
        assert r.status_code == 422, r.text
        [detail] = r.json()["error"]["details"]
        assert detail["type"] == "draw_superseded" and "D-2" in detail["msg_zh"]
    fix = result_body("T-3", category="2", corrects_version=1, correction_reason="录入错误")
    r = await svc.http.post("/results", json=fix, headers=staff)
    assert r.status_code == 201, r.text


async def test_a_redraw_gives_back_the_tasks_its_draw_had_absorbed(run_service: Any) -> None:
    """D-1's visit absorbed T-0 of an earlier draw (进一次门、查多项事); D-1 is redrawn: T-0 is
    open again, its team may start it, and the redraw's D-2 may absorb it anew."""
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    earlier = task_assigned("T-0").model_copy(update={"draw_id": "D-0"})
    visit = task_assigned("T-1").model_copy(update={"merged_from": ["T-0"]})
    await publish_tasks(svc, [earlier, visit])

    async def merged_into() -> str | None:
        return await svc.ctx.db.pool.fetchval("SELECT merged_into FROM tasks WHERE task_id = 'T-0'")

    async def until(expected: str | None) -> None:
        for _ in range(400):
            if await merged_into() == expected:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"T-0 merged into {await merged_into()}, not {expected}")

    await until("T-1")
    staff = bearer(svc, Role.PLANNER, "staff-1")
    r = await svc.http.post("/tasks/T-0/start", headers=staff)
    assert r.status_code == 422 and "T-1" in r.text

    await svc.ctx.bus.publish_event(
        subjects.event("draw", "superseded"),
        DrawSuperseded(draw_id="D-1", superseded_by="D-2", reason="重抽", by="officer", at=AT),
        event_id="D-1.superseded",
    )
    await until(None)
    # D-1's own task is void; T-1 absorbing again (a late copy of its event) changes nothing.
    received = "SELECT received_at FROM tasks WHERE task_id = 'T-1'"
    first = await svc.ctx.db.pool.fetchval(received)
    await svc.ctx.bus.publish_event(
        subjects.event("draw", "task.assigned"), visit, event_id="task-T-1-late"
    )
    for _ in range(400):
        if await svc.ctx.db.pool.fetchval(received) != first:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the late copy of T-1 was not taken")
    assert await merged_into() is None
    r = await svc.http.post("/tasks/T-0/start", headers=staff)
    assert r.status_code == 200, r.text

    again = task_assigned("T-2").model_copy(update={"draw_id": "D-2", "merged_from": ["T-0"]})
    await publish_tasks(svc, [again])
    await until("T-2")
