"""What the inspector's phone (掌上查) needs of the publisher, on real NATS and PostgreSQL: the
task list per role, results each team member confirms with their own sign-in, idempotent
submissions (also when two race), the follow-up's checks, and the public facts of a check code.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import date
from typing import Any

from contracts.common import Role
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings

from .conftest import bearer, publish_tasks, result_body, stream_messages, task_assigned

FAR = date(2099, 12, 31)  # a period that has not ended (whenever this runs)
PAST = date(2026, 6, 30)  # one that has: its tasks without a result are overdue
ACCEPTED = "spotcheck.v1.publisher.result.accepted"


def publisher(**kw: Any) -> Any:
    return lambda: spec(PublisherSettings(**{"relay_enabled": False, **kw}))


def own(inspector: str, at: str = "2026-03-10T16:30:00+08:00") -> list[dict[str, str]]:
    return [{"inspector_id": inspector, "confirmed_at": at}]


def ids(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [c["task_id"] for c in resp.json()]


async def count(svc: Any, sql: str, *args: Any) -> int:
    return int(await svc.ctx.db.pool.fetchval(sql, *args))


def canonical_sha256(submission: dict[str, Any]) -> str:
    """The content hash as contracts.publisher.ResultDraft documents it, computed apart."""
    body = {k: v for k, v in submission.items() if k not in ("confirmations", "idempotency_key")}
    body["attachments"] = [
        {k: v for k, v in a.items() if k != "content_base64"} for a in body["attachments"]
    ]
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def test_tasks_per_role_with_filters_in_due_order(run_service: Any) -> None:
    svc = await run_service(publisher())
    merged = task_assigned("T-0", team=("I-3", "I-4"), period_end=FAR)
    absorbing = task_assigned("T-6", team=("I-3", "I-4"), period_end=FAR).model_copy(
        update={"merged_from": ["T-0"]}
    )
    await publish_tasks(
        svc,
        [
            task_assigned("T-1", period_end=FAR, batch=2),
            task_assigned(
                "T-2",
                team=("I-1", "I-3"),
                period_end=date(2099, 6, 30),
                batch=3,
                name="昌江区青花陶瓷店",
                uscc="92360202MA35YYYY1B",
            ),
            task_assigned(
                "T-3",
                period_end=date(2099, 6, 30),
                name="浮梁县红茶专业合作社",
                uscc="93360222MA35ZZZZ2C",
            ),
            task_assigned("T-4", period_end=PAST, batch=5, name="乐平市久未检查商行"),
            task_assigned("T-5", team=("I-2", "I-3"), period_end=FAR, dept="sthj"),
            merged,
            absorbing,
        ],
    )
    i1 = bearer(svc, Role.INSPECTOR, "I-1")

    # Each inspector sees the tasks of their teams: overdue first, then by due date and batch.
    assert ids(await svc.http.get("/tasks", headers=i1)) == ["T-4", "T-3", "T-2", "T-1"]
    i3 = bearer(svc, Role.INSPECTOR, "I-3")
    assert ids(await svc.http.get("/tasks", headers=i3)) == ["T-2", "T-0", "T-5", "T-6"]
    planner = bearer(svc, Role.PLANNER, "staff-1", dept="sthj")
    assert ids(await svc.http.get("/tasks", headers=planner)) == ["T-5"]
    everything = ["T-4", "T-3", "T-2", "T-0", "T-5", "T-6", "T-1"]
    for role in (Role.AUDITOR, Role.OPERATOR):
        assert ids(await svc.http.get("/tasks", headers=svc.auth(role))) == everything
    assert (await svc.http.get("/tasks", headers=svc.auth(Role.DRAW_OFFICER))).status_code == 403
    assert (await svc.http.get("/tasks")).status_code == 401

    cards = {c["task_id"]: c for c in (await svc.http.get("/tasks", headers=i1)).json()}
    t4 = cards["T-4"]
    assert t4["overdue"] is True and t4["status"] == "assigned" and t4["batch"] == 5
    assert t4["team"] == ["I-1", "I-2"] and t4["items"][0]["code"] == "ITEM-01"
    assert t4["latest_result"] is None and t4["pending_draft"] is None
    assert cards["T-1"]["overdue"] is False and cards["T-1"]["period_end"] == "2099-12-31"

    # Search: part of the name (Chinese as typed), the start of the USCC; wildcards are text.
    assert ids(await svc.http.get("/tasks", params={"q": "青花"}, headers=i1)) == ["T-2"]
    assert ids(await svc.http.get("/tasks", params={"q": "93360222ma"}, headers=i1)) == ["T-3"]
    assert ids(await svc.http.get("/tasks", params={"q": "%"}, headers=i1)) == []
    assert ids(await svc.http.get("/tasks", params={"limit": 2, "offset": 1}, headers=i1)) == [
        "T-3",
        "T-2",
    ]

    # Status follows what happens to each task.
    assert (await svc.http.post("/tasks/T-1/start", headers=i1)).status_code == 200
    staff = bearer(svc, Role.PLANNER, "staff-2", dept="scjg")
    r = await svc.http.post("/results", json=result_body("T-3"), headers=staff)
    assert r.status_code == 201, r.text
    r = await svc.http.post(
        "/results", json=result_body("T-2", team=("I-1",)), headers=i1
    )  # the inspector's own: a draft waiting for I-3
    assert r.status_code == 202, r.text
    by_status = {
        status: ids(await svc.http.get("/tasks", params={"status": status}, headers=i1))
        for status in ("assigned", "in_progress", "awaiting_confirmation", "result_recorded")
    }
    assert by_status == {
        "assigned": ["T-4"],
        "in_progress": ["T-1"],
        "awaiting_confirmation": ["T-2"],
        "result_recorded": ["T-3"],
    }
    ops = svc.auth(Role.OPERATOR)
    assert ids(await svc.http.get("/tasks", params={"status": "merged"}, headers=ops)) == ["T-0"]
    cards = {c["task_id"]: c for c in (await svc.http.get("/tasks", headers=i1)).json()}
    assert cards["T-1"]["started_at"] is not None
    assert cards["T-3"]["latest_result"] == {
        "result_id": "R-T-3",
        "version": 1,
        "check_date": "2026-03-10",
        "due_date": "2026-04-08",
        "published_at": None,
    }
    draft = cards["T-2"]["pending_draft"]
    assert draft["awaiting"] == ["I-3"] and draft["submission"] is None

    # Bad filters: every reason, each at its parameter, in English and Chinese.
    r = await svc.http.get(
        "/tasks", params={"limit": 0, "offset": -1, "status": "done"}, headers=i1
    )
    assert r.status_code == 422
    details = {d["type"]: d for d in r.json()["error"]["details"]}
    assert set(details) == {"limit_out_of_range", "offset_negative", "status_unknown"}
    assert details["limit_out_of_range"]["loc"] == ["query", "limit"]
    assert all(d["msg_zh"] and d["msg"] for d in details.values())
    assert (await svc.http.get("/tasks", params={"limit": 501}, headers=i1)).status_code == 422
    assert (await svc.http.get("/tasks", params={"limit": 500}, headers=i1)).status_code == 200

    # One task: members and its department's staff read it; others are refused, clearly.
    r = await svc.http.get("/tasks/T-3", headers=i1)
    assert r.status_code == 200 and [v["version"] for v in r.json()["results"]] == [1]
    assert r.json()["results"][0]["items"][0]["category_name"] == "未发现问题"
    assert (await svc.http.get("/tasks/T-3", headers=staff)).status_code == 200
    r = await svc.http.get("/tasks/T-3", headers=i3)
    assert r.status_code == 403, r.text
    err = r.json()["error"]
    assert err["code"] == "not_on_team" and "not on the team" in err["message"]
    assert err["details"][0]["type"] == "inspector_not_on_team" and err["details"][0]["msg_zh"]
    assert (await svc.http.get("/tasks/T-3", headers=planner)).status_code == 403
    assert (await svc.http.get("/tasks/T-404", headers=i1)).status_code == 404


async def test_a_draft_becomes_the_result_when_the_other_member_confirms(
    run_service: Any,
) -> None:
    svc = await run_service(publisher())
    await publish_tasks(svc, [task_assigned("T-1", period_end=FAR)])
    i1, i2 = bearer(svc, Role.INSPECTOR, "I-1"), bearer(svc, Role.INSPECTOR, "I-2")
    body = result_body(
        "T-1",
        confirmations=own("I-1"),
        items=[
            {
                "item_code": "ITEM-01",
                "category": "E",
                "problems": "未按规定公示年报",
                "answers": [
                    {"question_id": "Q1", "answer": "no", "note": "年报未公示"},
                    {"question_id": "Q2", "answer": "na"},
                ],
            }
        ],
        follow_up={"rectify_by": "2026-03-31", "rectification": "补报并公示年度报告"},
    )
    r = await svc.http.post("/results", json=body, headers=i1)
    assert r.status_code == 202, r.text
    draft = r.json()
    assert draft["state"] == "awaiting" and draft["awaiting"] == ["I-2"]
    assert draft["submitted_by"] == "I-1"
    assert [c["inspector_id"] for c in draft["confirmed_by"]] == ["I-1"]
    # Not a result yet: nothing stored as one, no event, no delivery; the draft is audited.
    assert await count(svc, "SELECT count(*) FROM results") == 0
    assert await count(svc, "SELECT count(*) FROM event_outbox WHERE subject = $1", ACCEPTED) == 0
    assert await count(svc, "SELECT count(*) FROM outbox") == 0

    # The other member reads the draft in full and checks its hash independently.
    r = await svc.http.get("/tasks/T-1", headers=i2)
    assert r.status_code == 200 and r.json()["status"] == "awaiting_confirmation"
    pending = r.json()["pending_draft"]
    assert pending["draft_id"] == draft["draft_id"]
    assert pending["submission"]["follow_up"]["rectification"] == "补报并公示年度报告"
    assert canonical_sha256(pending["submission"]) == draft["content_sha256"]

    # Confirming anything but what was read is refused and changes nothing.
    wrong = {"draft_id": draft["draft_id"], "content_sha256": "0" * 64}
    r = await svc.http.post("/tasks/T-1/draft/confirm", json=wrong, headers=i2)
    assert r.status_code == 409, r.text
    [detail] = r.json()["error"]["details"]
    assert r.json()["error"]["code"] == "draft_content_mismatch"
    assert detail["loc"] == ["content_sha256"] and detail["msg_zh"]
    stranger = bearer(svc, Role.INSPECTOR, "I-9")
    right = {"draft_id": draft["draft_id"], "content_sha256": draft["content_sha256"]}
    r = await svc.http.post("/tasks/T-1/draft/confirm", json=right, headers=stranger)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_on_team"
    staff = svc.auth(Role.PLANNER, "scjg")
    r = await svc.http.post("/tasks/T-1/draft/confirm", json=right, headers=staff)
    assert r.status_code == 403
    assert await count(svc, "SELECT count(*) FROM results") == 0

    # The submitter confirming again changes nothing; the other member's confirmation is the
    # last one: the result, with each member's confirmation at its own time.
    r = await svc.http.post("/tasks/T-1/draft/confirm", json=right, headers=i1)
    assert r.status_code == 200 and r.json()["awaiting"] == ["I-2"]
    r = await svc.http.post("/tasks/T-1/draft/confirm", json=right, headers=i2)
    assert r.status_code == 201, r.text
    accepted = r.json()
    assert accepted["result_id"] == "R-T-1" and accepted["version"] == 1
    assert "referral" not in accepted["destinations"]  # E alone is not referred
    row = await svc.ctx.db.pool.fetchrow("SELECT * FROM results WHERE result_id = 'R-T-1'")
    assert row["submitted_by"] == "I-1"
    times = {c["inspector_id"]: c["confirmed_at"] for c in row["confirmations"]}
    assert set(times) == {"I-1", "I-2"} and times["I-1"].startswith("2026-03-10T16:30")
    assert not times["I-2"].startswith("2026-03-10")
    assert row["follow_up"]["rectify_by"] == "2026-03-31"
    assert row["items"][0]["answers"][0] == {
        "question_id": "Q1",
        "answer": "no",
        "note": "年报未公示",
    }

    # A repeat of the last confirmation (the phone's queue) answers the same, records nothing.
    again = await svc.http.post("/tasks/T-1/draft/confirm", json=right, headers=i2)
    assert again.status_code == 200 and again.json() == accepted
    assert await count(svc, "SELECT count(*) FROM results") == 1

    # The draw learns of the result: result.accepted, once.
    await svc.ctx.outbox.flush()
    assert await stream_messages(svc, ACCEPTED) == {"result.accepted:R-T-1:v1": 1}
    actions = [
        r["action"]
        for r in await svc.ctx.db.pool.fetch(
            "SELECT action FROM audit_log WHERE action LIKE 'result.%' ORDER BY seq"
        )
    ]
    assert actions == ["result.draft.submitted", "result.draft.confirmed", "result.accepted"]
    audited = await svc.ctx.db.pool.fetchrow(
        "SELECT actor FROM audit_log WHERE action = 'result.draft.confirmed'"
    )
    assert audited["actor"] == "I-2"

    # GET /results/{id} carries the answers and the follow-up; the task shows the result.
    versions = (await svc.http.get("/results/R-T-1", headers=i1)).json()
    assert versions[0]["follow_up"]["rectification"] == "补报并公示年度报告"
    assert versions[0]["items"][0]["answers"][1]["answer"] == "na"
    detail = (await svc.http.get("/tasks/T-1", headers=i1)).json()
    assert detail["status"] == "result_recorded" and detail["pending_draft"] is None
    assert detail["results"][0]["follow_up"]["rectify_by"] == "2026-03-31"


async def test_a_confirmation_in_someone_elses_name_is_refused(run_service: Any) -> None:
    svc = await run_service(publisher())
    await publish_tasks(svc, [task_assigned("T-1", period_end=FAR)])
    i1 = bearer(svc, Role.INSPECTOR, "I-1")
    forged = result_body("T-1")  # confirmed "by" I-1 and I-2 with I-1's token
    r = await svc.http.post("/results", json=forged, headers=i1)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "result_refused"
    [detail] = r.json()["error"]["details"]
    assert detail["loc"] == ["confirmations", 1] and detail["type"] == "confirmation_not_own"
    assert detail["msg_zh"] and "I-2" in detail["msg"]
    # The same through a batch; nothing is kept either way.
    r = await svc.http.post("/results/batch", json=[forged], headers=i1)
    assert r.status_code == 200
    assert r.json()[0]["error"]["details"][0]["loc"] == ["confirmations", 1]
    assert await count(svc, "SELECT count(*) FROM result_drafts") == 0
    assert await count(svc, "SELECT count(*) FROM results") == 0
    # Department staff entering the paper record still confirm for the team (谁检查、谁录入).
    r = await svc.http.post("/results", json=forged, headers=svc.auth(Role.PLANNER, "scjg"))
    assert r.status_code == 201, r.text


async def test_a_draft_is_replaced_by_a_new_submission_and_returned_with_a_reason(
    run_service: Any,
) -> None:
    svc = await run_service(publisher())
    await publish_tasks(svc, [task_assigned("T-1", team=("I-1", "I-2", "I-3"), period_end=FAR)])
    i1, i2, i3 = (bearer(svc, Role.INSPECTOR, i) for i in ("I-1", "I-2", "I-3"))
    first = await svc.http.post("/results", json=result_body("T-1", confirmations=[]), headers=i1)
    assert first.status_code == 202, first.text
    d1 = first.json()
    assert d1["awaiting"] == ["I-2", "I-3"]  # the submitter's confirmation is implied
    confirm1 = {"draft_id": d1["draft_id"], "content_sha256": d1["content_sha256"]}
    r = await svc.http.post("/tasks/T-1/draft/confirm", json=confirm1, headers=i2)
    assert r.status_code == 200 and r.json()["awaiting"] == ["I-3"]

    # I-2 resubmits with a change: the draft is replaced, its confirmations dropped.
    changed = result_body("T-1", category="E", confirmations=[])
    second = await svc.http.post("/results", json=changed, headers=i2)
    assert second.status_code == 202, second.text
    d2 = second.json()
    assert d2["submitted_by"] == "I-2" and d2["awaiting"] == ["I-1", "I-3"]
    assert d2["content_sha256"] != d1["content_sha256"]
    r = await svc.http.post("/tasks/T-1/draft/confirm", json=confirm1, headers=i3)
    assert r.status_code == 409 and r.json()["error"]["code"] == "draft_closed"

    # Returned with a reason (none is refused); it cannot be confirmed any more.
    empty = {"draft_id": d2["draft_id"], "reason": "  "}
    r = await svc.http.post("/tasks/T-1/draft/return", json=empty, headers=i3)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == ["reason"]
    back = {"draft_id": d2["draft_id"], "reason": "检查结果类别有误，应为未发现问题"}
    r = await svc.http.post("/tasks/T-1/draft/return", json=back, headers=i3)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "returned" and r.json()["reason"] == back["reason"]
    confirm2 = {"draft_id": d2["draft_id"], "content_sha256": d2["content_sha256"]}
    r = await svc.http.post("/tasks/T-1/draft/confirm", json=confirm2, headers=i1)
    assert r.status_code == 409
    detail = (await svc.http.get("/tasks/T-1", headers=i1)).json()
    assert detail["status"] == "assigned" and detail["pending_draft"] is None

    # Submitted again; the two others confirm; the result has the three confirmations.
    d3 = await svc.http.post("/results", json=result_body("T-1", confirmations=[]), headers=i1)
    d3j = d3.json()
    confirm3 = {"draft_id": d3j["draft_id"], "content_sha256": d3j["content_sha256"]}
    assert (
        await svc.http.post("/tasks/T-1/draft/confirm", json=confirm3, headers=i3)
    ).status_code == 200
    r = await svc.http.post("/tasks/T-1/draft/confirm", json=confirm3, headers=i2)
    assert r.status_code == 201, r.text
    confirmations = await svc.ctx.db.pool.fetchval("SELECT confirmations FROM results")
    assert [c["inspector_id"] for c in confirmations] == ["I-1", "I-3", "I-2"]
    states = await svc.ctx.db.pool.fetch("SELECT state FROM result_drafts ORDER BY created_at")
    assert [s["state"] for s in states] == ["replaced", "returned", "accepted"]
    audited = await svc.ctx.db.pool.fetch(
        "SELECT action FROM audit_log WHERE action LIKE 'result.draft.%' ORDER BY seq"
    )
    assert [a["action"] for a in audited] == [
        "result.draft.submitted",
        "result.draft.confirmed",
        "result.draft.submitted",
        "result.draft.returned",
        "result.draft.submitted",
        "result.draft.confirmed",
        "result.draft.confirmed",
    ]


async def test_a_result_entered_by_department_staff_replaces_a_waiting_draft(
    run_service: Any,
) -> None:
    svc = await run_service(publisher())
    await publish_tasks(svc, [task_assigned("T-1", period_end=FAR)])
    i1, i2 = bearer(svc, Role.INSPECTOR, "I-1"), bearer(svc, Role.INSPECTOR, "I-2")
    r = await svc.http.post("/results", json=result_body("T-1", confirmations=[]), headers=i1)
    assert r.status_code == 202
    d = r.json()
    staff = bearer(svc, Role.PLANNER, "staff-1", dept="scjg")
    assert (await svc.http.post("/results", json=result_body("T-1"), headers=staff)).is_success
    confirm = {"draft_id": d["draft_id"], "content_sha256": d["content_sha256"]}
    r = await svc.http.post("/tasks/T-1/draft/confirm", json=confirm, headers=i2)
    assert r.status_code == 409 and r.json()["error"]["code"] == "draft_closed"
    assert await count(svc, "SELECT count(*) FROM results") == 1
    data = await svc.ctx.db.pool.fetchval(
        "SELECT data FROM audit_log WHERE action = 'result.accepted'"
    )
    assert (json.loads(data) if isinstance(data, str) else data)["drafts_replaced"] == [
        d["draft_id"]
    ]


async def test_the_same_idempotency_key_records_once_even_when_two_race(run_service: Any) -> None:
    svc = await run_service(publisher())
    await publish_tasks(
        svc, [task_assigned("T-1", period_end=FAR), task_assigned("T-2", period_end=FAR)]
    )
    staff = bearer(svc, Role.PLANNER, "staff-1", dept="scjg")
    body = result_body("T-1", idempotency_key="phone-0001")
    one, two = await asyncio.gather(
        svc.http.post("/results", json=body, headers=staff),
        svc.http.post("/results", json=body, headers=staff),
    )
    assert sorted([one.status_code, two.status_code]) == [200, 201], (one.text, two.text)
    assert one.json() == two.json()
    assert await count(svc, "SELECT count(*) FROM results") == 1
    assert await count(svc, "SELECT count(*) FROM outbox") == 3
    # Later repeats answer the same; other content under the same key is refused.
    again = await svc.http.post("/results", json=body, headers=staff)
    assert again.status_code == 200 and again.json() == one.json()
    other = result_body("T-1", category="E", idempotency_key="phone-0001")
    r = await svc.http.post("/results", json=other, headers=staff)
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_key_reused"
    assert r.json()["error"]["details"][0]["loc"] == ["idempotency_key"]
    # In a batch too: the repeat is answered, not recorded again.
    r = await svc.http.post("/results/batch", json=[body], headers=staff)
    assert r.json()[0]["accepted"] == one.json() and r.json()[0]["repeated"] is True
    assert await count(svc, "SELECT count(*) FROM results") == 1

    # An inspector's offline queue: two identical submissions race, one draft; the other
    # member confirms; the queue's late repeat answers that same draft, now accepted.
    i1, i2 = bearer(svc, Role.INSPECTOR, "I-1"), bearer(svc, Role.INSPECTOR, "I-2")
    mine = result_body("T-2", confirmations=own("I-1"), idempotency_key="phone-0002")
    a, b = await asyncio.gather(
        svc.http.post("/results", json=mine, headers=i1),
        svc.http.post("/results", json=mine, headers=i1),
    )
    assert sorted([a.status_code, b.status_code]) == [200, 202], (a.text, b.text)
    assert a.json()["draft_id"] == b.json()["draft_id"]
    assert await count(svc, "SELECT count(*) FROM result_drafts WHERE task_id = 'T-2'") == 1
    d = a.json()
    confirm = {"draft_id": d["draft_id"], "content_sha256": d["content_sha256"]}
    r = await svc.http.post("/tasks/T-2/draft/confirm", json=confirm, headers=i2)
    assert r.status_code == 201, r.text
    late = await svc.http.post("/results", json=mine, headers=i1)
    assert late.status_code == 200 and late.json()["draft_id"] == d["draft_id"]
    assert late.json()["state"] == "accepted" and late.json()["version"] == 1
    assert await count(svc, "SELECT count(*) FROM results WHERE task_id = 'T-2'") == 1
    # The key is the submitter's: the same key from the other member is theirs alone.
    theirs = result_body(
        "T-2",
        confirmations=own("I-2"),
        idempotency_key="phone-0002",
        corrects_version=1,
        correction_reason="补充说明",
    )
    r = await svc.http.post("/results", json=theirs, headers=i2)
    assert r.status_code == 202, r.text


async def test_follow_up_and_representative_are_checked_each_at_its_field(
    run_service: Any,
) -> None:
    svc = await run_service(publisher())
    await publish_tasks(svc, [task_assigned("T-1", period_end=FAR)])
    staff = svc.auth(Role.PLANNER, "scjg")
    refused = result_body(
        "T-1",
        follow_up={"rectify_by": "2026-03-10", "refer": True},
        representative={
            "name": "张三",
            "confirmed_at": "2026-03-10T17:00:00+08:00",
            "signature_sha256": "a" * 64,
        },
        items=[
            {
                "item_code": "ITEM-01",
                "category": "1",
                "answers": [
                    {"question_id": "Q1", "answer": "yes"},
                    {"question_id": "Q1", "answer": "no"},
                ],
            }
        ],
    )
    r = await svc.http.post("/results", json=refused, headers=staff)
    assert r.status_code == 422, r.text
    got = {d["type"]: d["loc"] for d in r.json()["error"]["details"]}
    assert got == {
        "refer_without_violation": ["follow_up", "refer"],
        "rectify_by_not_after_check": ["follow_up", "rectify_by"],
        "rectification_missing": ["follow_up", "rectification"],
        "signature_not_attached": ["representative", "signature_sha256"],
        "answer_duplicate": ["items", 0, "answers", 1, "question_id"],
    }
    assert all(d["msg_zh"] for d in r.json()["error"]["details"])
    assert await count(svc, "SELECT count(*) FROM results") == 0

    # A violation corrected on the spot (E) is referred when the inspectors ask for it.
    signature = b"signature png"
    up = await svc.http.post("/attachments", content=signature, headers=staff)
    sha = up.json()["sha256"]
    ok = result_body(
        "T-1",
        category="E",
        follow_up={"rectify_by": "2026-04-10", "rectification": "补报年报", "refer": True},
        representative={
            "name": "张三",
            "confirmed_at": "2026-03-10T17:00:00+08:00",
            "signature_sha256": sha,
        },
        attachments=[{"name": "签名.png", "sha256": sha, "size": len(signature)}],
    )
    r = await svc.http.post("/results", json=ok, headers=staff)
    assert r.status_code == 201, r.text
    assert "referral" in r.json()["destinations"]
    referral = await svc.ctx.db.pool.fetchval(
        "SELECT payload FROM outbox WHERE destination = 'referral'"
    )
    assert referral["follow_up"]["rectification"] == "补报年报"
    assert [i["category"] for i in referral["items"]] == ["E"]
    stored = (await svc.http.get("/results/R-T-1", headers=staff)).json()[0]
    assert stored["representative"]["name"] == "张三"


async def test_public_task_facts_for_the_check_code(run_service: Any) -> None:
    svc = await run_service(publisher(relay_enabled=True, relay_batch=50))
    await publish_tasks(svc, [task_assigned("T-1", period_end=FAR)])
    r = await svc.http.get("/public/tasks/T-1.json")  # no token
    assert r.status_code == 200, r.text
    assert r.json() == {
        "task_id": "T-1",
        "entity_name": "景德镇测试瓷业有限公司",
        "uscc": "91360202MA35XXXX0A",
        "items": [{"code": "ITEM-01", "name": "企业公示信息情况的检查"}],
        "team": ["I-1", "I-2"],
        "period_start": "2026-03-01",
        "period_end": "2099-12-31",
        "status": "assigned",
    }
    assert (await svc.http.get("/public/tasks/T-404.json")).status_code == 404
    r = await svc.http.post(
        "/results", json=result_body("T-1"), headers=svc.auth(Role.PLANNER, "scjg")
    )
    assert r.status_code == 201
    for _ in range(200):  # the relay publishes it
        status = (await svc.http.get("/public/tasks/T-1.json")).json()["status"]
        if status == "published":
            break
        await asyncio.sleep(0.05)
    assert status == "published"
