"""The worked subscriber of docs/subscribing.md, run as written: built from contracts/schemas/
alone (a copy of publisher.ResultPublished.json beside it, jsonschema to validate), connected as
an agency user to nats-server with deploy/nats/accounts.conf, reading what the publisher's relay
publishes for a result submitted over HTTP."""

from __future__ import annotations

import ast
import asyncio
import re
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import httpx
import nats

from contracts import subjects
from contracts.common import Role
from services.kit.auth import issue_token, load_or_create_key
from services.kit.service import started
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings

from .conftest import result_body, task_assigned
from .test_nats_accounts import PASSWORDS, accounts_server  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "subscribing.md"
SCHEMA = ROOT / "contracts" / "schemas" / "publisher.ResultPublished.json"
ALLOWED_IMPORTS = {"asyncio", "json", "os", "sqlite3", "pathlib", "jsonschema", "nats"}


def worked_subscriber() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "docs/subscribing.md has one worked subscriber"
    return str(blocks[0])


def test_the_worked_subscriber_needs_no_spotcheck_code() -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(worked_subscriber())):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS


async def _line(proc: asyncio.subprocess.Process, want: str, timeout: float = 20.0) -> str:
    assert proc.stdout is not None
    seen: list[str] = []
    async with asyncio.timeout(timeout):
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                raise AssertionError(f"subscriber ended before {want!r}: {seen}")
            line = raw.decode("utf-8").strip()
            seen.append(line)
            if want in line:
                return line


async def test_the_worked_subscriber_runs_against_the_shipped_accounts(
    accounts_server: str,  # noqa: F811 - the imported fixture
    database_url: str,
    settings_for: Any,
    tmp_path: Path,
) -> None:
    work = tmp_path / "agency"
    work.mkdir()
    (work / "subscriber.py").write_text(worked_subscriber(), encoding="utf-8")
    shutil.copy(SCHEMA, work / SCHEMA.name)  # "a copy of …ResultPublished.json next to it"
    host = accounts_server.removeprefix("nats://")
    settings = settings_for(f"nats://publisher:{PASSWORDS['publisher']}@{host}", database_url)
    async with started(spec(PublisherSettings(retry_base_s=0.05)), settings) as ctx:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-u",
            "subscriber.py",
            cwd=work,
            env={
                "NATS_URL": accounts_server,
                "NATS_USER": "agency",
                "NATS_PASSWORD": PASSWORDS["agency"],
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await _line(proc, "listening on spotcheck.v1.publisher.result.published.360202.>")
            # Tasks come from the draw service's user; results over the publisher's HTTP API.
            draw = await nats.connect(accounts_server, user="draw", password=PASSWORDS["draw"])
            try:
                task = task_assigned("T-1", name="景德镇订阅测试有限公司")
                await draw.jetstream().publish(
                    subjects.event("draw", "task.assigned"),
                    task.model_dump_json().encode(),
                    headers={"Nats-Msg-Id": "task-T-1"},
                )
            finally:
                await draw.close()
            for _ in range(200):
                if await ctx.db.pool.fetchval("SELECT count(*) FROM tasks"):
                    break
                await asyncio.sleep(0.05)
            assert ctx.app is not None
            token = issue_token(
                load_or_create_key(settings.key_file()),
                role=Role.PLANNER,
                dept="scjg",
                sub="test",
                ttl_s=600,
            )
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=ctx.app),
                base_url="http://test",
                headers={"Authorization": f"Bearer {token}"},
            ) as http:
                resp = await http.post("/results", json=result_body("T-1"))
                assert resp.status_code == 201, resp.text
                line = await _line(proc, "景德镇订阅测试有限公司")
                assert line == "91360202MA35XXXX0A 景德镇订阅测试有限公司 v1: 未发现问题"
                resp = await http.post(
                    "/results",
                    json=result_body(
                        "T-1",
                        category="发现问题已责令改正",
                        corrects_version=1,
                        correction_reason="补录检查发现的问题",
                    ),
                )
                assert resp.status_code == 201, resp.text
                line = await _line(proc, " v2: ")
                assert line.endswith("v2: 发现问题已责令改正")

            # A repeat of a fact (same ce-id) changes nothing; a body that the schema refuses
            # is ignored with a message.
            pub = await nats.connect(
                accounts_server, user="publisher", password=PASSWORDS["publisher"]
            )
            try:
                subject = "spotcheck.v1.publisher.result.published.360202.scjg"
                await pub.publish(subject, b'{"forged": 1}', headers={"ce-id": "x:v1:stream"})
                await pub.publish(
                    subject, b"{}", headers={"ce-id": "R-T-1:v2:stream"}
                )  # already seen: skipped before validation
                await pub.flush()
            finally:
                await pub.close()
            line = await _line(proc, "ignored an invalid message")
            assert "required property" in line
        finally:
            proc.terminate()
            await proc.wait()
    db = sqlite3.connect(work / "results.db")
    try:
        assert db.execute("SELECT result_id, version, uscc FROM results").fetchall() == [
            ("R-T-1", 2, "91360202MA35XXXX0A")
        ]
        assert {r[0] for r in db.execute("SELECT event_id FROM seen_events")} == {
            "R-T-1:v1:stream",
            "R-T-1:v2:stream",
        }
    finally:
        db.close()
