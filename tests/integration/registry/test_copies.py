"""Two registry copies on one NATS and one PostgreSQL (DESIGN §11, issue 18).

An import job lives in PostgreSQL (its run, its chunks' staging tables), not in the copy that
opened it: opened on one copy, its chunks sent through both, committed on the other, every row
is applied once. Two commits of one job at once on the two copies: one applies it, the other
is refused at once (`409 import_committing`); a commit sent after it is done answers the same
summary. Nothing is applied twice.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest

from contracts.common import Role
from services.registry.app import spec
from services.registry.domain import synthetic
from services.registry.store.staging import staging_lock
from spotcheck.commands.registry import chunks, file_format
from tests.waiting import eventually


@pytest.fixture
async def copies(run_service: Any, monkeypatch: Any) -> list[Any]:
    # Staged in the service processes, both ways a chunk can take (see test_import.py).
    monkeypatch.setenv("SPOTCHECK_REGISTRY_IMPORT_WORKERS", "0")
    return [await run_service(spec), await run_service(spec)]


def _entities_file(path: Path, count: int, *, seed: int, renamed: bool = False) -> Path:
    """`count` synthetic entities; `renamed`: the same ones, each with a new name."""
    out = io.StringIO()
    synthetic.write_entities(out, count, seed=seed)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    name = rows[0].index("name")
    if renamed:
        for row in rows[1:]:
            row[name] += "（更名）"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


async def _open_and_load(
    copies: list[Any], path: Path, *, rows_per_chunk: int, keep_last: bool = False
) -> str:
    """Open on copy 1, send chunk i through copy i mod 2 (all at once; `keep_last`: all but
    the last); the import id."""
    auth = copies[0].auth(Role.REGISTRY_OWNER)
    r = await copies[0].http.post(
        "/imports", json={"kind": "entities", "source": path.name}, headers=auth
    )
    assert r.status_code == 201, r.text
    import_id: str = r.json()["import_id"]
    answers = await asyncio.gather(
        *(
            copies[chunk.number % 2].http.post(
                f"/imports/{import_id}/chunks/{chunk.number}",
                params={"first_line": chunk.first_line, "format": file_format(path)},
                content=chunk.data,
                headers=auth,
            )
            for chunk in list(chunks(path, rows_per_chunk))[: -1 if keep_last else None]
        )
    )
    assert len(answers) >= 3
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    return import_id


async def _counts(svc: Any, import_id: str) -> tuple[int, int, int]:
    """(entities, entity history rows, audit entries of the import)."""
    async with svc.ctx.db.pool.acquire() as conn:
        return (
            await conn.fetchval("SELECT count(*) FROM entities"),
            await conn.fetchval("SELECT count(*) FROM entity_history"),
            await conn.fetchval("SELECT count(*) FROM audit_log WHERE subject = $1", import_id),
        )


async def test_an_import_opened_on_one_copy_is_loaded_through_both_and_committed_on_the_other(
    copies: list[Any], tmp_path: Path
) -> None:
    one, two = copies
    path = _entities_file(tmp_path / "entities.csv", 400, seed=23)
    import_id = await _open_and_load(copies, path, rows_per_chunk=50)
    auth = two.auth(Role.REGISTRY_OWNER)
    r = await two.http.post(f"/imports/{import_id}/commit", headers=auth)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["accepted"] == 400 and summary["rejected"] == 0, summary
    assert await _counts(one, import_id) == (400, 0, 1)
    # A chunk sent after the commit, through either copy, is refused, and changes nothing.
    for svc in copies:
        r = await svc.http.post(
            f"/imports/{import_id}/chunks/99", content=path.read_bytes(), headers=auth
        )
        assert r.status_code == 409 and r.json()["error"]["code"] == "import_committed", r.text
    # The commit sent again through copy 1 answers the same summary; nothing applied again.
    r = await one.http.post(f"/imports/{import_id}/commit", headers=auth)
    assert r.status_code == 200 and r.json()["accepted"] == 400, r.text
    assert await _counts(two, import_id) == (400, 0, 1)


async def test_two_commits_of_one_import_at_once_on_two_copies_apply_it_once(
    copies: list[Any], tmp_path: Path
) -> None:
    one, two = copies
    first = _entities_file(tmp_path / "first.csv", 300, seed=29)
    auth = one.auth(Role.REGISTRY_OWNER)
    import_id = await _open_and_load(copies, first, rows_per_chunk=50)
    r = await one.http.post(f"/imports/{import_id}/commit", headers=auth)
    assert r.status_code == 200, r.text
    # A second import of the same entities, every one changed: each commit would keep one
    # history version per row, so a doubled apply would show.
    second = _entities_file(tmp_path / "second.csv", 300, seed=29, renamed=True)
    import_id = await _open_and_load(copies, second, rows_per_chunk=50)
    answers = list(
        await asyncio.gather(
            *(svc.http.post(f"/imports/{import_id}/commit", headers=auth) for svc in copies)
        )
    )
    # Both requests overlap (the commit of 300 changed rows outlasts the other's first
    # query), so the second finds the first at work: a conflict, not a wait.
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    done, refused = sorted(answers, key=lambda a: a.status_code)
    error = refused.json()["error"]
    assert error["code"] == "import_committing" and import_id in error["message"], error
    assert (done.json()["accepted"], done.json()["changed"]) == (300, 300)
    assert await _counts(two, import_id) == (300, 300, 1)
    r = await two.http.post(f"/imports/{import_id}/commit", headers=auth)
    assert r.status_code == 200 and r.json()["changed"] == 300, r.text
    assert await _counts(one, import_id) == (300, 300, 1)


async def test_a_chunk_sent_while_its_import_is_committed_is_refused_not_lost(
    copies: list[Any], tmp_path: Path
) -> None:
    """A commit waits for the chunks being staged and refuses new ones until it ends: a chunk
    either counts or is refused, never answered 200 and then left out."""
    one, two = copies
    path = _entities_file(tmp_path / "entities.csv", 200, seed=31)
    import_id = await _open_and_load(copies, path, rows_per_chunk=50, keep_last=True)
    last = list(chunks(path, 50))[-1]
    auth = one.auth(Role.REGISTRY_OWNER)

    async def send_last(svc: Any) -> Any:
        return await svc.http.post(
            f"/imports/{import_id}/chunks/{last.number}",
            params={"first_line": last.first_line, "format": file_format(path)},
            content=last.data,
            headers=auth,
        )

    async with one.ctx.db.pool.acquire() as conn, conn.transaction():
        # A chunk being staged holds this lock shared until its transaction ends.
        await conn.execute(
            "SELECT pg_advisory_xact_lock_shared(hashtext($1))", staging_lock(import_id)
        )
        commit = asyncio.create_task(two.http.post(f"/imports/{import_id}/commit", headers=auth))

        async def commit_waits() -> bool:
            n: int = await one.ctx.db.pool.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            return n == 1

        await eventually(commit_waits, what="the commit waiting for the chunk in flight")
        for svc in copies:
            r = await send_last(svc)
            assert r.status_code == 409, r.text
            error = r.json()["error"]
            assert error["code"] == "import_committing" and import_id in error["message"]
        assert not commit.done()
    r = await commit
    assert r.status_code == 200 and r.json()["accepted"] == 150, r.text
    assert await _counts(one, import_id) == (150, 0, 1)
    r = await send_last(two)
    assert r.status_code == 409 and r.json()["error"]["code"] == "import_committed", r.text
    assert await _counts(two, import_id) == (150, 0, 1)
