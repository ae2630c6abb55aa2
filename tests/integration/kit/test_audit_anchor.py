"""The audit chain is anchored on the AUDIT stream (deny delete, deny purge): `/audit/verify`
compares the chain in PostgreSQL with its copy there and names the first entry rewritten (with
its hash recomputed, which the chain alone cannot tell) or missing (the last one deleted)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from contracts.common import Role
from services.kit.audit import AuditHead, AuditTrail
from services.kit.bus import Bus
from services.kit.chain import Entry
from services.kit.db import Database
from services.kit.errors import TemporaryError
from services.kit.service import ServiceSpec
from tests.integration.publisher.test_nats_accounts import PASSWORDS, accounts_server

__all__ = ["accounts_server"]  # the fixture: deploy/nats/accounts.conf on a real nats-server


def _spec(tmp_path: Path) -> ServiceSpec[None]:
    return ServiceSpec(
        name="draw", migrations=tmp_path, build=lambda ctx: None, routers=lambda ctx, _: []
    )


async def _service_with_copied_chain(run_service: Any, tmp_path: Path, n: int) -> Any:
    """The service with `n` entries in its chain, every one of them copied to the stream."""
    svc = await run_service(lambda: _spec(tmp_path))
    # The background relay stopped: the test copies the chain itself, so no head of an earlier
    # batch from the relay can land after the test's own.
    await svc.ctx.audit.stop()
    for i in range(n):
        async with svc.ctx.db.transaction() as conn:
            await svc.ctx.audit.append(
                conn, actor="officer", action="draw.seeded", subject=f"D-{i}", data={"i": i}
            )
    while await svc.ctx.audit.publish_pending():
        pass
    assert await svc.ctx.db.pool.fetchval("SELECT bool_and(published) FROM audit_log")
    return svc


async def _verify(svc: Any) -> dict[str, Any]:
    r = await svc.http.get("/audit/verify", headers=svc.auth(Role.AUDITOR))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_clean_chain_verifies_against_its_copy_and_head(
    run_service: Any, tmp_path: Path
) -> None:
    svc = await _service_with_copied_chain(run_service, tmp_path, 5)
    assert await _verify(svc) == {
        "service": "draw",
        "ok": True,
        "entries": 5,
        "anchored": 5,
        "head": 5,
    }
    raw = await svc.ctx.bus.js.get_last_msg("AUDIT", "spotcheck.v1.audit.draw.head")
    head = AuditHead.model_validate_json(raw.data)
    last = (await svc.ctx.audit.entries())[-1]
    assert (head.service, head.seq, head.sha256) == ("draw", 5, last.sha256)


async def test_the_head_is_published_after_each_batch_and_again_when_due(
    run_service: Any, tmp_path: Path
) -> None:
    svc = await _service_with_copied_chain(run_service, tmp_path, 2)
    # Another copy of the service (its relay not started), on the same chain.
    trail = AuditTrail(service="draw", db=svc.ctx.db, bus=svc.ctx.bus, head_every_s=3600)
    heads: list[int] = []
    publish = trail.publish_head

    async def recorded(seq: int, sha256: str) -> None:
        heads.append(seq)
        await publish(seq, sha256)

    trail.publish_head = recorded  # type: ignore[method-assign]
    assert await trail.publish_pending() == 0 and heads == [2]  # at start: the current head
    assert await trail.publish_pending() == 0 and heads == [2]  # not due again yet
    async with svc.ctx.db.transaction() as conn:
        await trail.append(conn, actor="a", action="b", subject="c")
    assert await trail.publish_pending() == 1 and heads == [2, 3]  # after a batch
    trail.head_every_s = 0.0
    assert await trail.publish_pending() == 0 and heads == [2, 3, 3]  # due: the same head


async def test_a_run_rewritten_with_recomputed_hashes_is_named(
    run_service: Any, tmp_path: Path
) -> None:
    svc = await _service_with_copied_chain(run_service, tmp_path, 6)
    entries = await svc.ctx.audit.entries()
    # An insider rewrites entries 3… in PostgreSQL and recomputes every hash after them.
    prev = entries[1].sha256
    async with svc.ctx.db.transaction() as conn:
        for e in entries[2:]:
            forged: Entry = replace(e, actor="someone else", prev_sha256=prev)
            forged = replace(forged, sha256=forged.digest())
            await conn.execute(
                "UPDATE audit_log SET actor = $2, prev_sha256 = $3, sha256 = $4 WHERE seq = $1",
                e.seq,
                forged.actor,
                forged.prev_sha256,
                forged.sha256,
            )
            prev = forged.sha256
    # The chain alone holds together…
    alone = AuditTrail(service="draw", db=svc.ctx.db, bus=None)
    assert (await alone.verify()).broken is None
    # …its copy does not.
    report = await _verify(svc)
    assert report["ok"] is False and report["broken_at"] == 3 and report["kind"] == "rewritten"
    assert report["reason"].endswith("fields: actor, sha256"), report


async def test_a_deleted_last_entry_is_named_as_missing(run_service: Any, tmp_path: Path) -> None:
    svc = await _service_with_copied_chain(run_service, tmp_path, 5)
    await svc.ctx.db.pool.execute("DELETE FROM audit_log WHERE seq = 5")
    alone = AuditTrail(service="draw", db=svc.ctx.db, bus=None)
    assert (await alone.verify()).broken is None  # the chain alone cannot tell
    report = await _verify(svc)
    assert report["ok"] is False and report["broken_at"] == 5 and report["kind"] == "missing"
    assert "entry 5 is missing from PostgreSQL" in report["reason"]
    assert report["entries"] == 4


async def test_an_edited_entry_is_named(run_service: Any, tmp_path: Path) -> None:
    svc = await _service_with_copied_chain(run_service, tmp_path, 4)
    await svc.ctx.db.pool.execute("UPDATE audit_log SET subject = 'D-X' WHERE seq = 2")
    report = await _verify(svc)
    assert (report["broken_at"], report["kind"]) == (2, "altered")


async def test_entries_not_copied_yet_verify_by_the_chain(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    """Before the relay ran, the chain is checked alone; nothing is reported missing."""
    db = Database(url=database_url, schema="draw")
    await db.connect()
    bus = await Bus.connect(nats_url, name="t")
    try:
        await db.migrate(tmp_path)
        await bus.ensure_stream("AUDIT", ["spotcheck.v1.audit.>"], deny_delete=True)
        audit = AuditTrail(service="draw", db=db, bus=bus)
        async with db.transaction() as conn:
            await audit.append(conn, actor="a", action="b", subject="c")
        result = await audit.verify()
        assert (result.broken, result.entries, result.anchored, result.head) == (None, 1, 0, None)
    finally:
        await bus.close()
        await db.close()


async def test_verify_without_the_stream_is_temporary_not_intact(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    db = Database(url=database_url, schema="draw")
    await db.connect()
    bus = await Bus.connect(nats_url, name="t")
    await bus.close()
    try:
        await db.migrate(tmp_path)
        with pytest.raises(TemporaryError, match="cannot read the AUDIT stream"):
            await AuditTrail(service="draw", db=db, bus=bus).verify()
    finally:
        await db.close()


async def test_a_service_user_of_deploy_nats_publishes_and_verifies_its_anchor(
    run_service: Any, accounts_server: str, tmp_path: Path
) -> None:
    """Under deploy/nats/accounts.conf the draw user may publish its chain's head and read its
    copy back (an ephemeral consumer of AUDIT): the anchor works with accounts too."""
    url = accounts_server.replace("nats://", f"nats://draw:{PASSWORDS['draw']}@")
    svc = await run_service(lambda: _spec(tmp_path), nats_url=url)
    for i in range(3):
        async with svc.ctx.db.transaction() as conn:
            await svc.ctx.audit.append(conn, actor="a", action="b", subject=str(i))
    while await svc.ctx.audit.publish_pending():
        pass
    report = await _verify(svc)
    assert (report["ok"], report["anchored"], report["head"]) == (True, 3, 3), report
