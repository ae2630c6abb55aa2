"""The 监督平台's receipts of our plans, on the real publisher and planner (NATS + PostgreSQL):
a receipt file pushed into the watched folder sets the plan's filing date to the platform's
date, once; a bad file is refused with its line and changes nothing; the planner away, then
back: the receipt is applied once."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from aiohttp import web

from contracts.common import Role
from services.kit.service import started
from services.kit.settings import Settings
from services.planner.app import spec as planner_spec
from services.planner.catalogue_imports import china_today
from services.publisher.app import spec as publisher_spec
from services.publisher.settings import PublisherSettings
from tests.integration.conftest import RunningService
from tests.integration.planner.support import serving_stats
from tests.waiting import eventually

from .fake_platforms import free_port

ROOT = Path(__file__).resolve().parents[3]
HEADER = "计划编号,回执编号,回执日期,回执类型"


# The province whose 监督平台 answers receipts at a URL (JSON) instead of pushing files.
POLLED = [
    ("encoding: gb18030", "encoding: utf-8"),
    (
        "  kind: file-drop\n  folder: /var/spool/spotcheck/jdpt-receipts\n  file_format: csv",
        "  kind: http-json\n  url_env: SPOTCHECK_PLATFORM_JDPT_RECEIPTS_URL\n  file_format: json"
        "\nauth:\n  kind: bearer\n  token_env: SPOTCHECK_PLATFORM_JDPT_TOKEN",
    ),
]
TOKEN = "jdpt-secret"


def _folder(tmp_path: Path, edit: list[tuple[str, str]] | None = None) -> Path:
    """The shipped 监督平台 mappings (what it is sent, its receipts), with the test's folders;
    `edit` changes the receipts' mapping."""
    folder = tmp_path / "platforms"
    folder.mkdir()
    for name in ("jdpt.yaml", "jdpt-receipts.yaml"):
        text = (ROOT / "deploy" / "platforms" / name).read_text(encoding="utf-8")
        for old, new in edit or [] if name == "jdpt-receipts.yaml" else []:
            assert old in text, old
            text = text.replace(old, new)
        text = text.replace("/var/spool/spotcheck/jdpt-receipts", str(tmp_path / "receipts"))
        text = text.replace("/var/spool/spotcheck/jdpt", str(tmp_path / "drop"))
        (folder / name).write_text(text, encoding="utf-8")
    return folder


class ReceiptsUrl:
    """The 监督平台's receipts as a real HTTP server: GET answers `body` to the right token."""

    def __init__(self) -> None:
        self.body = b"[]"
        self.gets = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/receipts"
        self._runner: web.AppRunner | None = None

    async def _get(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.Response(status=401)
        self.gets += 1
        return web.Response(body=self.body, content_type="application/json")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/receipts", self._get)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def _publisher_settings(folder: Path) -> PublisherSettings:
    # The tests push files written beside and renamed in: no settling needed.
    return PublisherSettings(
        platforms_dir=str(folder),
        receipts_poll_s=0.1,
        receipts_settle_s=0,
        retry_base_s=0.05,
        retry_cap_s=0.3,
    )


def _push(folder: Path, name: str, lines: list[str]) -> None:
    """The platform pushes a receipt file: GB18030 CSV, written beside and renamed in."""
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{name}.part"
    part.write_bytes(("\r\n".join([HEADER, *lines]) + "\r\n").encode("gb18030"))
    os.replace(part, folder / name)


def _plan(plan_id: str, year: int) -> dict[str, Any]:
    return {
        "plan_id": plan_id,
        "title": f"{year}年度抽查计划",
        "year": year,
        "departments": ["SCJG"],
        "scope": {"regions": ["360202"]},
        "period": {"start": f"{year}-04-01", "end": f"{year}-11-30"},
        "items": [{"item": "SCJG-001", "ratio": "3%"}],
    }


@asynccontextmanager
async def _planner(settings: Settings) -> AsyncIterator[RunningService]:
    """The planner, started here so that the test can stop it and start it again."""
    async with started(planner_spec(), settings) as ctx:
        assert ctx.app is not None
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=ctx.app), base_url="http://test"
        ) as client:
            yield RunningService(ctx, client)


async def _actions(svc: Any, action: str) -> list[dict[str, Any]]:
    rows = await svc.ctx.db.pool.fetch(
        "SELECT subject, data FROM audit_log WHERE action = $1 ORDER BY seq", action
    )
    return [{"subject": r["subject"], **r["data"]} for r in rows]


@pytest.fixture
async def stack(
    nats_url: str,
    database_url: str,
    settings_for: Any,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[dict[str, Any]]:
    """The publisher reading receipts; a planner with a plan approved (the registry's counts
    answered by a double). `stack["planner"]` may be stopped and started again."""
    async with AsyncExitStack() as exits:
        await exits.enter_async_context(serving_stats(nats_url))
        settings = settings_for(nats_url, database_url, rules_dir=ROOT / "rules")
        polled = getattr(request, "param", None) == "polled"
        url = ReceiptsUrl()
        if polled:
            await url.start()
            exits.push_async_callback(url.stop)
            monkeypatch.setenv("SPOTCHECK_PLATFORM_JDPT_RECEIPTS_URL", url.url)
            monkeypatch.setenv("SPOTCHECK_PLATFORM_JDPT_TOKEN", TOKEN)
        folder = _folder(tmp_path, POLLED if polled else None)
        publisher = await exits.enter_async_context(
            started(
                publisher_spec(_publisher_settings(folder)), settings_for(nats_url, database_url)
            )
        )
        out: dict[str, Any] = {
            "settings": settings,
            "publisher": SimpleNamespace(ctx=publisher),
            "receipts": tmp_path / "receipts",
            "drop": tmp_path / "drop",
            "url": url,
        }
        yield out


async def test_a_receipt_file_sets_the_plans_filing_date_once(stack: dict[str, Any]) -> None:
    pub, receipts = stack["publisher"], stack["receipts"]
    today = china_today()
    async with _planner(stack["settings"]) as planner:
        staff, reader = planner.auth(Role.PLANNER, "SCJG"), planner.auth(Role.AUDITOR)
        r = await planner.http.post("/plans", json=_plan("P-R1", today.year + 1), headers=staff)
        assert r.status_code == 201 and r.json()["flags"] == ["not_filed"], r.text
        # The plan went to the 监督平台 (a file in its drop folder) before any receipt.
        await eventually(
            lambda: any((stack["drop"] / "plans").glob("*.csv")), what="the plan file dropped"
        )
        _push(receipts, "回执-1.csv", [f"P-R1,JD-0001,{today.isoformat()},已备案"])
        await eventually(
            lambda: (receipts / "done" / "回执-1.csv").exists(), what="the receipt file read"
        )
        shown = (await planner.http.get("/plans/P-R1", headers=reader)).json()
        assert shown["filed_on"] == today.isoformat() and shown["flags"] == [], shown
        [entry] = await _actions(pub, "platform.receipt")
        assert entry["subject"] == "P-R1" and entry["ack_id"] == "JD-0001"
        assert (entry["line"], entry["kind"], entry["repeated"]) == (2, "filed", False)
        assert len(await _actions(planner, "plan.filing_ack")) == 1

        # The platform pushes the same receipt again: read, and nothing changes.
        inbox = pub.ctx.wiring.receipts
        _push(receipts, "回执-1.csv", [f"P-R1,JD-0001,{today.isoformat()},已备案"])
        await eventually(
            lambda: (receipts / "done" / "回执-1.csv.1").exists(), what="the repeat read"
        )
        assert len(await _actions(pub, "platform.receipt")) == 1
        assert len(await _actions(planner, "plan.filing_ack")) == 1
        assert inbox.polls > 0
        rows = await pub.ctx.db.pool.fetch("SELECT ack_id, state FROM platform_receipts")
        assert [tuple(r) for r in rows] == [("JD-0001", "applied")]


async def test_a_bad_receipt_file_is_refused_with_its_line_and_changes_nothing(
    stack: dict[str, Any],
) -> None:
    pub, receipts = stack["publisher"], stack["receipts"]
    today = china_today()
    async with _planner(stack["settings"]) as planner:
        staff, reader = planner.auth(Role.PLANNER, "SCJG"), planner.auth(Role.AUDITOR)
        r = await planner.http.post("/plans", json=_plan("P-R2", today.year + 1), headers=staff)
        assert r.status_code == 201, r.text
        before = (await planner.http.get("/plans/P-R2", headers=reader)).json()
        # Line 2 is good, line 3 has an impossible date, line 4 a kind the mapping does not know.
        _push(
            receipts,
            "回执-2.csv",
            [
                f"P-R2,JD-0101,{today.isoformat()},已录入",
                "P-R2,JD-0102,2026-13-40,已录入",
                f"P-R2,JD-0103,{today.isoformat()},已送达",
            ],
        )
        why = receipts / "refused" / "回执-2.csv.why"
        await eventually(why.exists, what="the bad file moved aside with its reasons")
        assert (
            (receipts / "refused" / "回执-2.csv").read_bytes().decode("gb18030").startswith(HEADER)
        ), "the refused file is kept as it came"
        text = why.read_text(encoding="utf-8")
        assert "回执-2.csv:3: 回执日期: '2026-13-40' is not a date written %Y-%m-%d" in text
        assert "回执-2.csv:4: 回执类型: '已送达' is not in code list filing_kinds" in text
        assert "回执-2.csv:2" not in text
        # Nothing changed: the good line 2 was not taken either.
        after = (await planner.http.get("/plans/P-R2", headers=reader)).json()
        assert after == before
        assert await _actions(pub, "platform.receipt") == []
        assert await _actions(planner, "plan.filing_ack") == []
        assert await pub.ctx.db.pool.fetchval("SELECT count(*) FROM platform_receipts") == 0
        assert not (receipts / "回执-2.csv").exists()


async def test_the_planner_away_then_back_the_receipt_is_applied_once(
    stack: dict[str, Any],
) -> None:
    pub, receipts = stack["publisher"], stack["receipts"]
    inbox = pub.ctx.wiring.receipts
    today = china_today()
    async with _planner(stack["settings"]) as planner:
        staff = planner.auth(Role.PLANNER, "SCJG")
        r = await planner.http.post("/plans", json=_plan("P-R3", today.year + 1), headers=staff)
        assert r.status_code == 201, r.text
    # The planner is down: the receipt waits in the folder, tried poll after poll.
    _push(receipts, "回执-3.csv", [f"P-R3,JD-0201,{today.isoformat()},已录入"])
    seen = inbox.polls
    await eventually(lambda: inbox.polls >= seen + 3, what="three polls with the planner away")
    assert (receipts / "回执-3.csv").exists() and not list((receipts / "done").glob("回执-3*"))
    assert await _actions(pub, "platform.receipt") == []
    # Back (the same database): the receipt is applied, once.
    async with _planner(stack["settings"]) as planner:
        reader = planner.auth(Role.AUDITOR)
        await eventually(
            lambda: (receipts / "done" / "回执-3.csv").exists(), what="the receipt applied"
        )
        shown = (await planner.http.get("/plans/P-R3", headers=reader)).json()
        assert shown["entered_on"] == today.isoformat(), shown
        acks = await _actions(planner, "plan.filing_ack")
        assert [(a["subject"], a["ack_id"]) for a in acks] == [("P-R3", "JD-0201")]
        assert len(await _actions(pub, "platform.receipt")) == 1
        assert date.fromisoformat(acks[0]["acknowledged_on"]) == today


async def test_a_receipt_the_planner_refuses_is_kept_aside_with_why_the_others_applied(
    stack: dict[str, Any],
) -> None:
    pub, receipts = stack["publisher"], stack["receipts"]
    today = china_today()
    async with _planner(stack["settings"]) as planner:
        staff = planner.auth(Role.PLANNER, "SCJG")
        r = await planner.http.post("/plans", json=_plan("P-R4", today.year + 1), headers=staff)
        assert r.status_code == 201, r.text
        _push(
            receipts,
            "回执-4.csv",
            [f"P-R4,JD-0301,{today.isoformat()},已录入", f"P-NONE,JD-0302,{today.isoformat()},"],
        )
        why = receipts / "refused" / "回执-4.csv.why"
        await eventually(why.exists, what="the file moved aside")
        assert why.read_text(encoding="utf-8").startswith("回执-4.csv:3: not_found: no plan P-NONE")
        states = dict(await pub.ctx.db.pool.fetch("SELECT ack_id, state FROM platform_receipts"))
        assert states == {"JD-0301": "applied", "JD-0302": "refused"}
        [refused] = await _actions(pub, "platform.receipt_refused")
        assert (refused["subject"], refused["line"]) == ("P-NONE", 3)
        assert [a["ack_id"] for a in await _actions(planner, "plan.filing_ack")] == ["JD-0301"]
        # What an operator sees (`spotcheck publisher receipts --refused`).
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=pub.ctx.app), base_url="http://test"
        ) as http:
            r = await http.get(
                "/platforms/receipts",
                params={"state": "refused"},
                headers=RunningService(pub.ctx, http).auth(Role.OPERATOR),
            )
        assert r.status_code == 200, r.text
        [shown] = r.json()
        assert (shown["ack_id"], shown["plan_id"], shown["line"]) == ("JD-0302", "P-NONE", 3)
        assert shown["source"].endswith("回执-4.csv") and "no plan P-NONE" in shown["reason"]


@pytest.mark.parametrize("stack", ["polled"], indirect=True)
async def test_receipts_polled_from_the_platforms_url(stack: dict[str, Any]) -> None:
    pub, url = stack["publisher"], stack["url"]
    today = china_today()
    async with _planner(stack["settings"]) as planner:
        staff, reader = planner.auth(Role.PLANNER, "SCJG"), planner.auth(Role.AUDITOR)
        r = await planner.http.post("/plans", json=_plan("P-R5", today.year + 1), headers=staff)
        assert r.status_code == 201, r.text
        good = (
            '{"data": [\n  {"计划编号": "P-R5", "回执编号": "JD-0401",\n'
            f'   "回执日期": "{today.isoformat()}", "回执类型": "已备案"}}\n]}}'
        ).encode()
        # A bad answer (a date the mapping cannot read) is refused whole, poll after poll.
        url.body = good.replace(today.isoformat().encode(), b"20.3.2026")
        seen = url.gets
        await eventually(lambda: url.gets >= seen + 2, what="two polls of the bad answer")
        assert await _actions(pub, "platform.receipt") == []
        assert await _actions(planner, "plan.filing_ack") == []
        url.body = good
        await eventually(
            lambda: _actions(pub, "platform.receipt"), what="the polled receipt applied"
        )
        shown = (await planner.http.get("/plans/P-R5", headers=reader)).json()
        assert shown["filed_on"] == today.isoformat(), shown
        # The same answer poll after poll: applied once.
        seen = url.gets
        await eventually(lambda: url.gets >= seen + 3, what="three more polls")
        assert len(await _actions(pub, "platform.receipt")) == 1
        assert len(await _actions(planner, "plan.filing_ack")) == 1


async def test_a_file_still_changing_is_left_until_it_settles(stack: dict[str, Any]) -> None:
    pub, receipts = stack["publisher"], stack["receipts"]
    inbox = pub.ctx.wiring.receipts
    today = china_today()
    async with _planner(stack["settings"]) as planner:
        staff = planner.auth(Role.PLANNER, "SCJG")
        r = await planner.http.post("/plans", json=_plan("P-R6", today.year + 1), headers=staff)
        assert r.status_code == 201, r.text
        # Written in place and (by its time) just changed: a platform still writing it.
        receipts.mkdir(parents=True, exist_ok=True)
        path = receipts / "回执-6.csv"
        path.write_bytes(
            (HEADER + f"\r\nP-R6,JD-0601,{today.isoformat()},已录入\r\n").encode("gb18030")
        )
        future = time.time() + 3600
        os.utime(path, (future, future))
        seen = inbox.polls
        await eventually(lambda: inbox.polls >= seen + 2, what="two polls while it changes")
        assert path.exists() and await _actions(pub, "platform.receipt") == []
        os.utime(path, (time.time() - 10, time.time() - 10))  # the platform finished it
        await eventually(lambda: (receipts / "done" / "回执-6.csv").exists(), what="read")
        assert len(await _actions(pub, "platform.receipt")) == 1
