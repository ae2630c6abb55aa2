"""The relay: never lost, never twice in effect — a flaky disclosure system, a killed relay,
and dead letters that an operator replays."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from contracts.common import Role
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings

from .conftest import (
    publish_tasks,
    result_body,
    stream_messages,
    task_assigned,
    wait_delivered,
)

ROOT = Path(__file__).resolve().parents[3]


async def submit_all(svc: Any, n: int, *, category: str = "1") -> None:
    await publish_tasks(svc, [task_assigned(f"T-{i}") for i in range(n)], timeout=60)
    staff = svc.auth(Role.PLANNER, "scjg")
    for start in range(0, n, 200):
        body = [result_body(f"T-{i}", category=category) for i in range(start, min(n, start + 200))]
        resp = await svc.http.post("/results/batch", json=body, headers=staff)
        assert resp.status_code == 200
        assert all(o.get("accepted") for o in resp.json()), resp.json()[:2]


async def test_flaky_disclosure_still_gets_every_result_once(
    run_service: Any, disclosure: Any
) -> None:
    endpoint = await disclosure(fail=0.5, hang=0.1, hang_s=1.0, seed=7)
    mine = PublisherSettings(
        retry_base_s=0.05, retry_cap_s=0.4, max_attempts=60, http_timeout_s=0.3, relay_batch=100
    )
    svc = await run_service(lambda: spec(mine), disclosure_url=endpoint.url)
    n = 80
    await submit_all(svc, n)
    await wait_delivered(svc, n * 3, timeout=120)  # disclosure, stream, credit
    keys = {f"R-T-{i}:v1:disclosure" for i in range(n)}
    assert set(endpoint.effects) == keys  # every result's effect, once per key
    assert endpoint.failures > n / 4 and endpoint.hangs > 0  # the flakiness really happened
    assert sum(endpoint.calls.values()) > n
    stream = await stream_messages(svc, "spotcheck.v1.publisher.result.published.>")
    assert set(stream) == {f"R-T-{i}:v1:stream" for i in range(n)}
    assert set(stream.values()) == {1}
    published = await svc.ctx.db.pool.fetchval(
        "SELECT count(*) FROM results WHERE published_at IS NOT NULL"
    )
    assert published == n
    # No disclosing platform: the built-in disclosure alone stops the clock, at that moment.
    disclosed = await svc.ctx.db.pool.fetchval(
        "SELECT count(*) FROM results WHERE disclosed_at = published_at"
    )
    assert disclosed == n


def _relay_process(svc: Any, url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SPOTCHECK_DATABASE_URL": svc.ctx.settings.database_url,
        "SPOTCHECK_NATS_URL": svc.ctx.settings.nats_url,
        "SPOTCHECK_DISCLOSURE_URL": url,
        "SPOTCHECK_PUBLISHER_RELAY_BATCH": "100",
        "SPOTCHECK_PUBLISHER_RELAY_LEASE_S": "2",
        "SPOTCHECK_PUBLISHER_RETRY_BASE_S": "0.05",
        "SPOTCHECK_LOG_JSON": "false",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "services.publisher.relay"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_killing_the_relay_mid_batch_still_gives_exactly_one_effect_per_key(
    run_service: Any, disclosure: Any
) -> None:
    endpoint = await disclosure(delay_s=0.3)
    svc = await run_service(
        lambda: spec(PublisherSettings(relay_enabled=False)), disclosure_url=endpoint.url
    )
    n = 150
    # 4 destinations each, and the finding's joint punishment (联合惩戒)
    await submit_all(svc, n, category="不配合检查情节严重")
    expected = n * 5

    relay = _relay_process(svc, endpoint.url)
    try:
        for _ in range(300):  # wait until a batch is in flight at the disclosure endpoint
            if sum(endpoint.calls.values()) >= 10:
                break
            await asyncio.sleep(0.05)
        assert sum(endpoint.calls.values()) >= 10, "the relay never started delivering"
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=10)
        delivered = await svc.ctx.db.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE state = 'delivered'"
        )
        assert delivered < expected  # killed mid-way, with work left
        relay = _relay_process(svc, endpoint.url)
        await wait_delivered(svc, expected, timeout=120)
    finally:
        relay.kill()
        relay.wait(timeout=10)

    assert set(endpoint.effects) == {f"R-T-{i}:v1:disclosure" for i in range(n)}
    assert max(endpoint.calls.values()) >= 2  # some were sent twice: the kill really bit
    for kind, pattern in (
        ("stream", "spotcheck.v1.publisher.result.published.>"),
        ("credit", "spotcheck.v1.publisher.credit.feedback"),
        ("referral", "spotcheck.v1.publisher.referral.created"),
    ):
        seen = await stream_messages(svc, pattern)
        assert set(seen) == {f"R-T-{i}:v1:{kind}" for i in range(n)}, kind
        assert set(seen.values()) == {1}, kind


async def test_dead_letters_are_listed_and_replayed(run_service: Any, disclosure: Any) -> None:
    endpoint = await disclosure(fail=1.0)
    mine = PublisherSettings(retry_base_s=0.01, retry_cap_s=0.02, max_attempts=3)
    svc = await run_service(lambda: spec(mine), disclosure_url=endpoint.url)
    await submit_all(svc, 2)
    auditor = svc.auth(Role.AUDITOR)
    for _ in range(200):
        dead = (await svc.http.get("/deliveries", params={"state": "dead"}, headers=auditor)).json()
        if len(dead) == 2:
            break
        await asyncio.sleep(0.05)
    assert [d["destination"] for d in dead] == ["disclosure", "disclosure"]
    assert dead[0]["attempts"] == 3 and "503" in dead[0]["last_error"]
    endpoint.fail = 0.0
    operator = svc.auth(Role.OPERATOR)
    listed = await svc.http.get("/deliveries", params={"state": "dead"}, headers=operator)
    assert [d["id"] for d in listed.json()] == [d["id"] for d in dead]
    for role in (Role.AUDITOR, Role.POLICY):  # replay is operator work; auditors only read
        refused = await svc.http.post(f"/deliveries/{dead[0]['id']}/replay", headers=svc.auth(role))
        assert refused.status_code == 403, role
    for d in dead:
        resp = await svc.http.post(f"/deliveries/{d['id']}/replay", headers=operator)
        assert resp.status_code == 200 and resp.json()["state"] == "pending"
    again = await svc.http.post(f"/deliveries/{dead[0]['id']}/replay", headers=operator)
    assert again.status_code in (200, 409)
    await wait_delivered(svc, 6, timeout=30)
    assert set(endpoint.effects) == {"R-T-0:v1:disclosure", "R-T-1:v1:disclosure"}
    assert (
        await svc.ctx.db.pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'delivery.replayed'"
        )
        == 2
    )
