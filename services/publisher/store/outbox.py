"""SQL of the publisher's delivery outbox: the relay's claims and outcomes, operators' views.

The relay's statements are its hot path (one claim and one outcome write per batch of up to
`relay_batch` rows): they stay exactly as measured in BENCHMARKS.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from contracts.publisher import Delivery, DeliveryState
from services.publisher.domain.delivery import Outcome
from services.publisher.store.conn import Conn

OUTBOX_CHANNEL = "publisher_outbox"


async def notify_outbox(conn: Conn) -> None:
    """Wake relays listening on the outbox channel when this transaction commits."""
    await conn.execute(f"NOTIFY {OUTBOX_CHANNEL}")


OUTBOX_COLUMNS = (
    "id, result_id, version, destination, idempotency_key, subject, payload, state, attempts, "
    "next_attempt_at, last_error, delivered_at"
)


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A delivery leased to a relay: what it needs to send it and to record the outcome."""

    id: int
    result_id: str  # a task's or plan's id on its platform rows
    version: int | None  # None on a task's or plan's platform rows
    destination: str
    idempotency_key: str
    subject: str | None
    body: str  # the payload as JSON text, sent as is
    attempts: int


CLAIM_COLUMNS = (
    "id, result_id, version, destination, idempotency_key, subject, payload::text AS body, attempts"
)


async def claim_due(pool: asyncpg.Pool, *, limit: int, lease_s: float) -> list[DueDelivery]:
    """Lease up to `limit` due pending deliveries to this relay for `lease_s` seconds.

    The lease is a later `next_attempt_at`: if this relay dies, the rows come due again and
    another relay (or this one, restarted) delivers them under the same idempotency key.
    The body comes as JSON text (`body`), ready to send without decoding it first.
    """
    rows = await pool.fetch(
        f"""UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $2)
            WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= now()
                         ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
            RETURNING {CLAIM_COLUMNS}""",
        limit,
        lease_s,
    )
    return [DueDelivery(*r) for r in rows]  # in CLAIM_COLUMNS order


async def record_outcomes(
    pool: asyncpg.Pool, outcomes: Sequence[tuple[DueDelivery, Outcome]]
) -> None:
    """Write a batch's delivery outcomes in one statement; a delivered disclosure makes its
    result version public (only a row that was still pending counts, so a late duplicate of an
    outcome changes nothing), and disclosed when no platform's disclosure is queued for it."""
    await pool.execute(
        """WITH done AS (
               UPDATE outbox o SET state = u.state, attempts = u.attempts,
                   next_attempt_at = coalesce(u.next_at, o.next_attempt_at),
                   last_error = u.err,
                   delivered_at = CASE WHEN u.state = 'delivered' THEN now()
                                  ELSE o.delivered_at END
               FROM unnest($1::bigint[], $2::text[], $3::int[], $4::timestamptz[], $5::text[])
                    AS u(id, state, attempts, next_at, err)
               WHERE o.id = u.id AND o.state = 'pending'
               RETURNING o.result_id, o.version, o.destination, o.state)
           UPDATE results r SET published_at = now(),
               -- the only disclosure of this version: it is disclosed now (with disclosing
               -- platforms, `settle_disclosures` decides after this commit)
               disclosed_at = CASE WHEN NOT EXISTS (
                   SELECT 1 FROM outbox x WHERE x.result_id = r.result_id
                   AND x.version = r.version AND x.discloses AND x.destination <> 'disclosure')
                   THEN now() ELSE r.disclosed_at END
           FROM done
           WHERE done.destination = 'disclosure' AND done.state = 'delivered'
             AND r.result_id = done.result_id AND r.version = done.version
             AND r.published_at IS NULL""",
        [row.id for row, _ in outcomes],
        [o.state.value for _, o in outcomes],
        [o.attempts for _, o in outcomes],
        [o.next_attempt_at for _, o in outcomes],
        [o.last_error for _, o in outcomes],
    )


_SETTLE = """
UPDATE results r SET disclosed_at = d.last
FROM (SELECT o.result_id, o.version, max(o.delivered_at) AS last
      FROM outbox o {where}
      GROUP BY 1, 2 HAVING bool_and(o.state = 'delivered')) d
WHERE r.result_id = d.result_id AND r.version = d.version AND r.disclosed_at IS NULL"""


async def settle_disclosures(
    conn: Conn | asyncpg.Pool, versions: Sequence[tuple[str, int]] | None = None
) -> int:
    """Stamp `disclosed_at` — the last of its disclosure deliveries — on each result version
    whose every disclosure delivery (`outbox.discloses`) is delivered; of `versions`, or of
    every version not yet disclosed. The relay calls it after recording a batch (after that
    commit, so that of two relays delivering a version's last two rows at once, the later
    one sees both); the deadline watch sweeps for any a crash left between the two. Returns
    how many versions it stamped. The value is the same whoever computes it."""
    if versions is None:
        where = (
            "JOIN results x ON x.result_id = o.result_id AND x.version = o.version"
            " AND x.disclosed_at IS NULL WHERE o.discloses"
        )
        done = await conn.execute(_SETTLE.format(where=where))
    else:
        if not versions:
            return 0
        where = (
            "WHERE o.discloses AND (o.result_id, o.version) IN"
            " (SELECT * FROM unnest($1::text[], $2::int[]))"
        )
        done = await conn.execute(
            _SETTLE.format(where=where), [v[0] for v in versions], [v[1] for v in versions]
        )
    return int(done.split()[-1])


def _delivery(r: asyncpg.Record) -> Delivery:
    return Delivery(
        id=r["id"],
        result_id=r["result_id"],
        # A task's or plan's platform row has no version: 0 for those who list deliveries.
        version=r["version"] or 0,
        destination=r["destination"],
        idempotency_key=r["idempotency_key"],
        state=DeliveryState(r["state"]),
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"] if r["state"] == "pending" else None,
        last_error=r["last_error"],
        delivered_at=r["delivered_at"],
    )


async def list_deliveries(
    conn: Conn, *, state: DeliveryState | None = None, limit: int = 100
) -> list[Delivery]:
    """Deliveries in id order, optionally only those in one state."""
    if state is None:
        rows = await conn.fetch(f"SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id LIMIT $1", limit)
    else:
        rows = await conn.fetch(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = $1 ORDER BY id LIMIT $2",
            state.value,
            limit,
        )
    return [_delivery(r) for r in rows]


async def get_delivery(conn: Conn, delivery_id: int) -> Delivery | None:
    """One delivery, locked for update."""
    row = await conn.fetchrow(
        f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1 FOR UPDATE", delivery_id
    )
    return None if row is None else _delivery(row)


async def set_pending(conn: Conn, delivery_id: int, outcome: Outcome) -> None:
    """Put a delivery back in the queue (replay of a dead letter)."""
    await conn.execute(
        "UPDATE outbox SET state = $2, attempts = $3, next_attempt_at = $4, last_error = NULL "
        "WHERE id = $1",
        delivery_id,
        outcome.state.value,
        outcome.attempts,
        outcome.next_attempt_at,
    )


async def outbox_counts(conn: Conn) -> dict[str, int]:
    """Deliveries per state."""
    rows = await conn.fetch("SELECT state, count(*) AS n FROM outbox GROUP BY state")
    return {r["state"]: int(r["n"]) for r in rows}


async def queue_platform_rows(
    conn: Conn, ref: str, rows: Sequence[tuple[str, str, str | None, dict[str, Any]]]
) -> int:
    """Queue a task's or plan's deliveries to the outside platforms (`ref` its id; no version,
    migration 014); a row whose key is already queued is left alone (a redelivered event).
    Wakes relays on commit when anything was queued; returns how many were."""
    if not rows:
        return 0
    done = await conn.fetch(
        """INSERT INTO outbox (result_id, version, destination, idempotency_key, subject, payload)
           SELECT $1, NULL, d, k, s, p
           FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[]) AS u(d, k, s, p)
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING id""",
        ref,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
    )
    if done:
        await notify_outbox(conn)
    return len(done)
