"""The national stream on one machine: two provincial NATS servers and one national NATS.

Real nats-server processes on free ports, configured as in production: the national server from
deploy/nats/national.conf with the accounts `spotcheck national accounts` writes, each province
from the embedded configuration `spotcheck up` writes (spotcheck/stack/accounts.py) with
SPOTCHECK_PROVINCE_DOMAIN and SPOTCHECK_NATIONAL_LEAF_URL. Results enter a province's PUBLISHER
stream as the publisher's relay puts them there (user `relay`, the result's subject, Nats-Msg-Id =
the delivery's idempotency key), and in the last test from gd's real publisher service (results
submitted over HTTP, its relay publishing); a national subscriber reads NATIONAL_RESULTS through
a durable consumer as the `reader` user.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from contracts import subjects
from contracts.common import Role
from contracts.draw import TaskAssigned
from contracts.publisher import PublishedItem, ResultPublished
from services.kit.bus import Bus, dumps
from services.kit.settings import Settings
from services.publisher.app import spec
from services.publisher.domain.delivery import Destination, idempotency_key
from services.publisher.settings import PublisherSettings
from spotcheck import national
from spotcheck.embedded import free_port, start_nats, stop_process
from spotcheck.stack import accounts
from tests.integration.publisher.conftest import result_body, task_assigned
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[3]
# A county of each province: results are published under their region code.
REGION = {"gd": "440106", "zj": "330106"}
DURABLE = "national-subscriber"


@dataclass
class Province:
    code: str
    port: int
    dir: Path
    settings: Settings
    passwords: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        # What `spotcheck up` does for its embedded NATS, with this province's link.
        config = accounts.write_server_config(
            self.dir / "conf",
            host="127.0.0.1",
            port=self.port,
            store_dir=self.dir / "nats",
            settings=self.settings,
        )
        env = accounts.server_environment(self.passwords) | accounts.national_environment(
            self.settings
        )
        self.proc = start_nats(
            self.dir / "nats",
            port=self.port,
            config=config,
            env=env,
            log_file=self.dir / "nats.log",
        )

    def stop(self) -> None:
        assert self.proc is not None
        stop_process(self.proc)

    async def bus(self, user: str) -> Bus:
        return await Bus.connect(
            self.url, name=f"spotcheck-{user}", credentials=(user, self.passwords[user])
        )


@dataclass
class Country:
    tmp: Path
    port: int = field(default_factory=free_port)
    leaf_port: int = field(default_factory=free_port)
    passwords: dict[str, str] = field(default_factory=dict)
    provinces: dict[str, Province] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start_national(self, codes: list[str]) -> None:
        conf = self.tmp / "national"
        conf.mkdir(exist_ok=True)
        shutil.copyfile(ROOT / "deploy/nats/national.conf", conf / "national.conf")
        (conf / "national-accounts.conf").write_text(national.accounts_conf(codes))
        for user in ("admin", "reader", "sys", *codes):
            self.passwords.setdefault(user, f"p{uuid.uuid4().hex}")
        env = {
            "SPOTCHECK_NATS_SERVER_NAME": "national-1",
            "SPOTCHECK_NATS_HOST": "127.0.0.1",
            "SPOTCHECK_NATS_PORT": str(self.port),
            "SPOTCHECK_NATIONAL_LEAF_PORT": str(self.leaf_port),
            "SPOTCHECK_NATS_STORE_DIR": str(self.tmp / "national-store"),
            **{national.PASSWORD_VAR + u.upper(): pw for u, pw in self.passwords.items()},
        }
        self.proc = start_nats(
            self.tmp / "national-store",
            port=self.port,
            config=conf / "national.conf",
            env=env,
            log_file=self.tmp / "national.log",
        )

    def stop_national(self) -> None:
        assert self.proc is not None
        stop_process(self.proc)

    def add_province(self, code: str, *, domain: str | None = None) -> Province:
        folder = self.tmp / code
        passwords = accounts.ensure_passwords(
            folder / "secrets", accounts.password_users(accounts.accounts_text())
        )
        leaf_pw = self.passwords.get(code, "not-a-national-user")
        settings = Settings(
            province_domain=domain or code,
            national_leaf_url=f"nats-leaf://{code}:{leaf_pw}@127.0.0.1:{self.leaf_port}",
        )
        province = Province(code, free_port(), folder, settings, passwords)
        province.start()
        self.provinces[code] = province
        return province

    async def admin(self) -> NATS:
        return await national.connect(self.url, user="admin", password=self.passwords["admin"])

    async def reader(self) -> Bus:
        return await Bus.connect(
            self.url, name="national-reader", credentials=("reader", self.passwords["reader"])
        )


@pytest.fixture
def country(tmp_path: Path) -> Any:
    c = Country(tmp_path)
    c.start_national(["gd", "zj"])
    for code in ("gd", "zj"):
        c.add_province(code)
    yield c
    for p in c.provinces.values():
        if p.proc is not None:
            stop_process(p.proc)
    if c.proc is not None:
        stop_process(c.proc)


async def _connected(country: Country, codes: list[str]) -> None:
    """Wait until the national server reaches each province's JetStream over its leaf."""
    nc = await country.admin()
    try:
        for code in codes:

            async def answers(code: str = code) -> bool:
                return await national.probe(nc, code) is None

            await eventually(answers, what=f"{code}'s leaf node connected", timeout=30)
    finally:
        await nc.close()


async def _ensure_publisher_stream(province: Province) -> None:
    """The PUBLISHER stream as the publisher service makes it at start (services/kit/service.py)."""
    bus = await province.bus("publisher")
    try:
        await bus.ensure_stream(
            subjects.stream_name("publisher"),
            subjects.stream_subjects("publisher"),
            duplicate_window_s=86400.0,
        )
    finally:
        await bus.close()


def _result(code: str) -> ResultPublished:
    rid = str(uuid.uuid4())
    return ResultPublished(
        result_id=rid,
        version=1,
        task_id=f"T-{rid[:8]}",
        draw_id=f"D-{code}",
        plan_id=f"P-{code}",
        uscc="91440101MA5CXXXX0X" if code == "gd" else "91330106MA2XXXXX0X",
        entity_name="广州市某某食品有限公司" if code == "gd" else "杭州市某某餐饮有限公司",
        region_code=REGION[code],
        departments=["scjg"],
        items=[PublishedItem(item_code="SP-01", category="pass", category_name="未发现问题")],
        check_date=date(2026, 11, 30),
        published_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        violation=False,
    )


async def _publish(province: Province, n: int) -> list[str]:
    """`n` results published as the publisher's relay does; their Nats-Msg-Ids."""
    bus = await province.bus("relay")
    ids = []
    try:
        for _ in range(n):
            result = _result(province.code)
            key = idempotency_key(result.result_id, result.version, Destination.STREAM)
            subject = subjects.event(
                "publisher", "result.published", result.region_code, result.departments[0]
            )
            await bus.publish_raw(
                subject, dumps(result), event_id=key, source="spotcheck-publisher", timeout=5
            )
            ids.append(key)
    finally:
        await bus.close()
    return ids


class Subscriber:
    """A national subscriber: one durable pull consumer on NATIONAL_RESULTS, acking each."""

    def __init__(self) -> None:
        self.seen: list[str] = []  # Nats-Msg-Id of every message delivered, repeats included
        self.regions: list[str] = []

    async def drain(self, country: Country, until: int, *, timeout: float = 60.0) -> None:
        bus = await country.reader()
        try:
            sub = await bus.js.pull_subscribe(
                national.RESULTS_FILTER, durable=DURABLE, stream=national.NATIONAL_STREAM
            )

            async def fetched() -> bool:
                try:
                    msgs = await sub.fetch(50, timeout=0.5)
                except TimeoutError:
                    msgs = []
                for m in msgs:
                    self.seen.append((m.headers or {})["Nats-Msg-Id"])
                    self.regions.append(m.subject.split(".")[-2])
                    await m.ack_sync()
                return len(self.seen) >= until

            await eventually(fetched, what=f"{until} results nationally", timeout=timeout)
            info = await sub.consumer_info()
            # Nothing more is waiting: what was seen is all there is.
            assert info.num_pending == 0 and info.num_ack_pending == 0
        finally:
            await bus.close()


async def _stream_messages(js: JetStreamContext, name: str) -> int:
    return int((await js.stream_info(name)).state.messages)


async def test_both_provinces_results_reach_the_national_stream_each_once(country) -> None:
    gd, zj = country.provinces["gd"], country.provinces["zj"]
    for p in (gd, zj):
        await _ensure_publisher_stream(p)
    await _connected(country, ["gd", "zj"])
    # Results published before the national stream exists are sourced from the start.
    early = await _publish(gd, 3) + await _publish(zj, 2)
    nc = await country.admin()
    try:
        applied = await national.ensure_stream(nc, ["gd", "zj"])
        assert applied.action == "created" and applied.provinces == ["gd", "zj"]
        assert (await national.ensure_stream(nc, ["gd", "zj"])).action == "unchanged"
    finally:
        await nc.close()
    later = await _publish(gd, 2) + await _publish(zj, 3)
    # The relay's retry after a lost ack carries the same Nats-Msg-Id: stored once.
    bus = await gd.bus("relay")
    try:
        result = _result("gd")
        key = idempotency_key(result.result_id, 1, Destination.STREAM)
        subject = subjects.event("publisher", "result.published", REGION["gd"], "scjg")
        for _ in range(2):
            await bus.publish_raw(subject, dumps(result), event_id=key, timeout=5)
    finally:
        await bus.close()
    expected = early + later + [key]

    sub = Subscriber()
    await sub.drain(country, until=len(expected))
    assert sorted(sub.seen) == sorted(expected)  # each once, none missing, none extra
    assert sub.regions.count(REGION["gd"]) == 6 and sub.regions.count(REGION["zj"]) == 5

    # Each province's PUBLISHER holds its own results only: nothing crossed between them.
    for p, own in ((gd, 6), (zj, 5)):
        bus = await p.bus("publisher")
        try:
            assert await _stream_messages(bus.js, "PUBLISHER") == own
        finally:
            await bus.close()

    # How long a result takes to appear nationally (docs/operations.md quotes it).
    reader = await country.reader()
    try:
        sub2 = await reader.js.pull_subscribe(
            national.RESULTS_FILTER,
            durable="latency",
            stream=national.NATIONAL_STREAM,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW),
        )
        took = []
        for _ in range(5):
            start = time.monotonic()
            [one] = await _publish(zj, 1)
            [msg] = await sub2.fetch(1, timeout=10)
            took.append(time.monotonic() - start)
            assert (msg.headers or {})["Nats-Msg-Id"] == one
            await msg.ack()
        print(f"\nnational latency: {', '.join(f'{t * 1000:.0f} ms' for t in took)}")
        assert max(took) < 10
    finally:
        await reader.close()


async def test_a_dropped_link_resumes_without_losing_or_repeating(country) -> None:
    gd, zj = country.provinces["gd"], country.provinces["zj"]
    for p in (gd, zj):
        await _ensure_publisher_stream(p)
    await _connected(country, ["gd", "zj"])
    nc = await country.admin()
    try:
        await national.ensure_stream(nc, ["gd", "zj"])
    finally:
        await nc.close()
    expected = await _publish(gd, 3) + await _publish(zj, 3)
    sub = Subscriber()
    await sub.drain(country, until=len(expected))

    # The national server goes away: the provinces keep publishing into their own streams.
    country.stop_national()
    expected += await _publish(gd, 4) + await _publish(zj, 2)
    country.start_national(["gd", "zj"])
    restarted = time.monotonic()
    # nats-server retries a source that failed (its province was not yet reconnected) with a
    # growing pause: about 40 s on this machine, quoted in docs/operations.md.
    await sub.drain(country, until=len(expected), timeout=120)
    print(f"\nafter the national restart: 6 held results in {time.monotonic() - restarted:.1f} s")

    # A province goes away and comes back; its results published before and after arrive.
    zj.stop()
    expected += await _publish(gd, 2)
    zj.start()
    restarted = time.monotonic()
    expected += await _publish(zj, 2)
    await sub.drain(country, until=len(expected), timeout=120)
    print(f"after zj's restart: its 2 new results in {time.monotonic() - restarted:.1f} s")

    assert sorted(sub.seen) == sorted(expected)
    nc = await country.admin()
    try:
        messages, states = await national.status(nc)
        assert messages == len(expected) == 16
        assert {s.province: s.lag for s in states} == {"gd": 0, "zj": 0}
    finally:
        await nc.close()


async def test_a_province_that_does_not_answer_is_named_and_changes_nothing(country) -> None:
    await _ensure_publisher_stream(country.provinces["gd"])
    await _connected(country, ["gd"])
    # A province whose NATS runs another domain than the code it was registered under.
    country.add_province("hn", domain="hunan")
    nc = await country.admin()
    try:
        with pytest.raises(national.NationalError) as refused:
            await national.ensure_stream(nc, ["gd", "hn"])
        text = str(refused.value)
        assert "'hn'" in text and "SPOTCHECK_PROVINCE_DOMAIN=hn" in text
        assert "'gd'" not in text  # the one that answers is not blamed
        with pytest.raises(NotFoundError):
            await nc.jetstream().stream_info(national.NATIONAL_STREAM)  # nothing was made

        assert (await national.ensure_stream(nc, ["gd"])).action == "created"
        with pytest.raises(national.NationalError, match="'hn'"):
            await national.ensure_stream(nc, ["gd", "hn"])
        _, states = await national.status(nc)
        assert [s.province for s in states] == ["gd"]  # left as it was
    finally:
        await nc.close()


async def test_the_national_side_cannot_change_a_province(country) -> None:
    gd = country.provinces["gd"]
    await _ensure_publisher_stream(gd)
    await _publish(gd, 1)
    await _connected(country, ["gd"])
    nc = await country.admin()
    try:
        for subject in (
            "$JS.gd.API.STREAM.DELETE.PUBLISHER",
            "$JS.gd.API.STREAM.PURGE.PUBLISHER",
            "$JS.gd.API.ACCOUNT.PURGE",
            "$JS.gd.API.CONSUMER.DELETE.PUBLISHER.credit-feedback",
            "$JS.gd.API.DIRECT.GET.PUBLISHER",
        ):
            with pytest.raises(NoRespondersError):
                await nc.request(subject, b"{}", timeout=2)

        # Raw events do not cross: a subscriber in the national account hears none. The sourced
        # copy travels the same leaf connection after the event was stored, so once it is in
        # the national stream a raw copy would have arrived before it.
        await national.ensure_stream(nc, ["gd"])
        heard: list[str] = []

        async def hear(msg: Any) -> None:
            heard.append(msg.subject)

        await nc.subscribe("spotcheck.>", cb=hear)
        await nc.flush()
        await _publish(gd, 1)
        js = nc.jetstream()

        async def sourced() -> bool:
            return await _stream_messages(js, national.NATIONAL_STREAM) == 2

        await eventually(sourced, what="gd's two results in the national stream")
        assert heard == []
    finally:
        await nc.close()
    bus = await gd.bus("publisher")
    try:
        assert await _stream_messages(bus.js, "PUBLISHER") == 2  # untouched
    finally:
        await bus.close()


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
    await _ensure_publisher_stream(zj)
    await _connected(country, ["gd", "zj"])
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
    zj_ids = await _publish(zj, 2)

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
