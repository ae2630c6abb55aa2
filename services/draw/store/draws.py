"""SQL of plans, draws and commit-reveal parties. Ceremony facts are written once (see the
migrations: triggers refuse a changed seed or commitment)."""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg

from contracts.draw import SeedParty
from contracts.planner import PlanApproved
from services.draw.domain.machine import Draw, DrawState, RedrawRequest
from services.draw.domain.seeds import Party, PartyCeremony, SeedSource
from services.draw.store.rows import Conn, DrawExtra, DrawListRow
from services.kit.errors import NotFound


async def save_plan(conn: Conn, plan: PlanApproved) -> None:
    """Keep an approved plan (a redelivery or a re-approval replaces the stored body)."""
    await conn.execute(
        "INSERT INTO plans (plan_id, body) VALUES ($1, $2) "
        "ON CONFLICT (plan_id) DO UPDATE SET body = EXCLUDED.body, received_at = now()",
        plan.plan_id,
        plan.model_dump(mode="json"),
    )


async def get_plan(conn: Conn, plan_id: str) -> PlanApproved:
    """An approved plan; `NotFound` when the draw never received it."""
    body = await conn.fetchval("SELECT body FROM plans WHERE plan_id = $1", plan_id)
    if body is None:
        raise NotFound(f"no approved plan {plan_id!r} (has the planner approved it?)")
    return PlanApproved.model_validate(body)


_DRAW_COLUMNS = (
    "draw_id, plan_id, state, commitment_sha256, committed_at, seed, seed_source, "
    "seed_entered_by, seeded_at, supersedes, superseded_by, redraw_reason, redraw_by, redraw_at, "
    "redraw_confirmed_by, redraw_requested_by, redraw_requested_reason, redraw_requested_at"
)


def _draw(row: asyncpg.Record) -> Draw:
    return Draw(
        draw_id=row["draw_id"],
        plan_id=row["plan_id"],
        state=DrawState(row["state"]),
        commitment_sha256=row["commitment_sha256"],
        committed_at=row["committed_at"],
        seed=row["seed"],
        seed_source=SeedSource(row["seed_source"]) if row["seed_source"] else None,
        seed_entered_by=row["seed_entered_by"],
        seeded_at=row["seeded_at"],
        supersedes=row["supersedes"],
        superseded_by=row["superseded_by"],
        redraw_reason=row["redraw_reason"],
        redraw_by=row["redraw_by"],
        redraw_at=row["redraw_at"],
        redraw_confirmed_by=row["redraw_confirmed_by"],
        redraw_pending=None
        if row["redraw_requested_by"] is None
        else RedrawRequest(
            reason=row["redraw_requested_reason"],
            by=row["redraw_requested_by"],
            at=row["redraw_requested_at"],
        ),
    )


async def get_draw(conn: Conn, draw_id: str, *, lock: bool = False) -> Draw:
    """A draw's ceremony facts (`lock` takes a row lock for a state change)."""
    sql = f"SELECT {_DRAW_COLUMNS} FROM draws WHERE draw_id = $1"
    row = await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), draw_id)
    if row is None:
        raise NotFound(f"no draw {draw_id!r}")
    return _draw(row)


async def draw_extra(conn: Conn, draw_id: str) -> DrawExtra:
    """Columns of a draw that the domain object does not carry."""
    row = await conn.fetchrow(
        "SELECT rules_version, snapshot_id, created_by, completed_at FROM draws WHERE draw_id = $1",
        draw_id,
    )
    if row is None:
        raise NotFound(f"no draw {draw_id!r}")
    return DrawExtra(**dict(row))


async def insert_draw(conn: Conn, draw: Draw, *, rules_version: str, created_by: str) -> None:
    """A new draw in state freezing."""
    await conn.execute(
        "INSERT INTO draws (draw_id, plan_id, rules_version, state, created_by, supersedes, "
        "redraw_reason, redraw_by, redraw_at, redraw_confirmed_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        draw.draw_id,
        draw.plan_id,
        rules_version,
        draw.state.value,
        created_by,
        draw.supersedes,
        draw.redraw_reason,
        draw.redraw_by,
        draw.redraw_at,
        draw.redraw_confirmed_by,
    )


async def update_draw(conn: Conn, draw: Draw, **extra: Any) -> None:
    """Write a draw's new state (the triggers refuse a changed seed or commitment)."""
    pending = draw.redraw_pending
    fields = {
        "state": draw.state.value,
        "commitment_sha256": draw.commitment_sha256,
        "committed_at": draw.committed_at,
        "seed": draw.seed,
        "seed_source": draw.seed_source.value if draw.seed_source else None,
        "seed_entered_by": draw.seed_entered_by,
        "seeded_at": draw.seeded_at,
        "superseded_by": draw.superseded_by,
        "redraw_reason": draw.redraw_reason,
        "redraw_by": draw.redraw_by,
        "redraw_at": draw.redraw_at,
        "redraw_confirmed_by": draw.redraw_confirmed_by,
        "redraw_requested_by": pending.by if pending else None,
        "redraw_requested_reason": pending.reason if pending else None,
        "redraw_requested_at": pending.at if pending else None,
        **extra,
    }
    names = list(fields)
    sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
    await conn.execute(
        f"UPDATE draws SET {sets} WHERE draw_id = $1", draw.draw_id, *fields.values()
    )


async def try_lock_start(conn: Conn, plan_id: str) -> bool:
    """Take the plan's start lock for this transaction, or say at once that another request
    (on any copy) holds it. Transaction-scoped: it ends with the transaction, also when the
    copy holding it dies (its connection closes)."""
    key = int.from_bytes(
        hashlib.sha256(f"draw.start:{plan_id}".encode()).digest()[:8], "big", signed=True
    )
    got: bool = await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", key)
    return got


async def active_draw_of_plan(conn: Conn, plan_id: str) -> str | None:
    """The plan's draw that is not superseded, if any."""
    value: str | None = await conn.fetchval(
        "SELECT draw_id FROM draws WHERE plan_id = $1 AND state <> 'superseded' "
        "ORDER BY created_at DESC LIMIT 1",
        plan_id,
    )
    return value


async def list_draws(conn: Conn) -> list[DrawListRow]:
    """Every draw, newest first."""
    rows = await conn.fetch(
        "SELECT draw_id, plan_id, state FROM draws ORDER BY created_at DESC, draw_id"
    )
    return [DrawListRow(**dict(r)) for r in rows]


async def seeded_draws(conn: Conn) -> list[str]:
    """Draws whose seed is known but whose selection or staffing has not finished."""
    rows = await conn.fetch("SELECT draw_id FROM draws WHERE state = 'seeded' ORDER BY draw_id")
    return [r["draw_id"] for r in rows]


async def parties(conn: Conn, draw_id: str) -> PartyCeremony:
    """The commit-reveal state of a draw."""
    rows = await conn.fetch(
        "SELECT party_id, commitment_sha256, secret, registered_by FROM seed_parties "
        "WHERE draw_id = $1 ORDER BY registered_at, party_id",
        draw_id,
    )
    people = tuple(
        Party(r["party_id"], r["commitment_sha256"], r["secret"], r["registered_by"]) for r in rows
    )
    return PartyCeremony(parties=people, closed=any(p.secret is not None for p in people))


def public_parties(ceremony: PartyCeremony) -> list[SeedParty]:
    """Parties as the record publishes them."""
    return [SeedParty.model_validate(p) for p in ceremony.public()]


async def add_party(conn: Conn, draw_id: str, party: Party) -> None:
    """Register a party's commitment."""
    await conn.execute(
        "INSERT INTO seed_parties (draw_id, party_id, commitment_sha256, registered_by) "
        "VALUES ($1, $2, $3, $4)",
        draw_id,
        party.party_id,
        party.commitment_sha256,
        party.registered_by,
    )


async def reveal_party(conn: Conn, draw_id: str, party_id: str, secret: str) -> None:
    """Store a party's revealed secret."""
    await conn.execute(
        "UPDATE seed_parties SET secret = $3, revealed_at = now() "
        "WHERE draw_id = $1 AND party_id = $2 AND secret IS NULL",
        draw_id,
        party_id,
        secret,
    )
