"""Freeze, stats and risk-class events against real NATS and PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from contracts import subjects
from contracts.common import Role
from contracts.registry import (
    ACTIVE_STATUSES,
    EntityFilter,
    EntityRecord,
    FreezeReply,
    FreezeRequest,
    RiskClassFullPush,
    RiskClassUpdated,
    StatsReply,
    StatsRequest,
    StratumSpec,
)
from services.registry.app import spec
from services.registry.domain import synthetic
from services.registry.store import risk as store

from .helpers import http_import, wait_for


async def _load(svc: Any, tmp_path: Path, n: int = 1500) -> list[dict[str, str]]:
    out = io.StringIO()
    synthetic.write_entities(out, n, seed=21)
    path = tmp_path / "entities.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    result = await http_import(svc, "entities", path, rows_per_chunk=1000)
    assert result["accepted"] == n
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def _expected(
    rows: list[dict[str, str]], keep: Any, exclude: set[str] | frozenset[str] = frozenset()
) -> tuple[int, str, bytes]:
    """The commitment computed independently: filter, sort by bytes, hash the lines."""
    usccs = sorted(
        {r["uscc"] for r in rows if keep(r) and r["uscc"] not in exclude}, key=str.encode
    )
    text = "".join(u + "\n" for u in usccs).encode()
    return len(usccs), hashlib.sha256(text).hexdigest(), text


async def test_freeze_commitments_match_an_independent_computation(
    run_service: Any, tmp_path: Path
) -> None:
    svc = await run_service(spec)
    rows = await _load(svc, tmp_path)
    excluded = {r["uscc"] for r in rows[:40]}
    strata = [
        StratumSpec(
            stratum_id="2026.SCJG-001.B.3602",
            filter=EntityFilter(
                region_prefixes=["3602"],
                risk_classes=["B"],
                exclude_key_supervision_labels=["食品生产"],
            ),
            exclude_usccs=sorted(excluded),
        ),
        StratumSpec(
            stratum_id="2026.SCJG-002.F52",
            filter=EntityFilter(industry_prefixes=["F52"], statuses=["存续", "在业"]),
        ),
        StratumSpec(
            stratum_id="2026.SCJG-003.food",
            filter=EntityFilter(
                region_prefixes=["36", "3601"],  # 3601 lies inside 36: no double counting
                tags_any=["食品经营"],
                exclude_abnormal=True,
                exclude_key_supervision=True,  # the old flag: any label leaves
            ),
        ),
        StratumSpec(stratum_id="2026.empty", filter=EntityFilter(region_prefixes=["11"])),
        StratumSpec(
            stratum_id="2026.AB.two-kinds",
            filter=EntityFilter(
                region_prefixes=["3601", "3607"],
                risk_classes=["A", "B"],
                entity_types=["企业", "个体工商户"],
            ),
        ),
    ]
    req = FreezeRequest(request_id="plan-42-v1", strata=strata)
    reply = await svc.ctx.bus.request(
        subjects.rpc("registry", "freeze"), req, FreezeReply, timeout=60
    )

    def base(r: dict[str, str], leave: tuple[str, ...] = ()) -> bool:
        # key supervision keeps an entity out of the strata naming its label only
        return r["key_supervision"] not in leave

    expectations = {
        "2026.SCJG-001.B.3602": _expected(
            rows,
            lambda r: (
                base(r, ("食品生产",))
                and r["region_code"].startswith("3602")
                and r["risk_class"] == "B"
                and r["status"] in ACTIVE_STATUSES
            ),
            excluded,
        ),
        "2026.SCJG-002.F52": _expected(
            rows,
            lambda r: (
                base(r) and r["industry_code"].startswith("F52") and r["status"] in ("存续", "在业")
            ),
        ),
        "2026.SCJG-003.food": _expected(
            rows,
            lambda r: (
                not r["key_supervision"]
                and "食品经营" in r["tags"].split(";")
                and r["abnormal"] == "0"
                and r["status"] in ACTIVE_STATUSES
            ),
        ),
        "2026.empty": (0, hashlib.sha256(b"").hexdigest(), b""),
        "2026.AB.two-kinds": _expected(
            rows,
            lambda r: (
                base(r)
                and r["region_code"][:4] in ("3601", "3607")
                and r["risk_class"] in ("A", "B")
                and r["entity_type"] in ("企业", "个体工商户")
                and r["status"] in ACTIVE_STATUSES
            ),
        ),
    }
    got = {s.stratum_id: s for s in reply.strata}
    assert set(got) == set(expectations)
    obs = await svc.ctx.bus.js.object_store(subjects.SNAPSHOTS_BUCKET)
    for sid, (n, sha, text) in expectations.items():
        assert (got[sid].n, got[sid].candidates_sha256) == (n, sha), sid
        assert n > 0 or sid == "2026.empty"
        r = await svc.http.get(f"/snapshots/{reply.snapshot_id}/strata/{sid}.txt")  # public
        assert r.status_code == 200
        assert r.content == text
        obj = await obs.get(got[sid].object_name)
        assert obj.data == text

    async with svc.ctx.db.pool.acquire() as conn:
        audit = await conn.fetch("SELECT action, subject FROM audit_log ORDER BY seq")
    assert ("registry.snapshot.frozen", reply.snapshot_id) in [tuple(a) for a in audit]

    # the same request id gives the same snapshot, even after the directory changed
    # (reclassified through the registry's own write path, which keeps the history)
    async with svc.ctx.db.transaction() as conn:
        at = await conn.fetchval("SELECT clock_timestamp()")
        for u in await conn.fetch("SELECT uscc FROM entities WHERE risk_class = 'B'"):
            await store.set_risk_class(conn, u["uscc"], "D", date(2099, 1, 1), at)
    again = await svc.ctx.bus.request(
        subjects.rpc("registry", "freeze"), req, FreezeReply, timeout=60
    )
    assert again == reply
    # and a new freeze "as of" the first one reproduces its candidates from the history
    async with svc.ctx.db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM entities WHERE risk_class = 'B'") == 0
    replay = await svc.ctx.bus.request(
        subjects.rpc("registry", "freeze"),
        FreezeRequest(request_id="replay", strata=strata, as_of=reply.as_of),
        FreezeReply,
        timeout=60,
    )
    assert [(s.stratum_id, s.n, s.candidates_sha256) for s in replay.strata] == [
        (s.stratum_id, s.n, s.candidates_sha256) for s in reply.strata
    ]
    # frozen lists are immutable
    async with svc.ctx.db.pool.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError, match="immutable"):
            await conn.execute("DELETE FROM snapshot_blocks")


async def test_stats_groups(run_service: Any, tmp_path: Path) -> None:
    svc = await run_service(spec)
    rows = await _load(svc, tmp_path, n=800)
    reply = await svc.ctx.bus.request(
        subjects.rpc("registry", "stats"),
        StatsRequest(
            group_by=["risk_class", "industry"],
            filter=EntityFilter(statuses=[]),
            industry_prefix_len=1,
        ),
        StatsReply,
    )
    assert reply.total == 800
    expected: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r["risk_class"], r["industry_code"][0])
        expected[key] = expected.get(key, 0) + 1
    got = {(g.key["risk_class"], g.key["industry"]): g.count for g in reply.groups}
    assert got == expected
    tags = await svc.ctx.bus.request(
        subjects.rpc("registry", "stats"),
        StatsRequest(group_by=["tag"], filter=EntityFilter(tags_any=["食品经营"])),
        StatsReply,
    )
    food = {g.key["tag"]: g.count for g in tags.groups}["食品经营"]
    assert food == tags.total > 0


async def _entity(svc: Any, uscc: str) -> dict[str, Any]:
    r = await svc.http.get(f"/entities/{uscc}", headers=svc.auth(Role.AUDITOR))
    body: dict[str, Any] = r.json()["entity"]
    return body


async def test_risk_class_events_single_and_full_push(run_service: Any, tmp_path: Path) -> None:
    svc = await run_service(
        spec,
    )
    rows = await _load(svc, tmp_path, n=60)
    bus = svc.ctx.bus
    target = rows[0]["uscc"]
    new_class = "A" if rows[0]["risk_class"] != "A" else "D"
    await bus.publish_event(
        subjects.CREDIT_RISK_CLASS_UPDATED,
        RiskClassUpdated(uscc=target, risk_class=new_class, effective_date=date(2026, 6, 1)),
    )

    async def single_applied() -> bool:
        return bool((await _entity(svc, target))["risk_class"] == new_class)

    await wait_for(single_applied)
    # an unknown class is refused: nothing changes
    await bus.publish_event(
        subjects.CREDIT_RISK_CLASS_UPDATED,
        RiskClassUpdated(uscc=target, risk_class="E", effective_date=date(2026, 7, 1)),
    )
    # a full push in two chunks, applied when complete
    usccs = [r["uscc"] for r in rows]
    classes = ["A", "B", "C", "D"]
    items = [
        RiskClassUpdated(uscc=u, risk_class=classes[i % 4], effective_date=date(2026, 8, 1))
        for i, u in enumerate(usccs[:50])
    ]
    for n, part in enumerate((items[:25], items[25:])):
        await bus.publish_event(
            subjects.CREDIT_RISK_CLASS_FULL,
            RiskClassFullPush(
                push_id="push-2026-08",
                chunk=n,
                total_chunks=2,
                effective_date=date(2026, 8, 1),
                items=part,
            ),
        )

    async def push_applied() -> bool:
        async with svc.ctx.db.pool.acquire() as conn:
            return bool(
                await conn.fetchval("SELECT state FROM risk_pushes WHERE push_id = 'push-2026-08'")
            )

    await wait_for(push_applied)
    async with svc.ctx.db.pool.acquire() as conn:
        state = dict(await conn.fetch("SELECT uscc, risk_class FROM entities"))
        dates = set(await conn.fetchval("SELECT array_agg(DISTINCT risk_class_date) FROM entities"))
        actions = [
            r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY seq")
        ]
    assert {u: state[u] for u in usccs[:50]} == {i.uscc: i.risk_class for i in items}
    assert all(state[u] is None for u in usccs[50:])  # missing from a full push: unclassified
    assert dates == {date(2026, 8, 1), None}
    assert actions.count("registry.risk_class.updated") == 1  # the class E event was refused
    assert "registry.risk_class.full_push" in actions

    # a full push naming an unknown class is refused as a whole
    bad = [RiskClassUpdated(uscc=usccs[0], risk_class="Z", effective_date=date(2026, 9, 1))]
    await bus.publish_event(
        subjects.CREDIT_RISK_CLASS_FULL,
        RiskClassFullPush(
            push_id="push-bad", chunk=0, total_chunks=1, effective_date=date(2026, 9, 1), items=bad
        ),
    )

    async def refused() -> bool:
        async with svc.ctx.db.pool.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT state = 'refused' FROM risk_pushes WHERE push_id = 'push-bad'"
                )
            )

    await wait_for(refused)
    async with svc.ctx.db.pool.acquire() as conn:
        assert dict(await conn.fetch("SELECT uscc, risk_class FROM entities")) == state


async def test_classes_are_configuration(
    run_service: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("SPOTCHECK_REGISTRY_RISK_CLASSES", "A,B,C,D,E")
    svc = await run_service(spec)
    assert (await svc.http.get("/config/risk-classes")).json() == {
        "risk_classes": ["A", "B", "C", "D", "E"]
    }
    rows = await _load(svc, tmp_path, n=5)
    await svc.ctx.bus.publish_event(
        subjects.CREDIT_RISK_CLASS_UPDATED,
        RiskClassUpdated(uscc=rows[0]["uscc"], risk_class="E", effective_date=date(2026, 6, 1)),
    )

    async def applied() -> bool:
        return bool((await _entity(svc, rows[0]["uscc"]))["risk_class"] == "E")

    await wait_for(applied)


async def test_entity_upsert_event(run_service: Any) -> None:
    svc = await run_service(spec)
    record = EntityRecord(
        uscc="91360202MA3500000A",
        name="新开业的店",
        entity_type="个体工商户",
        region_code="360202",
        industry_code="F5221",
        risk_class=None,
        tags=["食品经营"],
    )
    await svc.ctx.bus.publish_event(subjects.event("registry", "entity.upsert"), record)
    bad = record.model_copy(update={"uscc": "91360202MA35000001", "region_code": "999999"})
    await svc.ctx.bus.publish_event(subjects.event("registry", "entity.upsert"), bad)

    async def stored() -> bool:
        r = await svc.http.get(f"/entities/{record.uscc}", headers=svc.auth(Role.AUDITOR))
        return bool(r.status_code == 200)

    await wait_for(stored)
    r = await svc.http.get("/entities/91360202MA35000001", headers=svc.auth(Role.AUDITOR))
    assert r.status_code == 404
