"""Helpers for the publisher's integration tests: tasks on the bus, a local disclosure endpoint."""

from __future__ import annotations

import asyncio
import json
import random
import socket
from collections import Counter
from datetime import date
from typing import Any

import nats
import pytest
import uvicorn

from contracts import subjects
from contracts.common import DEPARTMENT_ROLES, Role
from contracts.draw import TaskAssigned, TaskItem, TeamMember
from services.kit.auth import issue_token, load_or_create_key


def task_assigned(
    task_id: str,
    *,
    team: tuple[str, ...] = ("I-1", "I-2"),
    name: str = "景德镇测试瓷业有限公司",
    uscc: str = "91360202MA35XXXX0A",
    dept: str = "scjg",
    batch: int = 1,
    period_end: date = date(2026, 6, 30),
) -> TaskAssigned:
    return TaskAssigned(
        task_id=task_id,
        draw_id="D-1",
        plan_id="P-1",
        uscc=uscc,
        entity_name=name,
        region_code="360202",
        departments=[dept],
        lead_department=dept,
        items=[TaskItem(code="ITEM-01", name="企业公示信息情况的检查", department=dept)],
        batch=batch,
        period_start=date(2026, 3, 1),
        period_end=period_end,
        team=[TeamMember(inspector_id=i, name=f"检查员{i}", department=dept) for i in team],
    )


def bearer(svc: Any, role: Role, sub: str, dept: str | None = None) -> dict[str, str]:
    """Headers with a token for this subject (an inspector's id, as the web app signs it); an
    inspector's or planner's names `dept`, by default the department `task_assigned` gives."""
    if role in DEPARTMENT_ROLES and dept is None:
        dept = "scjg"
    key = load_or_create_key(svc.ctx.settings.key_file())
    token = issue_token(key, role=role, sub=sub, dept=dept, ttl_s=600)
    return {"Authorization": f"Bearer {token}"}


def result_body(
    task_id: str,
    *,
    category: str = "1",
    check_date: str = "2026-03-10",
    team: tuple[str, ...] = ("I-1", "I-2"),
    **over: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task_id": task_id,
        "check_date": check_date,
        "method": "实地检查",
        "method_record": {"place": "景德镇市昌江区瓷都大道1号"},
        "items": [{"item_code": "ITEM-01", "category": category}],
        "confirmations": [
            {"inspector_id": i, "confirmed_at": f"{check_date}T10:00:00+08:00"} for i in team
        ],
    }
    body.update(over)
    return body


async def publish_tasks(svc: Any, tasks: list[TaskAssigned], *, timeout: float = 20.0) -> None:
    """Publish task.assigned events and wait until the publisher holds its copies."""
    for t in tasks:
        await svc.ctx.bus.publish_event(
            subjects.event("draw", "task.assigned"), t, event_id=f"task-{t.task_id}"
        )
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        n = await svc.ctx.db.pool.fetchval(
            "SELECT count(*) FROM tasks WHERE task_id = ANY($1::text[])", [t.task_id for t in tasks]
        )
        if n == len(tasks):
            return
        assert asyncio.get_running_loop().time() < deadline, f"only {n} tasks arrived"
        await asyncio.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DisclosureEndpoint:
    """A local stand-in for the disclosure system: stores each Idempotency-Key's effect once.

    `fail` of calls answer 503 and `hang` of calls never answer in time (the relay times out);
    both are decided by a seeded random source so a run can be repeated.
    """

    def __init__(
        self,
        *,
        fail: float = 0.0,
        hang: float = 0.0,
        hang_s: float = 3.0,
        seed: int = 1,
        delay_s: float = 0.0,
    ) -> None:
        self.delay_s = delay_s
        self.fail = fail
        self.hang = hang
        self.hang_s = hang_s
        self.rng = random.Random(seed)
        self.calls: Counter[str] = Counter()
        self.effects: dict[str, dict[str, Any]] = {}
        self.failures = 0
        self.hangs = 0
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        key = headers.get("idempotency-key", "")
        self.calls[key] += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        roll = self.rng.random()
        if roll < self.hang:
            self.hangs += 1
            await asyncio.sleep(self.hang_s)
            # the effect may or may not have happened: make it happen, the client gave up
            self.effects.setdefault(key, json.loads(body))
        elif roll < self.hang + self.fail:
            self.failures += 1
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"busy"})
            return
        else:
            self.effects.setdefault(key, json.loads(body))
        status = 200
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"ok":true}'})

    async def start(self) -> str:
        port = free_port()
        config = uvicorn.Config(
            self,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):  # uvicorn offers no event for "listening"
            if self._server.started:
                break
            await asyncio.sleep(0.02)
        self.url = f"http://127.0.0.1:{port}/results"
        return self.url

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            await asyncio.wait_for(self._task, 10)


@pytest.fixture
async def disclosure() -> Any:
    endpoints: list[DisclosureEndpoint] = []

    async def make(**kw: Any) -> DisclosureEndpoint:
        ep = DisclosureEndpoint(**kw)
        await ep.start()
        endpoints.append(ep)
        return ep

    yield make
    for ep in endpoints:
        await ep.stop()


async def stream_messages(svc: Any, subject_filter: str) -> Counter[str]:
    """How many messages the PUBLISHER stream holds per Nats-Msg-Id on these subjects."""
    # Its own connection: a pull subscription left on the service's connection makes its
    # drain at shutdown wait for the full drain timeout.
    nc = await nats.connect(svc.ctx.settings.nats_url)
    seen: Counter[str] = Counter()
    try:
        sub = await nc.jetstream().pull_subscribe(subject_filter, stream="PUBLISHER")
        while True:
            try:
                msgs = await sub.fetch(500, timeout=1)
            except Exception:
                break
            for m in msgs:
                seen[(m.headers or {}).get("Nats-Msg-Id", "")] += 1
                await m.ack()
    finally:
        await nc.close()
    return seen


async def wait_delivered(svc: Any, expected: int, *, timeout: float) -> None:
    """Wait until `expected` outbox rows are delivered (and none dead)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        rows = await svc.ctx.db.pool.fetch("SELECT state, count(*) n FROM outbox GROUP BY state")
        by = {r["state"]: r["n"] for r in rows}
        if by.get("delivered", 0) == expected:
            return
        assert by.get("dead", 0) == 0, f"dead letters: {by}"
        assert loop.time() < end, f"not all delivered in {timeout}s: {by}"
        await asyncio.sleep(0.1)
