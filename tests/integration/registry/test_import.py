"""Bulk import against real PostgreSQL: bad rows, BOM, GB18030, duplicates, idempotency,
interrupted runs, history read-back."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts import subjects
from contracts.common import Role
from contracts.registry import (
    EntitiesReply,
    EntitiesRequest,
    InspectorsReply,
    InspectorsRequest,
)
from services.registry.app import spec
from services.registry.commands import staging
from services.registry.domain import synthetic
from services.registry.domain import uscc as uscc_mod
from services.registry.domain.rows import ENTITY_FIELDS, Vocabulary, validate_entity
from services.registry.store import bulk
from services.registry.store import entities as store
from services.registry.store import imports as store_imports

from .helpers import http_import, write_csv

GOOD = [
    "91360202MA3500000A",
    "景德镇昌江瓷业有限公司",
    "企业",
    "360202",
    "3074",
    "存续",
    "否",
    "B",
    "2025-03-01",
    "食品经营",
    "",
    "昌江区珠山路1号",
    "2010-05-20",
]


def small_files_take_the_fast_paths(monkeypatch: Any, *, first_load: bool | None) -> None:
    """Send the small chunks of a test through the column screen and chunk tables (and, with
    `first_load`, through the first-load build or, False, never), staged in the service process
    so that these patches reach the staging code."""
    monkeypatch.setenv("SPOTCHECK_REGISTRY_IMPORT_WORKERS", "0")
    monkeypatch.setattr(staging, "RAW_MIN_LINES", 1)
    if first_load is not None:
        monkeypatch.setattr(bulk, "FIRST_LOAD_MIN_ROWS", 1 if first_load else 10**9)


def entity_row(uscc: str, **changes: str) -> list[str]:
    row = dict(zip(ENTITY_FIELDS, GOOD, strict=True))
    row.update(uscc=uscc, **changes)
    return [row[f] for f in ENTITY_FIELDS]


@pytest.mark.parametrize(
    ("encoding", "bulk"), [("utf-8", False), ("utf-8-sig", False), ("gb18030", True)]
)
async def test_import_with_bad_rows_and_duplicates(
    run_service: Any, tmp_path: Path, encoding: str, bulk: bool, monkeypatch: Any
) -> None:
    if bulk:
        # the bulk path (indexes rebuilt, duplicates found by the primary key) for a small file
        monkeypatch.setattr(store_imports, "BULK_MIN_ROWS", 1)
    svc = await run_service(spec)
    rows = [
        entity_row("91360202MA3500000A"),
        entity_row("91360202MA3500001D", name="珠山区瓷器店", entity_type="个体工商户"),
        entity_row("91360202MA3500002X"),  # wrong check character
        entity_row("91360202MA3500003K", region_code="999999"),
        entity_row("91360202MA3500004N"),
        entity_row("91360202MA3500004N", name="同码另一家"),  # duplicate in the file
        entity_row("91360202MA3500005R", industry_code="Z9"),
    ]
    path = write_csv(tmp_path / "e.csv", list(ENTITY_FIELDS), rows, encoding)
    result = await http_import(svc, "entities", path, rows_per_chunk=3)
    assert (result["accepted"], result["rejected"], result["duplicates"]) == (2, 5, 2)
    by_line = {r["line"]: r for r in result["rejects"]}
    assert sorted(by_line) == [4, 5, 6, 7, 8]
    assert by_line[4]["errors"][0]["field"] == "uscc"
    assert "check character" in by_line[4]["errors"][0]["reason_en"]
    assert "校验码" in by_line[4]["errors"][0]["reason_zh"]
    assert by_line[5]["errors"][0]["field"] == "region_code"
    assert by_line[8]["errors"][0]["field"] == "industry_code"
    assert "none was imported" in by_line[6]["errors"][0]["reason_en"]
    owner = svc.auth(Role.AUDITOR)
    r = await svc.http.get("/entities/91360202MA3500001D", headers=owner)
    assert r.status_code == 200
    assert r.json()["entity"]["name"] == "珠山区瓷器店"
    assert r.json()["entity"]["industry_code"] == "C3074"
    assert (await svc.http.get("/entities/91360202MA3500004N", headers=owner)).status_code == 404


@pytest.mark.parametrize("path", ["row-by-row", "plain-chunks", "bulk"])
async def test_a_bad_row_of_an_entity_already_stored_leaves_its_version_unchanged(
    run_service: Any, tmp_path: Path, monkeypatch: Any, path: str
) -> None:
    """DESIGN §8: bad input changes nothing. A refused row names an entity the directory
    already holds: its stored version (row, history, version count) stays as it was, while the
    good rows of the same file are applied — on each way a chunk can take."""
    if path == "plain-chunks":
        small_files_take_the_fast_paths(monkeypatch, first_load=False)
    elif path == "bulk":
        monkeypatch.setattr(store_imports, "BULK_MIN_ROWS", 1)
    svc = await run_service(spec)
    kept = [uscc_mod.make(f"91360202MA36{n:05d}") for n in range(4)]
    first = [entity_row(u, name=f"原有企业{n}") for n, u in enumerate(kept)]
    result = await http_import(
        svc, "entities", write_csv(tmp_path / "a.csv", list(ENTITY_FIELDS), first, "utf-8")
    )
    assert result["accepted"] == 4

    async def stored() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with svc.ctx.db.pool.acquire() as conn:
            rows = await conn.fetch("SELECT * FROM entities ORDER BY uscc")
            history = await conn.fetch("SELECT * FROM entity_history ORDER BY uscc, valid_from")
        return [dict(r) for r in rows], [dict(r) for r in history]

    before_rows, before_history = await stored()
    second = [
        # each changes its name too: were the row applied, the name would show it
        entity_row(kept[0], name="改名甲", region_code="999999"),  # no such region
        entity_row(kept[1], name="改名乙", established="2020-02-30"),  # no such day
        entity_row(kept[2], name="改名丙", risk_class="A", risk_class_date=""),  # class, no date
        entity_row(kept[3], name="改名丁"),  # a good change of the same file
    ]
    result = await http_import(
        svc, "entities", write_csv(tmp_path / "b.csv", list(ENTITY_FIELDS), second, "utf-8")
    )
    assert (result["accepted"], result["rejected"], result["changed"]) == (1, 3, 1)
    assert sorted(r["line"] for r in result["rejects"]) == [2, 3, 4]
    after_rows, after_history = await stored()
    assert after_rows[:3] == before_rows[:3]
    assert [h for h in after_history if h["uscc"] in kept[:3]] == [
        h for h in before_history if h["uscc"] in kept[:3]
    ]
    assert after_rows[3]["name"] == "改名丁"
    auth = svc.auth(Role.AUDITOR)
    for n, uscc in enumerate(kept[:3]):
        shown = (await svc.http.get(f"/entities/{uscc}", headers=auth)).json()
        assert shown["entity"]["name"] == f"原有企业{n}" and len(shown["history"]) == 1


async def test_reimport_is_idempotent_and_changes_keep_history(
    run_service: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    svc = await run_service(spec)
    out = io.StringIO()
    synthetic.write_entities(out, 500, seed=11)
    first = tmp_path / "entities.csv"
    first.write_text(out.getvalue(), encoding="utf-8")
    monkeypatch.setattr(store_imports, "BULK_MIN_ROWS", 1)  # the first load is a bulk load
    a = await http_import(svc, "entities", first, rows_per_chunk=128)
    assert (a["accepted"], a["rejected"], a["changed"]) == (500, 0, 500)
    async with svc.ctx.db.pool.acquire() as conn:
        indexes = await conn.fetchval(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'entities'"
            " AND indexname IN ('entities_pkey', 'entities_name')"
        )
    assert indexes == 2

    again = await http_import(svc, "entities", first, rows_per_chunk=77)
    assert (again["accepted"], again["changed"]) == (500, 0)

    async with svc.ctx.db.pool.acquire() as conn:
        before: datetime = await conn.fetchval("SELECT now()")
        state1 = await conn.fetch("SELECT * FROM entities ORDER BY uscc")
    lines = out.getvalue().splitlines()
    target = lines[1].split(",")
    target[1] = "改名后的公司"
    changed = tmp_path / "changed.csv"
    changed.write_text("\n".join([lines[0], ",".join(target)]) + "\n", encoding="utf-8")
    c = await http_import(svc, "entities", changed)
    assert c["changed"] == 1

    auth = svc.auth(Role.PLANNER, "SCJG")
    now = (await svc.http.get(f"/entities/{target[0]}", headers=auth)).json()
    assert now["entity"]["name"] == "改名后的公司"
    assert [v["entity"]["name"] for v in now["history"]] == [lines[1].split(",")[1], "改名后的公司"]
    assert now["history"][0]["valid_to"] == now["history"][1]["valid_from"]
    past = (
        await svc.http.get(
            f"/entities/{target[0]}", params={"as_of": before.isoformat()}, headers=auth
        )
    ).json()
    assert past["entity"]["name"] == lines[1].split(",")[1]

    # re-importing the original file restores the old name: a third version, not an edit
    await http_import(svc, "entities", first, rows_per_chunk=500)
    async with svc.ctx.db.pool.acquire() as conn:
        state2 = await conn.fetch("SELECT * FROM entities ORDER BY uscc")
        versions = await conn.fetchval(
            "SELECT count(*) FROM entity_history WHERE uscc = $1", target[0]
        )
    strip = [{k: v for k, v in dict(r).items() if k != "valid_from"} for r in state1]
    assert strip == [{k: v for k, v in dict(r).items() if k != "valid_from"} for r in state2]
    assert versions == 2


@pytest.mark.parametrize("workers", ["0", "2"])
async def test_interrupted_import_run_again_ends_in_the_same_state(
    run_service: Any, tmp_path: Path, monkeypatch: Any, workers: str
) -> None:
    # chunks staged in the service process (0) or in worker processes (2) behave the same
    monkeypatch.setenv("SPOTCHECK_REGISTRY_IMPORT_WORKERS", workers)
    svc = await run_service(spec)
    out = io.StringIO()
    synthetic.write_entities(out, 300, seed=5, bad=0.05)
    path = tmp_path / "entities.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    # the first run stops after its chunks, before the commit: nothing is applied
    partial = await http_import(svc, "entities", path, rows_per_chunk=100, commit=False)
    assert partial["rejected"] > 0
    async with svc.ctx.db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM entities") == 0
    done = await http_import(svc, "entities", path, rows_per_chunk=100)
    async with svc.ctx.db.pool.acquire() as conn:
        count = await conn.fetchval("SELECT count(*) FROM entities")
        entries = await conn.fetch("SELECT action, data FROM audit_log ORDER BY seq")
    assert count == done["accepted"] and done["accepted"] + done["rejected"] == 300
    # the import, then the day's 两库 summary for the 监督平台 its commit made due
    assert [e["action"] for e in entries] == [
        "registry.import.entities",
        "registry.directory_summary",
    ]
    assert entries[0]["data"]["accepted"] == done["accepted"]


async def test_inspectors_import_and_lookup(run_service: Any, tmp_path: Path) -> None:
    svc = await run_service(spec)
    out = io.StringIO()
    synthetic.write_inspectors(out, 40, recusal_pool=["91360202MA3500000A"])
    lines = out.getvalue().splitlines()
    lines.append(lines[1].replace(lines[1].split(",")[0], "bad id!", 1))
    path = tmp_path / "inspectors.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = await http_import(svc, "inspectors", path)
    assert (result["accepted"], result["rejected"]) == (40, 1)
    assert result["rejects"][0]["errors"][0]["field"] == "inspector_id"
    first = lines[1].split(",")
    auth = svc.auth(Role.DRAW_OFFICER)
    one = (await svc.http.get(f"/inspectors/{first[0]}", headers=auth)).json()
    assert one["name"] == first[1] and one["recusal_usccs"] in ([], ["91360202MA3500000A"])
    page = (await svc.http.get("/inspectors", params={"department": first[2]}, headers=auth)).json()
    assert page["inspectors"] and all(i["department"] == first[2] for i in page["inspectors"])
    # the same roster over NATS, paged
    reply = await svc.ctx.bus.request(
        subjects.rpc("registry", "inspectors"), InspectorsRequest(limit=25), InspectorsReply
    )
    assert len(reply.inspectors) == 25 and reply.next_offset == 25
    rest = await svc.ctx.bus.request(
        subjects.rpc("registry", "inspectors"),
        InspectorsRequest(offset=25, limit=25),
        InspectorsReply,
    )
    assert len(rest.inspectors) == 15 and rest.next_offset is None
    # recusals keep their relation (回避事由) through the import, HTTP and NATS
    relation_words = {
        "近亲属": "relative",
        "曾任职": "former_employee",
        "持股": "interest",
        "其他": "other",
    }
    declared = {}
    for line in lines[1:41]:
        recusal = line.split(",")[9]
        if recusal:
            uscc, _, word = recusal.partition(":")
            declared[line.split(",")[0]] = (uscc, relation_words.get(word, word or "declared"))
    assert declared and {"declared"} != {r for _, r in declared.values()}
    listed = {i.inspector_id: i for i in reply.inspectors + rest.inspectors}
    for inspector_id, (uscc, relation) in declared.items():
        person = listed[inspector_id]
        assert person.recusal_usccs == [uscc]
        assert [(r.uscc, r.relation) for r in person.recusals] == [(uscc, relation)]


async def test_search_and_entities_rpc(run_service: Any, tmp_path: Path) -> None:
    svc = await run_service(spec)
    out = io.StringIO()
    synthetic.write_entities(out, 300, seed=9)
    path = tmp_path / "entities.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    await http_import(svc, "entities", path)
    rows = [line.split(",") for line in out.getvalue().splitlines()[1:]]
    auth = svc.auth(Role.INSPECTOR, "SCJG")
    prefix = rows[0][1][:4]
    page = (
        await svc.http.get("/entities", params={"name_prefix": prefix, "limit": 1000}, headers=auth)
    ).json()
    assert {e["uscc"] for e in page["entities"]} == {r[0] for r in rows if r[1].startswith(prefix)}
    by_class = (
        await svc.http.get(
            "/entities", params={"region": "3602", "risk_class": "b", "limit": 5}, headers=auth
        )
    ).json()
    expected = sorted(r[0] for r in rows if r[3].startswith("3602") and r[7] == "B")
    assert expected and [e["uscc"] for e in by_class["entities"]] == expected[:5]
    reply = await svc.ctx.bus.request(
        subjects.rpc("registry", "entities"),
        EntitiesRequest(usccs=[rows[0][0], "91360202MA3500000A"]),
        EntitiesReply,
    )
    assert [e.uscc for e in reply.entities] == [rows[0][0]]
    assert reply.missing == ["91360202MA3500000A"]


async def test_writes_need_the_registry_owner_role(run_service: Any) -> None:
    svc = await run_service(spec)
    r = await svc.http.post(
        "/imports", json={"kind": "entities"}, headers=svc.auth(Role.PLANNER, "SCJG")
    )
    assert r.status_code == 403
    assert (await svc.http.post("/imports", json={"kind": "entities"})).status_code == 401


@pytest.mark.parametrize("first_load", [False, True])
async def test_plain_csv_chunks_give_exactly_the_row_by_row_results(
    run_service: Any, tmp_path: Path, monkeypatch: Any, first_load: bool
) -> None:
    # Plain chunks (field order, no quotes) are screened by column and loaded as text; the
    # rejects and the stored entities must be those of validating each row on its own, whether
    # the rows are inserted into the directory or build it whole (a first load).
    small_files_take_the_fast_paths(monkeypatch, first_load=first_load)

    def not_row_by_row(*args: Any) -> Any:
        raise AssertionError("a plain chunk was read row by row")

    monkeypatch.setattr(staging, "raw_rows", not_row_by_row)
    svc = await run_service(spec)
    out = io.StringIO()
    synthetic.write_entities(out, 3000, seed=17, bad=0.1)
    lines = out.getvalue().splitlines()
    code = [uscc_mod.make(f"91360202MA35{n:05d}") for n in range(8)]
    special = [
        entity_row(code[0], name=" 前后有空格的名称 "),  # trimmed by the validator
        entity_row(code[1].lower(), risk_class="b", abnormal="是"),  # normalised
        entity_row(code[2], tags="食品经营；食品经营;特种设备使用"),  # split, deduplicated
        entity_row(code[3], established="2020-02-30"),  # no such day
        entity_row(code[4], risk_class="A", risk_class_date=""),  # a class needs its date
        entity_row(code[5], address="地" * 301),  # too long
        entity_row(code[6][:17] + "0"),  # wrong check character (unless it was 0)
        entity_row(code[7], industry_code="c3074", status="吊销"),
    ]
    text = "\n".join(lines + [",".join(r) for r in special]) + "\n"
    assert staging.split_header(text.encode()) is not None
    path = tmp_path / "plain.csv"
    path.write_text(text, encoding="utf-8")
    result = await http_import(svc, "entities", path, rows_per_chunk=700)

    vocab = Vocabulary()
    expected_rejects: dict[int, list[dict[str, str]]] = {}
    by_code: dict[str, list[tuple[Any, ...]]] = {}
    for n, row in enumerate(list(csv.reader(io.StringIO(text)))[1:], start=2):
        record, errors = validate_entity(row, vocab)
        if record is None:
            expected_rejects[n] = [e.as_dict() for e in errors]
        else:
            by_code.setdefault(record[0], []).append(record)
    got = {r["line"]: r["errors"] for r in result["rejects"]}
    duplicated = {
        line for line, errors in got.items() if "more than once" in errors[0]["reason_en"]
    }
    assert {k: v for k, v in got.items() if k not in duplicated} == expected_rejects
    assert len(expected_rejects) > 100
    expected = {u: recs[0] for u, recs in by_code.items() if len(recs) == 1}
    assert result["accepted"] == len(expected) and result["duplicates"] == len(duplicated)
    async with svc.ctx.db.pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT {', '.join(ENTITY_FIELDS)} FROM entities")
    assert {r["uscc"]: tuple(r) for r in rows} == expected
    assert expected[code[1]][7] is not None and expected[code[2]][9] == ["食品经营", "特种设备使用"]


DEFINITION_SQL = """
SELECT 'column', attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull
       || ' ' || coalesce((SELECT collname FROM pg_collation WHERE oid = attcollation), '')
       || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE attrelid = 'entities'::regclass AND attnum > 0 AND NOT attisdropped
UNION ALL SELECT 'index', pg_get_indexdef(indexrelid) FROM pg_index
WHERE indrelid = 'entities'::regclass
UNION ALL SELECT 'constraint', conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = 'entities'::regclass
ORDER BY 1, 2
"""


@pytest.mark.parametrize("server", ["embedded", "external"])
async def test_first_load_builds_the_directory_with_its_definition(
    run_service: Any, tmp_path: Path, monkeypatch: Any, server: str
) -> None:
    # A first load replaces the empty entity table by one built whole: columns, NOT NULLs,
    # defaults, collations, keys and indexes must be those the migrations made, and later
    # imports and single upserts work on it as on the original.
    small_files_take_the_fast_paths(monkeypatch, first_load=True)
    # on the embedded PostgreSQL 18 and on the machine's own (15 here and on CI), whose
    # catalogues differ (NOT NULL constraints have names from 18 on)
    overrides = {}
    if server == "external":
        from tests.integration import conftest

        conftest._require_external()
        overrides["database_url"] = await conftest._fresh_database(conftest.EXTERNAL_PG)
    svc = await run_service(spec, **overrides)
    async with svc.ctx.db.pool.acquire() as conn:
        before = [tuple(r) for r in await conn.fetch(DEFINITION_SQL)]
    out = io.StringIO()
    synthetic.write_entities(out, 500, seed=5)
    path = tmp_path / "first.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    result = await http_import(svc, "entities", path, rows_per_chunk=200)
    assert result["accepted"] == 500 and result["changed"] == 500
    async with svc.ctx.db.pool.acquire() as conn:
        after = [tuple(r) for r in await conn.fetch(DEFINITION_SQL)]
        assert await conn.fetchval("SELECT count(*) FROM entities") == 500
        assert not await conn.fetchval(
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'entities_load%'"
        )
    assert after == before
    assert any("PRIMARY KEY" in r[1] for r in after) and any(
        "text_pattern_ops" in r[1] for r in after
    )
    # not empty any more: the same file again goes the ordinary way and changes nothing
    again = await http_import(svc, "entities", path, rows_per_chunk=200)
    assert again["changed"] == 0 and again["accepted"] == 500


@pytest.mark.parametrize("plain", [True, False])
async def test_a_chunk_that_is_not_utf8_is_refused_and_stages_nothing(
    run_service: Any, monkeypatch: Any, plain: bool
) -> None:
    small_files_take_the_fast_paths(monkeypatch, first_load=None)
    svc = await run_service(spec)
    auth = svc.auth(Role.REGISTRY_OWNER)
    r = await svc.http.post("/imports", json={"kind": "entities", "source": "x.csv"}, headers=auth)
    import_id = r.json()["import_id"]
    good = ",".join(entity_row("91360202MA3500000A", abnormal="0", industry_code="C3074"))
    bad = good.replace("景德镇", "景德镇\udcff").encode("utf-8", "surrogateescape")
    if not plain:
        bad = bad.replace("昌江区".encode(), '"昌江区"'.encode())  # a quote: not plain
    body = ",".join(ENTITY_FIELDS).encode() + b"\n" + good.encode() + b"\n" + bad + b"\n"
    r = await svc.http.post(
        f"/imports/{import_id}/chunks/0", params={"first_line": 2}, content=body, headers=auth
    )
    assert r.status_code == 422, r.text
    assert "UTF-8" in r.json()["error"]["message"]
    r = await svc.http.post(f"/imports/{import_id}/commit", headers=auth)
    assert r.status_code == 200 and r.json()["accepted"] == 0, r.text


@pytest.mark.parametrize("first_load", [False, True])
async def test_duplicates_in_plain_chunks_are_reported_at_their_file_lines(
    run_service: Any, tmp_path: Path, monkeypatch: Any, first_load: bool
) -> None:
    # Lines of a plain chunk are numbered by their place in the chunk, suspect lines (sent to
    # the validator) included: a duplicate after a suspect line must still be reported at the
    # line it is on in the file.
    small_files_take_the_fast_paths(monkeypatch, first_load=first_load)
    svc = await run_service(spec)
    out = io.StringIO()
    synthetic.write_entities(out, 300, seed=23)
    lines = out.getvalue().splitlines()
    assert staging.split_header(out.getvalue().encode()) is not None
    lines[10] = lines[10].replace(",0,", ",否,", 1) if ",0," in lines[10] else lines[10] + "x"
    lines.insert(250, lines[40])  # file line 251 repeats file line 41
    lines.insert(120, lines[200])  # file line 121 repeats file line 201 (202 after insertion)
    path = tmp_path / "dups.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = await http_import(svc, "entities", path, rows_per_chunk=100)
    dup_lines = sorted(
        r["line"] for r in result["rejects"] if "more than once" in r["errors"][0]["reason_en"]
    )
    assert dup_lines == [41, 121, 202, 252]
    assert result["duplicates"] == 4


async def _entity_oid(svc: Any) -> int:
    async with svc.ctx.db.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT 'entities'::regclass::oid"))


async def test_a_first_load_gives_way_to_a_writer_and_to_grants(
    run_service: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    # A first load swaps a new table in (the table's oid changes). When an entity arrives
    # while it is being built, or when `entity` carries grants a new table would lack, the
    # rows go in the ordinary way (same table) — and all of them go in.
    small_files_take_the_fast_paths(monkeypatch, first_load=True)
    svc = await run_service(spec)
    out = io.StringIO()
    synthetic.write_entities(out, 300, seed=31)
    path = tmp_path / "first.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    built = bulk.build
    newcomer = entity_row("91360202MA3500000A", abnormal="0", industry_code="C3074")

    async def build_then_a_registration(*args: Any, **kwargs: Any) -> Any:
        result = await built(*args, **kwargs)
        record, _ = validate_entity(newcomer, Vocabulary())
        assert record is not None
        async with svc.ctx.db.transaction() as conn:
            await store.upsert_entity(conn, record, datetime.now(UTC))
        return result

    monkeypatch.setattr(bulk, "build", build_then_a_registration)
    oid = await _entity_oid(svc)
    result = await http_import(svc, "entities", path, rows_per_chunk=100)
    assert result["accepted"] == 300 and result["changed"] == 300
    assert await _entity_oid(svc) == oid
    async with svc.ctx.db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM entities") == 301
        assert not await conn.fetchval(
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'entities_load%'"
        )
        await conn.execute("TRUNCATE entities; GRANT SELECT ON entities TO PUBLIC")
    monkeypatch.setattr(bulk, "build", built)
    assert not await _check_can_rebuild(svc)
    result = await http_import(svc, "entities", path, rows_per_chunk=100)
    assert result["changed"] == 300 and await _entity_oid(svc) == oid
    async with svc.ctx.db.pool.acquire() as conn:
        await conn.execute("REVOKE SELECT ON entities FROM PUBLIC; TRUNCATE entities")
    assert await _check_can_rebuild(svc)
    result = await http_import(svc, "entities", path, rows_per_chunk=100)
    assert result["changed"] == 300 and await _entity_oid(svc) != oid


async def _check_can_rebuild(svc: Any) -> bool:
    async with svc.ctx.db.pool.acquire() as conn:
        return await bulk.can_rebuild(conn)


async def test_staged_rows_lost_in_a_restart_are_not_committed_as_if_applied(
    run_service: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    # Staging tables are UNLOGGED: a crash restart of PostgreSQL empties them. The commit
    # must say so and apply nothing, not report the rows as accepted.
    small_files_take_the_fast_paths(monkeypatch, first_load=None)
    svc = await run_service(spec)
    out = io.StringIO()
    synthetic.write_entities(out, 50, seed=37)
    path = tmp_path / "lost.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    staged = await http_import(svc, "entities", path, rows_per_chunk=20, commit=False)
    import_id = staged["import_id"]
    async with svc.ctx.db.pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT relname FROM pg_class WHERE relname LIKE $1 AND relkind = 'r'",
            f"staged_rows_{import_id}%",
        )
        assert len(tables) == 4  # the typed table and three chunk tables
        for t in tables:
            await conn.execute(f"TRUNCATE {t['relname']}")  # what a crash restart does
    auth = svc.auth(Role.REGISTRY_OWNER)
    r = await svc.http.post(f"/imports/{import_id}/commit", headers=auth)
    assert r.status_code == 409 and "send the file again" in r.json()["error"]["message"]
    async with svc.ctx.db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM entities") == 0


async def test_chunk_numbers_are_checked(run_service: Any) -> None:
    svc = await run_service(spec)
    auth = svc.auth(Role.REGISTRY_OWNER)
    r = await svc.http.post("/imports", json={"kind": "entities", "source": "x.csv"}, headers=auth)
    import_id = r.json()["import_id"]
    for bad in ("-1", "100001"):
        r = await svc.http.post(
            f"/imports/{import_id}/chunks/{bad}", content=b"uscc\n", headers=auth
        )
        assert r.status_code == 422, r.text
