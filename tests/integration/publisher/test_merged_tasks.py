"""A task absorbed by a later visit (进一次门、查多项事) takes no results; its new task does."""

from __future__ import annotations

from typing import Any

from contracts.common import Role

from .conftest import publish_tasks, result_body, task_assigned
from .test_intake import counts, publisher_spec


async def test_results_for_a_merged_task_are_refused_and_name_the_new_task(
    run_service: Any,
) -> None:
    svc = await run_service(publisher_spec(relay_enabled=False))
    old = task_assigned("T-OLD")
    new = task_assigned("T-NEW").model_copy(update={"merged_from": ["T-OLD"], "draw_id": "D-2"})
    await publish_tasks(svc, [old, new])
    staff = svc.auth(Role.PLANNER, "scjg")

    resp = await svc.http.post("/results", json=result_body("T-OLD"), headers=staff)
    assert resp.status_code == 422, resp.text
    details = resp.json()["error"]["details"]
    assert [d["type"] for d in details] == ["task_merged"]
    assert "T-NEW" in details[0]["msg"] and "T-NEW" in details[0]["msg_zh"]
    assert await counts(svc) == (0, 0)

    resp = await svc.http.post("/results", json=result_body("T-NEW"), headers=staff)
    assert resp.status_code == 201, resp.text


async def test_merge_is_known_even_when_the_new_task_arrives_first(run_service: Any) -> None:
    svc = await run_service(publisher_spec(relay_enabled=False))
    new = task_assigned("T-NEW").model_copy(update={"merged_from": ["T-OLD"], "draw_id": "D-2"})
    await publish_tasks(svc, [new])
    await publish_tasks(svc, [task_assigned("T-OLD")])
    resp = await svc.http.post(
        "/results", json=result_body("T-OLD"), headers=svc.auth(Role.PLANNER, "scjg")
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["type"] == "task_merged"
