"""The national stream as deployed: a province's real publisher service feeding it, `spotcheck
up` joining it with its two settings, and `spotcheck national sources|status`
(tests/national.py has the servers)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeout
from typer.testing import CliRunner

from contracts import subjects
from contracts.common import Role
from contracts.draw import TaskAssigned
from contracts.publisher import ResultPublished
from services.kit.bus import Bus, dumps
from services.publisher.app import spec
from services.publisher.domain.delivery import Destination, idempotency_key
from services.publisher.settings import PublisherSettings
from spotcheck import national
from spotcheck.cli import app
from tests.integration.publisher.conftest import result_body, task_assigned
from tests.national import (
    REGION,
    Country,
    Subscriber,
    connected,
    ensure_publisher_stream,
    publish,
    result_of,
    stream_messages,
)
from tests.stack import started_stack
from tests.waiting import eventually


async def test_a_provinces_publisher_service_feeds_the_national_stream(
    country, run_service, database_url: str
) -> None:
    """gd runs its real publisher (in-process, its relay on): results submitted over HTTP reach
    the national subscriber once, beside zj's, and a correction arrives as its new version."""
    gd, zj = country.provinces["gd"], country.provinces["zj"]
    svc = await run_service(
        lambda: spec(PublisherSettings(relay_enabled=True, relay_batch=50)),
        nats_url=gd.url,
        nats_user="publisher",
        nats_password=gd.passwords["publisher"],
        database_url=database_url,
    )
    await ensure_publisher_stream(zj)
    await connected(country, ["gd", "zj"])
    nc = await country.admin()
    try:
        await national.ensure_stream(nc, ["gd", "zj"])
    finally:
        await nc.close()

    # The draw's tasks, as the draw service publishes them (its own user).
    tasks: list[TaskAssigned] = [
        task_assigned(f"T-GD-{i}", uscc=f"9144010{i}MA5CXXXX0X").model_copy(
            update={"region_code": REGION["gd"]}
        )
        for i in range(3)
    ]
    draw = await gd.bus("draw")
    try:
        for t in tasks:
            await draw.publish_event(
                subjects.event("draw", "task.assigned"), t, event_id=f"task-{t.task_id}"
            )
    finally:
        await draw.close()

    async def arrived() -> bool:
        n = await svc.ctx.db.pool.fetchval("SELECT count(*) FROM tasks")
        return int(n) == len(tasks)

    await eventually(arrived, what="the publisher holds gd's three tasks")
    staff = svc.auth(Role.PLANNER, "scjg")
    for t in tasks:
        r = await svc.http.post("/results", json=result_body(t.task_id), headers=staff)
        assert r.status_code == 201, r.text
    fix = result_body(tasks[0].task_id, corrects_version=1, correction_reason="录入错误")
    r = await svc.http.post("/results", json=fix, headers=staff)
    assert r.status_code == 201, r.text
    zj_ids = await publish(zj, 2)

    sub = Subscriber()
    await sub.drain(country, until=len(tasks) + 1 + len(zj_ids))
    assert len(sub.seen) == len(set(sub.seen)) == 6  # each once
    assert sub.regions.count(REGION["gd"]) == 4 and set(zj_ids) <= set(sub.seen)
    nc = await country.admin()
    try:
        subject = subjects.event("publisher", "result.published", REGION["gd"], "scjg")
        last = await nc.jetstream().get_last_msg(national.NATIONAL_STREAM, subject)
    finally:
        await nc.close()
    corrected = ResultPublished.model_validate_json(last.data or b"")
    assert (corrected.version, corrected.supersedes) == (2, 1)  # gd's correction
    assert corrected.task_id == tasks[0].task_id


def test_spotcheck_up_joins_the_national_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded stack of `spotcheck up` as province sc: its two settings are all it takes;
    the leaf password is in no file the stack writes."""
    country = Country(tmp_path)
    country.start_national(["sc"])
    leaf_pw = country.passwords["sc"]
    monkeypatch.setenv("SPOTCHECK_PROVINCE_DOMAIN", "sc")
    monkeypatch.setenv(
        "SPOTCHECK_NATIONAL_LEAF_URL", f"nats-leaf://sc:{leaf_pw}@127.0.0.1:{country.leaf_port}"
    )
    try:
        with started_stack("spotcheck-national-") as s:
            conf = s.cwd / "var" / "nats-config"
            assert "domain: sc" in (conf / "nats-server.conf").read_text()
            assert all(leaf_pw not in f.read_text() for f in conf.iterdir())
            relay_pw = (s.cwd / "var/secrets/nats/relay.password").read_text().strip()
            stack_url = json.loads((s.cwd / "var/stack.json").read_text())["nats_url"]

            async def check() -> None:
                await connected(country, ["sc"])
                nc = await country.admin()
                try:
                    assert (await national.ensure_stream(nc, ["sc"])).action == "created"
                    bus = await Bus.connect(
                        stack_url, name="spotcheck-relay", credentials=("relay", relay_pw)
                    )
                    try:
                        result = result_of("gd").model_copy(update={"region_code": "510104"})
                        key = idempotency_key(result.result_id, 1, Destination.STREAM)
                        await bus.publish_raw(
                            subjects.event("publisher", "result.published", "510104", "scjg"),
                            dumps(result),
                            event_id=key,
                            timeout=5,
                        )
                    finally:
                        await bus.close()
                    js = nc.jetstream()

                    async def arrived() -> bool:
                        return await stream_messages(js, national.NATIONAL_STREAM) == 1

                    await eventually(arrived, what="sc's result in the national stream")
                    got = await js.get_msg(national.NATIONAL_STREAM, 1)
                    assert (got.headers or {})["Nats-Msg-Id"] == key
                finally:
                    await nc.close()

            asyncio.run(check())
    finally:
        country.stop_national()


def test_the_sources_command_is_idempotent_and_names_a_province_that_does_not_answer(
    country, tmp_path: Path
) -> None:
    async def ready() -> None:
        for p in country.provinces.values():
            await ensure_publisher_stream(p)
        await connected(country, ["gd", "zj"])

    asyncio.run(ready())
    pw = tmp_path / "admin.password"
    pw.write_text(country.passwords["admin"] + "\n")
    runner = CliRunner()

    def national_cli(*args: str) -> Any:
        given = ["--nats-url", country.url, "--password-file", str(pw)]
        return runner.invoke(app, ["national", *args, *given])

    first = national_cli("sources", "--province", "gd")
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "NATIONAL_RESULTS created: gd"
    both = national_cli("sources", "--province", "gd", "--province", "zj")
    assert both.output.strip() == "NATIONAL_RESULTS updated: gd, zj (added: zj; removed: -)"
    again = national_cli("sources", "--province", "gd", "--province", "zj")
    assert again.output.strip() == "NATIONAL_RESULTS unchanged: gd, zj"
    # One server cannot keep three replicas: JetStream's reason, said as such.
    three = national_cli("sources", "--province", "gd", "--province", "zj", "--replicas", "3")
    assert three.exit_code == 1 and "JetStream refused to update NATIONAL_RESULTS" in three.output
    bad = national_cli("sources", "--province", "gd", "--province", "xz")
    assert bad.exit_code == 1
    assert "province 'xz'" in bad.output and "NATIONAL_RESULTS was not changed" in bad.output
    shown = national_cli("status")
    assert shown.exit_code == 0, shown.output
    assert [line.split()[0] for line in shown.output.splitlines()[1:]] == ["gd", "zj"]
    wrong = runner.invoke(
        app, ["national", "status", "--nats-url", country.url, "--password-file", "/nonexistent"]
    )
    assert wrong.exit_code == 1 and "/nonexistent" in wrong.output


async def test_a_national_reader_reads_the_stream_and_nothing_else(country) -> None:
    await ensure_publisher_stream(country.provinces["gd"])
    await connected(country, ["gd"])
    nc = await country.admin()
    try:
        await national.ensure_stream(nc, ["gd"])
    finally:
        await nc.close()
    [key] = await publish(country.provinces["gd"], 1)
    refused: list[str] = []

    async def on_error(exc: Exception) -> None:
        refused.append(str(exc).lower())

    reader = await nats.connect(
        country.url,
        user="reader",
        password=country.passwords["reader"],
        error_cb=on_error,
        allow_reconnect=False,
    )
    try:
        # An ordered (ephemeral) consumer, as a one-off reader would use.
        sub = await reader.jetstream().subscribe(
            national.RESULTS_FILTER, stream=national.NATIONAL_STREAM, ordered_consumer=True
        )
        msg = await sub.next_msg(timeout=30)
        assert (msg.headers or {})["Nats-Msg-Id"] == key
        await sub.unsubscribe()
        # Managing the stream, or reaching a province, is not the reader's: refused by the
        # server (the request then times out).
        for subject in (
            f"$JS.API.STREAM.DELETE.{national.NATIONAL_STREAM}",
            "$JS.gd.API.CONSUMER.INFO.PUBLISHER.x",
        ):
            with pytest.raises(NatsTimeout):
                await reader.request(subject, b"", timeout=1)

            async def said(subject: str = subject) -> bool:
                return any(f'violation for publish to "{subject.lower()}"' in e for e in refused)

            await eventually(said, what=f"the server refusing {subject}")
    finally:
        await reader.close()
    nc = await country.admin()
    try:
        assert await stream_messages(nc.jetstream(), national.NATIONAL_STREAM) == 1
    finally:
        await nc.close()
