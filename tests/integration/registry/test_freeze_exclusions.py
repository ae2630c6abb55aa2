"""Large exclusion lists named as objects of the snapshots bucket (`StratumSpec.exclude_object`)."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contracts import subjects
from contracts.registry import (
    ACTIVE_STATUSES,
    EntityFilter,
    FreezeReply,
    FreezeRequest,
    StratumSpec,
)
from services.kit.errors import DomainError
from services.registry.app import spec
from services.registry.domain import uscc as uscc_mod
from services.registry.store import filters as sqlfilter

from .test_freeze_and_events import _expected, _load

EXCLUDED = 200_000


def _random_usccs(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    alphabet = uscc_mod.ALPHABET
    return [
        uscc_mod.make("9" + "1" + "350100" + "".join(rnd.choice(alphabet) for _ in range(9)))
        for _ in range(n)
    ]


@pytest.mark.parametrize("branches", ["shared", "per-row"])
async def test_exclusion_objects_are_read_once_and_applied_to_every_stratum_naming_them(
    run_service: Any, tmp_path: Path, monkeypatch: Any, branches: str
) -> None:
    if branches == "per-row":
        # strata conditions checked per joined row instead of once per entity
        monkeypatch.setattr(sqlfilter, "MAX_BRANCHES", 0)
    svc = await run_service(spec)
    rows = await _load(svc, tmp_path, n=1200)
    in_36 = sorted(r["uscc"] for r in rows if r["region_code"].startswith("3601"))
    window = set(in_36[::3])  # a third of Nanchang's entities were inspected recently
    others = _random_usccs(EXCLUDED - len(window), seed=7)
    lines = sorted(window) + others
    random.Random(1).shuffle(lines)
    # as a spreadsheet might write it: CRLF, lower case, blank lines, surrounding spaces
    text = "\r\n".join(u.lower() if i % 7 == 0 else f" {u} " for i, u in enumerate(lines))
    body = (text + "\r\n\r\n").encode()
    obs = await svc.ctx.bus.object_store(subjects.SNAPSHOTS_BUCKET)
    await obs.put("windows/2026-h1.txt", body)
    inline = {in_36[1], in_36[2]}
    strata = [
        StratumSpec(
            stratum_id="A.3601",
            filter=EntityFilter(
                region_prefixes=["3601"],
                risk_classes=["A", "B"],
                exclude_key_supervision_labels=["药品", "危险化学品"],
            ),
            exclude_object="windows/2026-h1.txt",
        ),
        StratumSpec(
            stratum_id="CD.3601",
            filter=EntityFilter(
                region_prefixes=["3601"], risk_classes=["C", "D"], exclude_key_supervision=True
            ),
            exclude_object="windows/2026-h1.txt",
            exclude_usccs=sorted(inline),
        ),
        StratumSpec(
            stratum_id="all.3601", filter=EntityFilter(region_prefixes=["3601"], statuses=[])
        ),
    ]
    reply = await svc.ctx.bus.request(
        subjects.rpc("registry", "freeze"),
        FreezeRequest(request_id=f"excl-{branches}", strata=strata),
        FreezeReply,
        timeout=60,
    )

    def keep(
        classes: str,
        statuses: tuple[str, ...] = ACTIVE_STATUSES,
        key_out: Callable[[str], bool] = lambda key: False,
    ) -> Any:
        return lambda r: (
            not key_out(r["key_supervision"])
            and r["region_code"].startswith("3601")
            and (not classes or r["risk_class"] in classes)
            and (not statuses or r["status"] in statuses)
        )

    expected = {
        # only the named labels leave (the generator writes at most one label per entity)
        "A.3601": _expected(
            rows, keep("AB", key_out=lambda k: k in ("药品", "危险化学品")), window
        ),
        # the old flag: any label leaves
        "CD.3601": _expected(rows, keep("CD", key_out=bool), window | inline),
        "all.3601": _expected(rows, keep("", ())),
    }
    # labelled entities are there to be kept and to be left out
    labelled = [r for r in rows if r["region_code"].startswith("3601") and r["key_supervision"]]
    assert {r["key_supervision"] for r in labelled} - {"药品", "危险化学品"}
    got = {s.stratum_id: s for s in reply.strata}
    for sid, (n, sha, text_) in expected.items():
        assert n > 0
        assert (got[sid].n, got[sid].candidates_sha256) == (n, sha), sid
        r = await svc.http.get(f"/snapshots/{reply.snapshot_id}/strata/{sid}.txt")
        assert r.content == text_
        assert hashlib.sha256((await obs.get(got[sid].object_name)).data).hexdigest() == sha
    # the exclusions really removed candidates, and the audit entry names the object once
    assert got["A.3601"].n + got["CD.3601"].n < expected["all.3601"][0]
    async with svc.ctx.db.pool.acquire() as conn:
        data = await conn.fetchval(
            "SELECT data FROM audit_log WHERE action = 'registry.snapshot.frozen'"
        )
        leftovers = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'freeze\\_%'"
        )
    assert data["exclusion_objects"] == [["windows/2026-h1.txt", EXCLUDED]]
    assert leftovers == 0


async def test_a_missing_or_malformed_exclusion_object_refuses_the_freeze(
    run_service: Any, tmp_path: Path
) -> None:
    svc = await run_service(spec)
    await _load(svc, tmp_path, n=50)
    obs = await svc.ctx.bus.object_store(subjects.SNAPSHOTS_BUCKET)
    await obs.put("bad.txt", io.BytesIO(b"91360202MA3500000A\nnot a code\n").read())
    for name, reason in (("missing.txt", "no object"), ("bad.txt", "is not a USCC")):
        req = FreezeRequest(
            request_id=f"r-{name}",
            strata=[StratumSpec(stratum_id="s", filter=EntityFilter(), exclude_object=name)],
        )
        with pytest.raises(DomainError, match=reason):
            await svc.ctx.bus.request(
                subjects.rpc("registry", "freeze"), req, FreezeReply, timeout=60
            )
    async with svc.ctx.db.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM snapshots") == 0
