"""Follow-up after a finding, on real NATS and PostgreSQL: a referral to the judicial organs
acknowledged by the receiving body's system on NATS and concluded over HTTP, the events of a
finding with the item catalogue's legal basis, the re-check of an order to correct and the
overdue orders; and what each refuses."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import nats

from contracts import subjects
from contracts.common import Role
from contracts.planner import PlanApproved, PlanItem
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings
from tests.waiting import eventually

from .conftest import bearer, publish_tasks, result_body, stream_messages, task_assigned

BASIS = "《企业信息公示暂行条例》第十四条"


def _plan() -> PlanApproved:
    return PlanApproved(
        plan_id="P-1",
        year=2026,
        title="企业公示信息抽查",
        departments=["scjg"],
        lead_department="scjg",
        rules_version="r" * 64,
        period_start=date(2026, 3, 1),
        period_end=date(2026, 6, 30),
        items=[
            PlanItem(
                code="ITEM-01",
                name="企业公示信息情况的检查",
                department="scjg",
                kind="general",
                legal_basis=BASIS,
            )
        ],
        strata=[],
        approved_at=datetime(2026, 2, 1, tzinfo=UTC),
    )


async def _with_plan(svc: Any) -> None:
    await svc.ctx.bus.publish_event(
        subjects.event("planner", "plan.approved"), _plan(), event_id="plan-P-1"
    )

    async def stored() -> bool:
        return bool(await svc.ctx.db.pool.fetchval("SELECT count(*) FROM plans"))

    await eventually(stored, what="the plan copied", timeout=20)


async def _messages(svc: Any, subject_filter: str) -> dict[str, dict[str, Any]]:
    """The PUBLISHER stream's messages on these subjects, by their id (their bodies)."""
    nc = await nats.connect(svc.ctx.settings.nats_url)
    out: dict[str, dict[str, Any]] = {}
    try:
        sub = await nc.jetstream().pull_subscribe(subject_filter, stream="PUBLISHER")
        while True:
            try:
                msgs = await sub.fetch(100, timeout=1)
            except Exception:
                break
            for m in msgs:
                out[(m.headers or {}).get("Nats-Msg-Id", "")] = json.loads(m.data)
                await m.ack()
    finally:
        await nc.close()
    return out


async def test_a_referral_to_the_judicial_organs_is_acknowledged_and_concluded(
    run_service: Any,
) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(retry_base_s=0.05)))
    await _with_plan(svc)
    await publish_tasks(svc, [task_assigned("T-1")])
    staff = svc.auth(Role.PLANNER, "scjg")
    body = result_body(
        "T-1",
        category="公示信息隐瞒真实情况、弄虚作假",
        follow_up={"refer_to": "judicial"},
    )
    body["items"][0].update(problems="年报资产数据虚假", rooted_at_approval=True)
    resp = await svc.http.post("/results", json=body, headers=staff)
    assert resp.status_code == 201, resp.text
    assert {"referral", "joint_punishment", "licensing_finding"} <= set(resp.json()["destinations"])

    # An event per finding and kind, with the legal basis the plan's catalogue names.
    async def findings() -> dict[str, dict[str, Any]]:
        return await _messages(svc, "spotcheck.v1.publisher.finding.>")

    async def both() -> bool:
        return len(await findings()) == 2

    await eventually(both, what="both finding events published", timeout=30)
    got = await findings()
    joint = got["R-T-1:v1:joint_punishment:ITEM-01"]
    assert joint["kind"] == "joint_punishment" and joint["legal_basis"] == BASIS
    assert joint["category"] == "C" and joint["uscc"] == "91360202MA35XXXX0A"
    assert joint["item_name"] == "企业公示信息情况的检查"
    licensing = got["R-T-1:v1:licensing_finding:ITEM-01"]
    assert licensing["kind"] == "licensing_feedback" and licensing["rooted_at_approval"]
    referral = (await _messages(svc, "spotcheck.v1.publisher.referral.created"))[
        "R-T-1:v1:referral"
    ]
    assert referral["to"] == "judicial" and referral["referral_id"] == "R-T-1:v1"

    task = (await svc.http.get("/tasks/T-1", headers=staff)).json()
    [shown] = task["follow_up"]["referrals"]
    assert shown["status"] == "referred" and shown["to"] == "judicial"

    # The receiving body's system says it took the case, on NATS.
    nc = await nats.connect(svc.ctx.settings.nats_url)
    try:
        ack = {
            "referral_id": "R-T-1:v1",
            "receiver": "景德镇市公安局昌江分局",
            "received_at": "2026-03-12T09:00:00+08:00",
            "case_number": "昌公刑受字〔2026〕18号",
        }
        await nc.jetstream().publish(
            subjects.CASES_REFERRAL_ACKNOWLEDGED,
            json.dumps(ack, ensure_ascii=False).encode(),
            headers={"Nats-Msg-Id": "ack-1"},
        )
    finally:
        await nc.close()

    async def acknowledged() -> bool:
        t = (await svc.http.get("/tasks/T-1", headers=staff)).json()
        return bool(t["follow_up"]["referrals"][0]["status"] == "acknowledged")

    await eventually(acknowledged, what="the acknowledgement on the task", timeout=30)
    task = (await svc.http.get("/tasks/T-1", headers=staff)).json()
    assert task["follow_up"]["referrals"][0]["case_number"] == "昌公刑受字〔2026〕18号"

    # Its outcome over HTTP, by the receiving agency; a repeat answers the record, another
    # outcome is refused, and a planner may not record one.
    agency = svc.auth(Role.AGENCY)
    outcome = {"outcome": "立案侦查后移送起诉", "decided_at": "2026-05-20"}
    r = await svc.http.post("/referrals/R-T-1:v1/outcome", json=outcome, headers=agency)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "concluded" and r.json()["receiver"] == "景德镇市公安局昌江分局"
    again = await svc.http.post("/referrals/R-T-1:v1/outcome", json=outcome, headers=agency)
    assert again.status_code == 200 and again.json() == r.json()
    other = {**outcome, "outcome": "不予立案"}
    refused = await svc.http.post("/referrals/R-T-1:v1/outcome", json=other, headers=agency)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "referral_already_concluded"
    by_planner = await svc.http.post("/referrals/R-T-1:v1/outcome", json=outcome, headers=staff)
    assert by_planner.status_code == 403

    task = (await svc.http.get("/tasks/T-1", headers=staff)).json()
    assert task["follow_up"]["referrals"][0]["outcome"] == "立案侦查后移送起诉"

    # Each change audited and evented once (the repeat neither).
    audit = await svc.ctx.db.pool.fetch(
        "SELECT action, actor FROM audit_log WHERE action LIKE 'referral.%' ORDER BY seq"
    )
    assert [(a["action"], a["actor"]) for a in audit] == [
        ("referral.acknowledged", "nats:ack-1"),
        ("referral.concluded", "test-agency"),
    ]
    events = await stream_messages(svc, "spotcheck.v1.publisher.referral.*")
    assert events["referral.acknowledged:R-T-1:v1"] == 1
    assert events["referral.concluded:R-T-1:v1"] == 1


async def test_an_unknown_referral_is_refused(run_service: Any) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    await publish_tasks(svc, [task_assigned("T-1")])
    staff = svc.auth(Role.PLANNER, "scjg")
    resp = await svc.http.post("/results", json=result_body("T-1"), headers=staff)
    assert resp.status_code == 201  # no violation: no referral
    agency = svc.auth(Role.AGENCY)
    ack = {"receiver": "案审科", "received_at": "2026-03-12T09:00:00+08:00", "case_number": "1"}
    for rid in ("R-T-1:v1", "R-T-9:v1", "nonsense"):
        r = await svc.http.post(f"/referrals/{rid}/acknowledgement", json=ack, headers=agency)
        assert r.status_code == 404 and r.json()["error"]["code"] == "referral_unknown", rid
    # Nor may a result without a violation be referred to the judicial organs.
    fix = result_body(
        "T-1", corrects_version=1, correction_reason="补移送", follow_up={"refer_to": "judicial"}
    )
    refused = await svc.http.post("/results", json=fix, headers=staff)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["loc"] == ["follow_up", "refer_to"]


async def test_an_order_to_correct_is_rechecked_and_the_overdue_ones_listed(
    run_service: Any,
) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    await publish_tasks(svc, [task_assigned(t) for t in ("T-1", "T-2", "T-3")])
    staff = svc.auth(Role.PLANNER, "scjg")
    order = {"rectify_by": "2026-03-20", "rectification": "补报2025年度年报"}
    for t in ("T-1", "T-2"):
        body = result_body(t, category="发现问题已责令改正", follow_up=order)
        assert (await svc.http.post("/results", json=body, headers=staff)).status_code == 201
    plain = await svc.http.post("/results", json=result_body("T-3"), headers=staff)
    assert plain.status_code == 201

    operator = svc.auth(Role.OPERATOR)
    overdue = await svc.http.get("/rectifications?overdue=true", headers=operator)
    assert [e["result_id"] for e in overdue.json()] == ["R-T-1", "R-T-2"]
    assert all(e["overdue"] and e["check"] is None for e in overdue.json())

    inspector = bearer(svc, Role.INSPECTOR, "I-1")
    outsider = bearer(svc, Role.INSPECTOR, "I-9")
    check = {"checked_on": "2026-03-21", "rectified": True, "recheck_task_id": "T-R-1"}
    r = await svc.http.post("/results/R-T-1/rectification", json=check, headers=outsider)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_on_team"
    early = {"checked_on": "2026-03-01", "rectified": False}
    r = await svc.http.post("/results/R-T-1/rectification", json=early, headers=inspector)
    assert r.status_code == 422
    assert {d["type"] for d in r.json()["error"]["details"]} == {
        "checked_before_check",
        "note_missing",
    }
    r = await svc.http.post("/results/R-T-3/rectification", json=check, headers=inspector)
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_rectification_ordered"

    r = await svc.http.post("/results/R-T-1/rectification", json=check, headers=inspector)
    assert r.status_code == 200, r.text
    assert r.json()["rectify_by"] == "2026-03-20" and r.json()["checked_by"] == "I-1"
    again = await svc.http.post("/results/R-T-1/rectification", json=check, headers=staff)
    assert again.status_code == 200 and again.json() == r.json()
    other = {**check, "rectified": False, "note": "仍未公示"}
    r = await svc.http.post("/results/R-T-1/rectification", json=other, headers=inspector)
    assert r.status_code == 409 and r.json()["error"]["code"] == "rectification_already_checked"

    overdue = await svc.http.get("/rectifications?overdue=true", headers=operator)
    assert [e["result_id"] for e in overdue.json()] == ["R-T-2"]
    every = await svc.http.get("/rectifications", headers=staff)
    assert [(e["result_id"], e["check"] is not None) for e in every.json()] == [
        ("R-T-1", True),
        ("R-T-2", False),
    ]
    elsewhere = await svc.http.get("/rectifications", headers=svc.auth(Role.PLANNER, "sw"))
    assert elsewhere.json() == []

    shown = (await svc.http.get("/tasks/T-1", headers=staff)).json()["follow_up"]
    assert shown["rectification_check"]["recheck_task_id"] == "T-R-1"
    assert not shown["rectification_overdue"]
    assert (await svc.http.get("/tasks/T-2", headers=staff)).json()["follow_up"][
        "rectification_overdue"
    ]

    audit = await svc.ctx.db.pool.fetch(
        "SELECT subject FROM audit_log WHERE action = 'rectification.checked'"
    )
    assert [a["subject"] for a in audit] == ["R-T-1:v1"]

    async def evented() -> bool:
        seen = await stream_messages(svc, "spotcheck.v1.publisher.rectification.checked")
        return seen == {"rectification.checked:R-T-1": 1}

    await eventually(evented, what="one rectification.checked event", timeout=30)


async def test_a_task_without_a_plan_names_its_items_legal_basis(run_service: Any) -> None:
    """A triggered task has no plan: its own items carry the legal basis its findings name."""
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    task = task_assigned("T-9")
    items = [i.model_copy(update={"legal_basis": "《条例》第九条"}) for i in task.items]
    await publish_tasks(svc, [task.model_copy(update={"plan_id": "", "items": items})])
    staff = svc.auth(Role.PLANNER, "scjg")
    resp = await svc.http.post("/results", json=result_body("T-9", category="C"), headers=staff)
    assert resp.status_code == 201, resp.text
    joint = await svc.ctx.db.pool.fetchval(
        "SELECT payload FROM outbox WHERE destination = 'joint_punishment'"
    )
    assert joint["legal_basis"] == "《条例》第九条"
