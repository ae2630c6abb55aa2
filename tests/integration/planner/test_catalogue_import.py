"""The catalogue export of 互联网+监管 into the real planner (NATS + PostgreSQL): a pushed file
or a polled URL becomes a rule candidate that policy staff activate like any rule change; a bad
row is refused with its line and nothing is created; an unchanged export records nothing new."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import asyncpg
import pytest

from contracts.common import Role
from services.planner.app import spec
from services.planner.catalogue_imports import CatalogueImports
from services.planner.catalogue_poll import CataloguePoller
from services.planner.settings import PlannerSettings
from tests.catalogue_exports import HEADER, as_csv, changed_export, shipped, shipped_rows
from tests.waiting import eventually

from .support import ROOT

CSV = {"Content-Type": "text/csv"}


async def count(svc: Any, sql: str) -> int:
    value: int = await svc.ctx.db.pool.fetchval(sql)
    return value


async def test_pushed_gb18030_export_becomes_a_candidate_then_active(run_service: Any) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    policy = svc.auth(Role.POLICY)
    data = as_csv(changed_export()).encode("gb18030")

    r = await svc.http.post(
        "/rules/catalogue-imports",
        params={"name": "事项清单.csv"},
        content=data,
        headers={**policy, **CSV},
    )
    assert r.status_code == 201, r.text
    found = r.json()
    assert (found["encoding"], found["format"], found["rows"]) == ("gb18030", "csv", 14)
    diff = found["diff"]
    assert [a["code"] for a in diff["added"]] == ["SCJG-101"]
    assert [c["code"] for c in diff["changed"]] == ["SCJG-002", "SW-002"]
    assert [w["code"] for w in diff["withdrawn"]] == ["SCJG-009"]
    assert found["repeated"] is False

    # The candidate: the active files, only the two item files edited; nothing active changed.
    candidate = (
        await svc.http.get(f"/rules/candidates/{found['candidate_id']}", headers=policy)
    ).json()
    assert candidate["check"]["ok"] is True, candidate["check"]
    active = shipped()
    assert candidate["based_on"] == found["based_on"]
    assert {p for p, t in candidate["files"].items() if active.get(p) != t} == {
        "items-scjg.yaml",
        "items-sw.yaml",
    }
    assert (await svc.http.get("/items/SCJG-101")).status_code == 404

    # The same file again, before anything was activated: nothing new.
    r = await svc.http.post(
        "/rules/catalogue-imports",
        params={"name": "事项清单.csv"},
        content=data,
        headers={**policy, **CSV},
    )
    assert r.status_code == 201 and r.json()["repeated"] is True
    assert r.json()["import_id"] == found["import_id"]
    assert await count(svc, "SELECT count(*) FROM catalogue_imports") == 1

    # Activated as any rule change; the public catalogue follows.
    r = await svc.http.post("/rules/activate", json={"files": candidate["files"]}, headers=policy)
    assert r.status_code == 200, r.text
    assert (await svc.http.get("/items/SCJG-101")).json()["name"] == "价格行为的检查"
    assert (await svc.http.get("/items/SCJG-009")).status_code == 404
    assert (await svc.http.get("/items/SCJG-002")).json()["name"] == "经营主体登记事项的检查"

    # Against the new active rules the same export proposes nothing (recorded, no candidate).
    r = await svc.http.post(
        "/rules/catalogue-imports",
        params={"name": "事项清单.csv"},
        content=data,
        headers={**policy, **CSV},
    )
    assert r.status_code == 201, r.text
    again = r.json()
    assert again["candidate_id"] is None and again["repeated"] is False
    assert again["diff"]["added"] == again["diff"]["changed"] == again["diff"]["withdrawn"] == []

    listed = (await svc.http.get("/rules/catalogue-imports", headers=policy)).json()
    assert [i["import_id"] for i in listed] == [again["import_id"], found["import_id"]]
    assert (listed[1]["added"], listed[1]["changed"], listed[1]["withdrawn"]) == (1, 2, 1)
    shown = (
        await svc.http.get(f"/rules/catalogue-imports/{found['import_id']}", headers=policy)
    ).json()
    assert shown["diff"] == diff
    audit = await svc.ctx.db.pool.fetch(
        "SELECT subject, data FROM audit_log WHERE action = 'rules.catalogue_import' ORDER BY seq"
    )
    assert [a["subject"] for a in audit] == [str(found["import_id"]), str(again["import_id"])]


async def test_a_bad_row_is_refused_with_its_line_and_nothing_created(run_service: Any) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    policy = svc.auth(Role.POLICY)
    rows = changed_export()
    rows[4][2] = "某某局"  # line 6 of the file (the header is line 1)
    r = await svc.http.post(
        "/rules/catalogue-imports",
        params={"name": "export.csv"},
        content=as_csv(rows).encode("utf-8"),
        headers={**policy, **CSV},
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "catalogue_invalid"
    assert [(d["file"], d["line"], d["field"]) for d in error["details"]] == [
        ("export.csv", 6, "实施部门")
    ]
    assert "某某局" in error["details"][0]["reason_zh"]
    for table in ("catalogue_imports", "rule_candidates"):
        assert await count(svc, f"SELECT count(*) FROM {table}") == 0
    assert (
        await count(svc, "SELECT count(*) FROM audit_log WHERE action = 'rules.catalogue_import'")
        == 0
    )

    r = await svc.http.post("/rules/catalogue-imports", content=b"", headers={**policy, **CSV})
    assert r.status_code == 422
    r = await svc.http.post(
        "/rules/catalogue-imports", content=b"x", headers=svc.auth(Role.PLANNER, "SCJG")
    )
    assert r.status_code == 403


async def test_a_json_export(run_service: Any) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    records = [dict(zip(HEADER, r, strict=True)) for r in shipped_rows()]
    records[0]["设定依据"] = "《企业信息公示暂行条例》第十四条、第十八条"
    body = json.dumps({"data": records}, ensure_ascii=False, indent=1).encode()
    r = await svc.http.post(
        "/rules/catalogue-imports",
        params={"name": "export.json"},
        content=body,
        headers={**svc.auth(Role.POLICY), "Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text
    changed = r.json()["diff"]["changed"]
    assert changed == [
        {
            "code": "SCJG-001",
            "name": "企业公示信息的检查",
            "file": "items-scjg.yaml",
            "line": 5,
            "fields": [
                {
                    "field": "legal_basis",
                    "old": "《企业信息公示暂行条例》第十四条",
                    "new": "《企业信息公示暂行条例》第十四条、第十八条",
                }
            ],
        }
    ]


class FakeExport:
    """互联网+监管's export as a real HTTP server on a free port: GET answers `body`."""

    def __init__(self) -> None:
        self.body = b""
        self.requests = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with fake.lock:
                    fake.requests += 1
                    body = fake.body
                self.send_response(200)
                self.send_header("Content-Type", "text/csv; charset=gb18030")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/export/items.csv"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def seen(self) -> int:
        with self.lock:
            return self.requests


@pytest.fixture
def fake_export() -> Iterator[FakeExport]:
    fake = FakeExport()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


async def test_polling_a_changed_export(run_service: Any, fake_export: FakeExport) -> None:
    fake_export.body = as_csv(shipped_rows()).encode("gb18030")  # the same as the rules
    settings = PlannerSettings(catalogue_url=fake_export.url, catalogue_poll_s=0.05)
    svc = await run_service(lambda: spec(settings), rules_dir=ROOT / "rules")

    async def imports() -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in await svc.ctx.db.pool.fetch(
                "SELECT import_id, source, candidate_id, sha256 FROM catalogue_imports"
                " ORDER BY import_id"
            )
        ]

    async def recorded(n: int) -> bool:
        return len(await imports()) >= n

    await eventually(lambda: recorded(1), what="the first poll's import")
    first = await imports()
    assert first[0]["source"] == fake_export.url and first[0]["candidate_id"] is None
    # Polls go on one after another: once two more requests came, the poll after the first
    # import has finished; the unchanged export recorded nothing.
    after = fake_export.seen()
    await eventually(lambda: fake_export.seen() >= after + 2, what="two more polls")
    assert await imports() == first

    fake_export.body = as_csv(changed_export()).encode("gb18030")
    await eventually(lambda: recorded(2), what="the changed export's import")
    second = (await imports())[1]
    assert second["candidate_id"] is not None
    after = fake_export.seen()
    await eventually(lambda: fake_export.seen() >= after + 2, what="two more polls")
    assert len(await imports()) == 2
    candidate = (
        await svc.http.get(
            f"/rules/candidates/{second['candidate_id']}", headers=svc.auth(Role.POLICY)
        )
    ).json()
    assert "SCJG-101" in candidate["files"]["items-scjg.yaml"]
    audit = await svc.ctx.db.pool.fetch(
        "SELECT actor, data FROM audit_log WHERE action = 'rules.catalogue_import' ORDER BY seq"
    )
    assert [a["actor"] for a in audit] == ["planner-catalogue-poll"] * 2


async def test_a_provinces_mapping_file_names_the_columns(run_service: Any, tmp_path: Any) -> None:
    shipped_mapping = (ROOT / "deploy" / "platforms" / "hlwjg.yaml").read_text(encoding="utf-8")
    (tmp_path / "hlwjg.yaml").write_text(
        shipped_mapping.replace("name: 设定依据", "name: 依据"), encoding="utf-8"
    )
    settings = PlannerSettings(platforms_dir=str(tmp_path))
    svc = await run_service(lambda: spec(settings), rules_dir=ROOT / "rules")
    header = [*HEADER[:5], "依据"]
    rows = changed_export()
    r = await svc.http.post(
        "/rules/catalogue-imports",
        params={"name": "export.csv"},
        content=as_csv(rows, header).encode("gb18030"),
        headers={**svc.auth(Role.POLICY), **CSV},
    )
    assert r.status_code == 201, r.text
    assert [a["code"] for a in r.json()["diff"]["added"]] == ["SCJG-101"]
    # The default's column name is now refused, naming the column the mapping wants.
    r = await svc.http.post(
        "/rules/catalogue-imports",
        params={"name": "export.csv"},
        content=as_csv(rows).encode("gb18030"),
        headers={**svc.auth(Role.POLICY), **CSV},
    )
    assert r.status_code == 422
    assert [(d["line"], d["field"]) for d in r.json()["error"]["details"]] == [(1, "依据")]


async def test_two_copies_polling_one_export_record_it_once(
    run_service: Any, fake_export: FakeExport
) -> None:
    fake_export.body = as_csv(changed_export()).encode("gb18030")
    settings = PlannerSettings(catalogue_url=fake_export.url, catalogue_poll_s=0.05)
    copies = [await run_service(lambda: spec(settings), rules_dir=ROOT / "rules") for _ in range(2)]
    pool = copies[0].ctx.db.pool

    async def imported() -> bool:
        return bool(await pool.fetchval("SELECT count(*) FROM catalogue_imports"))

    await eventually(imported, what="the export's import")
    # Each copy finishes two more polls of the same export: still one import, one candidate.
    pollers = [c.ctx.wiring.poller for c in copies]
    done = [p.polls for p in pollers]
    await eventually(
        lambda: all(p.polls >= n + 2 for p, n in zip(pollers, done, strict=True)),
        what="two more polls by each copy",
    )
    assert await pool.fetchval("SELECT count(*) FROM catalogue_imports") == 1
    assert await pool.fetchval("SELECT count(*) FROM rule_candidates") == 1


async def test_a_database_failure_does_not_stop_the_polls(fake_export: FakeExport) -> None:
    # PostgreSQL restarting under an import (the cluster test's fault) fails that poll only:
    # the poller keeps going and the next poll imports.
    fake_export.body = as_csv(shipped_rows()).encode("gb18030")

    class FlakyImports:
        calls = 0

        async def import_export(self, data: bytes, **_: Any) -> dict[str, Any]:
            self.calls += 1
            if self.calls == 1:
                raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")
            return {"import_id": self.calls}

    flaky = FlakyImports()
    settings = PlannerSettings(catalogue_url=fake_export.url, catalogue_poll_s=0.01)
    poller = CataloguePoller(imports=cast(CatalogueImports, flaky), settings=settings)
    running = asyncio.create_task(poller.run())
    try:
        await eventually(lambda: flaky.calls >= 2 or running.done(), what="a second poll")
        assert not running.done(), "the poller stopped"
        assert flaky.calls >= 2
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
