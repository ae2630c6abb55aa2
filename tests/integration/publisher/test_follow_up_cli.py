"""`spotcheck publisher rectifications | recheck | referral-ack | referral-outcome` against a
publisher served over HTTP (real NATS and PostgreSQL); the CLI finds it through
SPOTCHECK_PUBLISHER_URL and signs its tokens with the service's key. CliRunner blocks, so it
runs in a thread while the event loop serves the requests."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner, Result

from contracts.common import Role
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings
from spotcheck.cli import app as cli
from spotcheck.embedded import free_port

from .conftest import publish_tasks, result_body, task_assigned


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers (the test process keeps its own)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest.fixture
async def served(run_service: Any) -> AsyncIterator[tuple[Any, dict[str, str | None]]]:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    port = free_port()
    server = _Server(
        uvicorn.Config(svc.ctx.app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "uvicorn did not start"
    env: dict[str, str | None] = {
        "SPOTCHECK_PUBLISHER_URL": f"http://127.0.0.1:{port}",
        "SPOTCHECK_VAR_DIR": str(svc.ctx.settings.var_dir),
        "SPOTCHECK_TOKEN": None,
    }
    yield svc, env
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)


async def run(env: dict[str, str | None], *args: str) -> Result:
    runner = CliRunner()
    return await asyncio.to_thread(lambda: runner.invoke(cli, ["publisher", *args], env=env))


async def test_the_follow_up_on_the_command_line(served: Any) -> None:
    svc, env = served
    await publish_tasks(svc, [task_assigned("T-1")])
    body = result_body(
        "T-1",
        category="C",
        follow_up={"rectify_by": "2026-03-20", "rectification": "更正年报", "refer": True},
    )
    staff = svc.auth(Role.PLANNER, "scjg")
    assert (await svc.http.post("/results", json=body, headers=staff)).status_code == 201

    r = await run(env, "rectifications", "--overdue")
    assert r.exit_code == 0, r.output
    assert "overdue\tR-T-1 v1\t91360202MA35XXXX0A\trectify by 2026-03-20\t更正年报" in r.stdout
    assert r.stdout.endswith("1 overdue of 1 order(s)\n")

    r = await run(
        env, "recheck", "R-T-1", "--checked-on", "2026-03-21", "--rectified", "--dept", "scjg"
    )
    assert r.exit_code == 0, r.output
    assert r.stdout == "R-T-1 v1: rectified on 2026-03-21\n"
    r = await run(env, "rectifications", "--overdue", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []

    ack = ("--receiver", "案件审理科", "--case-number", "景市监案〔2026〕7号")
    r = await run(env, "referral-ack", "R-T-1:v1", *ack, "--received-at", "2026-03-12T09:00+08:00")
    assert r.exit_code == 0, r.output
    assert r.stdout == "R-T-1:v1: acknowledged (case 景市监案〔2026〕7号)\n"
    end = ("--decided-at", "2026-05-01")
    r = await run(env, "referral-outcome", "R-T-1:v1", "--outcome", "罚款5000元", *end)
    assert r.exit_code == 0 and r.stdout == "R-T-1:v1: concluded (罚款5000元)\n"
    r = await run(env, "referral-outcome", "R-T-1:v1", "--outcome", "不予处罚", *end)
    assert r.exit_code == 1 and "referral_already_concluded" in r.stderr
