"""Commissioned items on real NATS and PostgreSQL: an inspector of the team hands an item to a
testing body, the item's result waits for the report, the report (an uploaded file) comes back
nonconforming, and the result must then name a finding; both steps audited, told on the bus
and shown with the task."""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.common import Role
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings

from .conftest import bearer, publish_tasks, result_body, stream_messages, task_assigned

OPENING = {
    "item_code": "ITEM-01",
    "kind": "test",
    "body_name": "江西省产品质量监督检测院",
    "qualification_no": "CMA 161412050123",
    "subject": "电线电缆 BV 2.5mm² 批号 20260301，抽样 2 卷",
    "commissioned_on": "2026-03-10",
}


async def test_an_item_waits_for_its_report_and_its_result_agrees_with_it(
    run_service: Any,
) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    task = task_assigned("T-1", period_end=date(2099, 12, 31)).model_copy(
        update={"methods": ["on_site", "commissioned"]}
    )
    await publish_tasks(svc, [task])
    member = bearer(svc, Role.INSPECTOR, "I-1")
    stranger = bearer(svc, Role.INSPECTOR, "I-9")

    r = await svc.http.post("/tasks/T-1/commissions", json=OPENING, headers=stranger)
    assert r.status_code == 422, r.text
    assert {d["type"] for d in r.json()["error"]["details"]} == {"inspector_not_on_team"}
    r = await svc.http.post(
        "/tasks/T-1/commissions", json={**OPENING, "item_code": "ITEM-09"}, headers=member
    )
    assert r.status_code == 422 and "item_not_on_task" in r.text

    r = await svc.http.post("/tasks/T-1/commissions", json=OPENING, headers=member)
    assert r.status_code == 201, r.text
    commission = r.json()
    assert commission["conclusion"] is None and commission["opened_by"] == "I-1"
    again = await svc.http.post("/tasks/T-1/commissions", json=OPENING, headers=member)
    assert again.status_code == 422 and "commission_open" in again.text

    # the item's result waits for the report
    staff = bearer(svc, Role.PLANNER, "staff-1")
    r = await svc.http.post("/results", json=result_body("T-1"), headers=staff)
    assert r.status_code == 422, r.text
    [reason] = r.json()["error"]["details"]
    assert reason["type"] == "commission_pending" and reason["loc"] == ["items", 0, "category"]
    assert "江西省产品质量监督检测院" in reason["msg_zh"]

    report = "检验结论：不合格（导体电阻超标）".encode()
    up = await svc.http.post("/attachments", content=report, headers=member)
    attached = {
        "name": "检验报告.pdf",
        "sha256": up.json()["sha256"],
        "size": len(report),
        "kind": "report",
    }
    reporting = {"report": attached, "conclusion": "nonconforming", "reported_on": "2026-03-20"}
    path = f"/commissions/{commission['commission_id']}/report"
    missing = {**attached, "sha256": "0" * 64}
    r = await svc.http.post(path, json={**reporting, "report": missing}, headers=member)
    assert r.status_code == 422 and "attachment_missing" in r.text
    r = await svc.http.post(path, json=reporting, headers=member)
    assert r.status_code == 200, r.text
    assert r.json()["conclusion"] == "nonconforming" and "1" not in r.json()["allowed_categories"]
    r = await svc.http.post(path, json=reporting, headers=member)
    assert r.status_code == 409 and r.json()["error"]["code"] == "commission_reported"

    # a result that contradicts the report is refused; one that names a finding is kept
    r = await svc.http.post("/results", json=result_body("T-1"), headers=staff)
    assert r.status_code == 422 and "commission_conclusion_mismatch" in r.text
    r = await svc.http.post("/results", json=result_body("T-1", category="4"), headers=staff)
    assert r.status_code == 201, r.text

    detail = (await svc.http.get("/tasks/T-1", headers=member)).json()
    [shown] = detail["commissions"]
    assert shown["body_name"] == OPENING["body_name"] and shown["report"]["kind"] == "report"
    audited = await svc.ctx.db.pool.fetch(
        "SELECT action FROM audit_log WHERE action LIKE 'commission.%' ORDER BY seq"
    )
    assert [a["action"] for a in audited] == ["commission.opened", "commission.reported"]
    await svc.ctx.outbox.flush()
    told = await stream_messages(svc, "spotcheck.v1.publisher.commission.>")
    cid = commission["commission_id"]
    assert told == {f"commission.opened:{cid}": 1, f"commission.reported:{cid}": 1}
