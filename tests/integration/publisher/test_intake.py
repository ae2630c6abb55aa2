"""Result intake against real NATS and PostgreSQL: refusals change nothing; acceptance queues
every delivery in the same transaction; corrections are new versions; public pages."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

from contracts.common import Role
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings

from .conftest import publish_tasks, result_body, task_assigned


def publisher_spec(**kw: Any) -> Any:
    return lambda: spec(PublisherSettings(**kw))


async def counts(svc: Any) -> tuple[int, int]:
    pool = svc.ctx.db.pool
    return (
        await pool.fetchval("SELECT count(*) FROM results"),
        await pool.fetchval("SELECT count(*) FROM outbox"),
    )


async def test_each_refusal_changes_nothing(run_service: Any) -> None:
    svc = await run_service(publisher_spec(relay_enabled=False, max_attachment_bytes=1000))
    await publish_tasks(svc, [task_assigned("T-1")])
    inspector = svc.auth(Role.INSPECTOR, "scjg")  # sub = test-inspector: not on the team
    on_team = {"Authorization": "Bearer " + svc.token(Role.INSPECTOR, "scjg")}
    cases = {
        "task_unknown": result_body("T-404"),
        "category_unknown": result_body("T-1", category="差不多"),
        "confirmation_missing": result_body("T-1", team=("I-1",)),
        "check_date_outside_period": result_body("T-1", check_date="2026-02-02"),
        "attachment_too_large": result_body(
            "T-1", attachments=[{"name": "v.mp4", "sha256": "0" * 64, "size": 5000}]
        ),
        "attachment_missing": result_body(
            "T-1", attachments=[{"name": "p.jpg", "sha256": "1" * 64, "size": 10}]
        ),
    }
    dept_staff = svc.auth(Role.PLANNER, "scjg")
    for reason, body in cases.items():
        resp = await svc.http.post("/results", json=body, headers=dept_staff)
        assert resp.status_code == 422, (reason, resp.text)
        types = {d["type"] for d in resp.json()["error"]["details"]}
        assert reason in types, (reason, types)
    resp = await svc.http.post("/results", json=result_body("T-1"), headers=inspector)
    assert resp.status_code == 422
    assert "inspector_not_on_team" in {d["type"] for d in resp.json()["error"]["details"]}
    del on_team
    assert await counts(svc) == (0, 0)
    assert (
        await svc.ctx.db.pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'result.accepted'"
        )
        == 0
    )


async def test_accept_queues_every_destination_and_corrections_are_versions(
    run_service: Any,
) -> None:
    svc = await run_service(publisher_spec(relay_enabled=False))
    await publish_tasks(svc, [task_assigned("T-1")])
    staff = svc.auth(Role.PLANNER, "scjg")
    content = b"photo bytes"
    up = await svc.http.post("/attachments", content=content, headers=staff)
    assert up.status_code == 201 and up.json()["sha256"] == hashlib.sha256(content).hexdigest()
    body = result_body(
        "T-1",
        category="公示信息隐瞒真实情况、弄虚作假",
        attachments=[
            {"name": "p.jpg", "sha256": up.json()["sha256"], "size": len(content)},
            {
                "name": "q.txt",
                "sha256": hashlib.sha256(b"inline").hexdigest(),
                "size": 6,
                "content_base64": base64.b64encode(b"inline").decode(),
            },
        ],
    )
    resp = await svc.http.post("/results", json=body, headers=staff)
    assert resp.status_code == 201, resp.text
    accepted = resp.json()
    assert accepted["version"] == 1 and accepted["due_date"] == "2026-04-08"
    # C leads to joint punishment (联合惩戒): one more row, for its one finding.
    assert set(accepted["destinations"]) == {
        "disclosure",
        "stream",
        "credit",
        "referral",
        "joint_punishment",
    }
    assert await counts(svc) == (1, 5)
    bucket = await svc.ctx.bus.object_store("spotcheck-evidence")
    got = await bucket.get(hashlib.sha256(b"inline").hexdigest())
    assert got.data == b"inline"

    again = await svc.http.post("/results", json=body, headers=staff)
    assert again.status_code == 409
    fix = result_body("T-1", category="1", corrects_version=1, correction_reason="录入错误")
    resp = await svc.http.post("/results", json=fix, headers=staff)
    assert resp.status_code == 201 and resp.json()["version"] == 2
    rows = await svc.ctx.db.pool.fetch("SELECT version, categories FROM results ORDER BY version")
    assert [(r["version"], r["categories"]) for r in rows] == [(1, ["C"]), (2, ["1"])]
    keys = await svc.ctx.db.pool.fetch("SELECT idempotency_key FROM outbox ORDER BY id")
    assert "R-T-1:v2:disclosure" in {k["idempotency_key"] for k in keys}


async def test_batch_reports_each_result(run_service: Any) -> None:
    svc = await run_service(publisher_spec(relay_enabled=False))
    await publish_tasks(svc, [task_assigned("T-1"), task_assigned("T-2")])
    resp = await svc.http.post(
        "/results/batch",
        json=[result_body("T-1"), result_body("T-2", category="?"), {"task_id": 5}],
        headers=svc.auth(Role.PLANNER, "scjg"),
    )
    assert resp.status_code == 200
    out = resp.json()
    assert out[0]["accepted"]["version"] == 1
    assert out[1]["error"]["details"][0]["type"] == "category_unknown"
    assert out[2]["error"]["code"] == "invalid"
    assert await counts(svc) == (1, 3)


async def test_published_results_appear_on_public_pages_escaped(run_service: Any) -> None:
    svc = await run_service(publisher_spec(relay_batch=50))
    evil = "<script>alert(1)</script>瓷业"
    await publish_tasks(svc, [task_assigned("T-9", name=evil)])
    resp = await svc.http.post(
        "/results", json=result_body("T-9"), headers=svc.auth(Role.PLANNER, "scjg")
    )
    assert resp.status_code == 201
    for _ in range(200):
        if (
            await svc.ctx.db.pool.fetchval("SELECT count(*) FROM outbox WHERE state = 'delivered'")
            == 3
        ):
            break
        await asyncio.sleep(0.05)
    page = await svc.http.get("/public/results", params={"q": "瓷业"})
    assert page.status_code == 200 and "&lt;script&gt;" in page.text
    assert "<script>" not in page.text and "未发现问题" in page.text
    assert (await svc.http.get("/public/results", params={"q": "91360202MA35XXXX0A"})).text.count(
        "<tr>"
    ) == 2  # header + one result
    csv_resp = await svc.http.get("/public/results.csv")
    assert csv_resp.content.startswith(b"\xef\xbb\xbf")
    assert (await svc.http.get("/public/results.json")).json()["count"] == 1
    assert "<entry>" in (await svc.http.get("/public/feed.atom")).text
    assert (await svc.http.get("/public/tasks")).status_code == 200
    metrics = (await svc.http.get("/metrics")).text
    assert "spotcheck_publisher_outbox" in metrics


async def test_overdue_results_are_reported_to_operators_and_exported_as_metrics(
    run_service: Any,
) -> None:
    # The relay is off: nothing gets public, and a check in March is long overdue.
    svc = await run_service(publisher_spec(relay_enabled=False))
    await publish_tasks(svc, [task_assigned("T-1")])
    resp = await svc.http.post(
        "/results", json=result_body("T-1"), headers=svc.auth(Role.PLANNER, "scjg")
    )
    assert resp.status_code == 201
    assert (
        await svc.http.get("/deadlines", headers=svc.auth(Role.INSPECTOR, "scjg"))
    ).status_code == 403
    for role in (Role.OPERATOR, Role.AUDITOR):
        rows = (await svc.http.get("/deadlines", headers=svc.auth(role))).json()
        assert [(r["result_id"], r["state"], r["due_date"]) for r in rows] == [
            ("R-T-1", "overdue", "2026-04-08")
        ]
    metrics = (await svc.http.get("/metrics")).text
    assert 'spotcheck_publisher_results{state="overdue"} 1.0' in metrics
    assert 'spotcheck_publisher_outbox{state="pending"} 3.0' in metrics
