"""The publisher's figures for the leaders' page (`GET /stats/tasks`), on real NATS and
PostgreSQL: tasks per department and inspector with the completed and overdue ones, entities
checked per region and per risk class, problems per item and per industry (both as
task.assigned brought them), results published within their deadline; the filters; who may
read them; filters refused at the edge."""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from typing import Any

from contracts import subjects
from contracts.common import Role
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings

from .conftest import publish_tasks, result_body, task_assigned

FAR = date(2099, 12, 31)  # a period that has not ended
PAST = date(2026, 6, 30)  # one that has: a task without a result is overdue
A, B, C, D = (
    "91360202MA35XXXX0A",
    "92360202MA35YYYY1B",
    "93360222MA35ZZZZ2C",
    "91360202MA35WWWW3D",
)


def publisher() -> Any:
    return lambda: spec(PublisherSettings(relay_enabled=False))


def violation(task_id: str, team: tuple[str, ...]) -> dict[str, Any]:
    """A result finding a problem (category C), with the evidence such a result carries."""
    return result_body(
        task_id,
        category="C",
        team=team,
        attachments=[
            {
                "name": "q.txt",
                "sha256": hashlib.sha256(b"inline").hexdigest(),
                "size": 6,
                "content_base64": base64.b64encode(b"inline").decode(),
            }
        ],
    )


def of(industry: str, risk: str | None) -> dict[str, Any]:
    """The entity's industry and risk class, as the draw puts them on task.assigned."""
    return {"industry_code": industry, "risk_class": risk}


async def seeded(run_service: Any) -> Any:
    """Five tasks of 2026 and one of 2025 (entity; industry, risk class):

    T-1 scjg (I-1, I-2) A 360202 C3071 A: result, published on its deadline
    T-2 scjg (I-1, I-3) B 360202 F5211 B: no result, period ended → overdue
    T-3 sthj (I-2, I-3) C 360222 C3071 B: result with a problem, published a day late
    T-5 scjg (I-1, I-2) D 360202, an event from before task.assigned carried industry and
        class: result, not published, deadline passed
    T-6 scjg H6210 C, merged into T-1: not counted
    T-4 scjg 2025 F5211 B: only in 2025's figures
    """
    svc = await run_service(publisher())
    t3 = task_assigned("T-3", team=("I-2", "I-3"), uscc=C, dept="sthj", period_end=FAR)
    t4 = task_assigned("T-4", uscc=B, period_end=date(2025, 6, 30))
    await publish_tasks(
        svc,
        [
            task_assigned("T-1", uscc=A, period_end=FAR).model_copy(update=of("C3071", "A")),
            task_assigned("T-2", team=("I-1", "I-3"), uscc=B, period_end=PAST).model_copy(
                update=of("F5211", "B")
            ),
            t3.model_copy(update={"region_code": "360222", **of("C3071", "B")}),
            t4.model_copy(update={"period_start": date(2025, 3, 1), **of("F5211", "B")}),
            task_assigned("T-6", uscc=A, period_end=PAST).model_copy(update=of("H6210", "C")),
        ],
    )
    # T-5's body as the draw wrote it before these two fields existed: they are absent.
    t5 = task_assigned("T-5", uscc=D, period_end=FAR)
    await svc.ctx.bus.publish_raw(
        subjects.event("draw", "task.assigned"),
        t5.model_dump_json(exclude={"industry_code", "risk_class"}).encode(),
        event_id="task-T-5",
    )
    await publish_tasks(svc, [t5])  # waits for it; the same event id stores nothing new
    await svc.ctx.db.pool.execute("UPDATE tasks SET merged_into = 'T-1' WHERE task_id = 'T-6'")
    scjg, sthj = svc.auth(Role.PLANNER, "scjg"), svc.auth(Role.PLANNER, "sthj")
    for body, staff in (
        (result_body("T-1"), scjg),
        (violation("T-3", ("I-2", "I-3")), sthj),
        (result_body("T-5"), scjg),
    ):
        resp = await svc.http.post("/results", json=body, headers=staff)
        assert resp.status_code == 201, resp.text
    # Publication as the relay records it (every disclosure delivered: the moment the clock
    # stops): T-1 on its deadline day (China's evening), T-3 the day after its deadline.
    await svc.ctx.db.pool.execute(
        "UPDATE results SET published_at = (due_date + time '20:00') AT TIME ZONE 'Asia/Shanghai',"
        " disclosed_at = (due_date + time '20:00') AT TIME ZONE 'Asia/Shanghai'"
        " WHERE task_id = 'T-1'"
    )
    await svc.ctx.db.pool.execute(
        "UPDATE results SET published_at = (due_date + 1 + time '09:00') AT TIME ZONE"
        " 'Asia/Shanghai', disclosed_at = (due_date + 1 + time '09:00') AT TIME ZONE"
        " 'Asia/Shanghai' WHERE task_id = 'T-3'"
    )
    return svc


def tally(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int, int, int]]:
    return {r["key"]: (r["tasks"], r["completed"], r["overdue"], r["entities"]) for r in rows}


async def test_a_years_tasks_counted_by_department_inspector_region_and_item(
    run_service: Any,
) -> None:
    svc = await seeded(run_service)
    resp = await svc.http.get("/stats/tasks", params={"year": 2026}, headers=svc.auth(Role.AUDITOR))
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert (got["tasks"], got["completed"], got["overdue"]) == (4, 3, 1)
    assert (got["entities_tasked"], got["entities_checked"]) == (4, 3)
    assert tally(got["by_department"]) == {"scjg": (3, 2, 1, 2), "sthj": (1, 1, 0, 1)}
    assert tally(got["by_inspector"]) == {
        "I-1": (3, 2, 1, 2),
        "I-2": (3, 3, 0, 3),
        "I-3": (2, 1, 1, 1),
    }
    assert {r["region_code"]: r["entities"] for r in got["by_region"]} == {
        "360202": 2,
        "360222": 1,
    }
    assert got["timeliness"] == {"results": 3, "on_time": 1, "late": 1, "overdue": 1, "pending": 0}
    assert got["by_item"] == [
        {"item_code": "ITEM-01", "item_name": "企业公示信息情况的检查", "checked": 3, "problems": 1}
    ]
    # Results by the industry their task came with (T-5 came with none); checked entities by
    # risk class: T-2 (B) has no result, T-6 is merged.
    assert got["by_industry"] == [
        {"industry_code": "", "results": 1, "problems": 0},
        {"industry_code": "C3071", "results": 2, "problems": 1},
    ]
    assert got["by_risk_class"] == [
        {"risk_class": "", "entities": 1},
        {"risk_class": "A", "entities": 1},
        {"risk_class": "B", "entities": 1},
    ]


async def test_the_task_copies_keep_industry_and_risk_class_from_task_assigned(
    run_service: Any,
) -> None:
    svc = await seeded(run_service)
    rows = await svc.ctx.db.pool.fetch(
        "SELECT task_id, industry_code, risk_class FROM tasks ORDER BY task_id"
    )
    assert [tuple(r) for r in rows] == [
        ("T-1", "C3071", "A"),
        ("T-2", "F5211", "B"),
        ("T-3", "C3071", "B"),
        ("T-4", "F5211", "B"),
        ("T-5", None, None),
        ("T-6", "H6210", "C"),
    ]
    # A correction is the latest version: the problem rate follows it.
    resp = await svc.http.post(
        "/results",
        json=violation("T-1", ("I-1", "I-2"))
        | {"corrects_version": 1, "correction_reason": "补录"},
        headers=svc.auth(Role.PLANNER, "scjg"),
    )
    assert resp.status_code == 201, resp.text
    resp = await svc.http.get("/stats/tasks", params={"year": 2026}, headers=svc.auth(Role.AUDITOR))
    by_industry = {r["industry_code"]: r for r in resp.json()["by_industry"]}
    assert (by_industry["C3071"]["results"], by_industry["C3071"]["problems"]) == (2, 2)


async def test_filters_by_year_region_and_department(run_service: Any) -> None:
    svc = await seeded(run_service)
    policy = svc.auth(Role.POLICY)

    async def get(**params: Any) -> dict[str, Any]:
        resp = await svc.http.get("/stats/tasks", params=params, headers=policy)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    sthj = await get(year=2026, department="sthj")
    assert (sthj["tasks"], sthj["completed"], sthj["department"]) == (1, 1, "sthj")
    assert sthj["timeliness"]["late"] == 1
    assert [r["industry_code"] for r in sthj["by_industry"]] == ["C3071"]
    assert sthj["by_risk_class"] == [{"risk_class": "B", "entities": 1}]
    region = await get(year=2026, region="360222")
    assert (region["tasks"], [r["region_code"] for r in region["by_region"]]) == (1, ["360222"])
    assert region["by_industry"] == [{"industry_code": "C3071", "results": 1, "problems": 1}]
    last_year = await get(year=2025)
    assert (last_year["tasks"], last_year["completed"], last_year["overdue"]) == (1, 0, 1)
    assert (last_year["by_industry"], last_year["by_risk_class"]) == ([], [])
    assert (await get(year=2030))["tasks"] == 0


async def test_who_reads_and_filters_refused_at_the_edge(run_service: Any) -> None:
    svc = await run_service(publisher())
    for role in (Role.AUDITOR, Role.PLANNER, Role.POLICY, Role.DRAW_OFFICER, Role.OPERATOR):
        resp = await svc.http.get(
            "/stats/tasks", params={"year": 2026}, headers=svc.auth(role, "scjg")
        )
        assert resp.status_code == 200, (role, resp.text)
    for role in (Role.INSPECTOR, Role.REGISTRY_OWNER):
        resp = await svc.http.get(
            "/stats/tasks", params={"year": 2026}, headers=svc.auth(role, "scjg")
        )
        assert resp.status_code == 403, role
    auditor = svc.auth(Role.AUDITOR)
    for params in (
        {},
        {"year": 1999},
        {"year": "二〇二六"},
        {"year": 2026, "region": "3602"},
        {"year": 2026, "region": "３６０２０２"},
        {"year": 2026, "department": "市场监管"},
        {"year": 2026, "department": "x" * 65},
    ):
        resp = await svc.http.get("/stats/tasks", params=params, headers=auditor)
        assert resp.status_code == 422, params
