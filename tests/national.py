"""Two provinces and the national NATS on one machine, for the national stream's tests.

Real nats-server processes on free ports, configured as in production: the national server from
deploy/nats/national.conf with the accounts `spotcheck national accounts` writes, each province
from the embedded configuration `spotcheck up` writes (spotcheck/stack/accounts.py) with
SPOTCHECK_PROVINCE_DOMAIN and SPOTCHECK_NATIONAL_LEAF_URL. `publish` puts results into a
province's PUBLISHER stream as the publisher's relay does (user `relay`, the result's subject,
Nats-Msg-Id = the delivery's idempotency key); `Subscriber` reads NATIONAL_RESULTS through a
durable consumer as the national `reader` user.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from contracts import subjects
from contracts.publisher import PublishedItem, ResultPublished
from services.kit.bus import Bus, dumps
from services.kit.settings import Settings
from services.publisher.domain.delivery import Destination, idempotency_key
from spotcheck import national
from spotcheck.embedded import free_port, start_nats, stop_process
from spotcheck.stack import accounts
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[1]
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


def running_country(tmp_path: Path) -> Iterator[Country]:
    """The national server and provinces gd and zj, all connected; stopped afterwards."""
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


async def connected(country: Country, codes: list[str]) -> None:
    """Wait until the national server reaches each province's JetStream over its leaf."""
    nc = await country.admin()
    try:
        for code in codes:

            async def answers(code: str = code) -> bool:
                return await national.probe(nc, code) is None

            await eventually(answers, what=f"{code}'s leaf node connected", timeout=30)
    finally:
        await nc.close()


async def ensure_publisher_stream(province: Province) -> None:
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


def result_of(code: str) -> ResultPublished:
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


async def publish(province: Province, n: int) -> list[str]:
    """`n` results published as the publisher's relay does; their Nats-Msg-Ids."""
    bus = await province.bus("relay")
    ids = []
    try:
        for _ in range(n):
            result = result_of(province.code)
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


async def stream_messages(js: JetStreamContext, name: str) -> int:
    return int((await js.stream_info(name)).state.messages)
