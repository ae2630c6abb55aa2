"""SQL of result drafts (awaiting the team's confirmations) and of the phone's idempotency keys.

Every change to a task's draft is made holding the task's row lock (`get_task(..., lock=True)`),
so confirmations, returns and replacing submissions of one task happen one after another. The
idempotency keys rely on their primary key, not on that lock: a key is claimed by inserting it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from contracts.publisher import Confirmation, DraftState, ResultAccepted
from services.publisher.domain.drafts import StoredDraft
from services.publisher.store.conn import Conn


def _draft(r: asyncpg.Record) -> StoredDraft:
    return StoredDraft(
        draft_id=r["draft_id"],
        task_id=r["task_id"],
        submission=r["submission"],
        content_sha256=r["content_sha256"],
        submitted_by=r["submitted_by"],
        confirmations=tuple(Confirmation.model_validate(c) for c in r["confirmations"]),
        created_at=r["created_at"],
        state=DraftState(r["state"]),
        closed_at=r["closed_at"],
        closed_by=r["closed_by"],
        reason=r["reason"],
        result_id=r["result_id"],
        version=r["version"],
    )


async def get_draft(conn: Conn, draft_id: str) -> StoredDraft | None:
    """A draft by id, whatever its state."""
    row = await conn.fetchrow("SELECT * FROM result_drafts WHERE draft_id = $1", draft_id)
    return None if row is None else _draft(row)


async def awaiting_drafts(conn: Conn, task_ids: Sequence[str]) -> dict[str, StoredDraft]:
    """The draft awaiting confirmation of each of these tasks that has one."""
    rows = await conn.fetch(
        "SELECT * FROM result_drafts WHERE task_id = ANY($1::text[]) AND state = 'awaiting'",
        list(task_ids),
    )
    return {r["task_id"]: _draft(r) for r in rows}


async def accepted_reply(conn: Conn, draft_id: str) -> ResultAccepted | None:
    """The reply of the result version a draft became, if it did."""
    body = await conn.fetchval("SELECT accepted FROM result_drafts WHERE draft_id = $1", draft_id)
    return None if body is None else ResultAccepted.model_validate(body)


async def insert_draft(conn: Conn, d: StoredDraft) -> None:
    """Store a new draft (the task's awaiting one must be closed first)."""
    await conn.execute(
        """INSERT INTO result_drafts (draft_id, task_id, submission, content_sha256,
               submitted_by, confirmations, created_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7)""",
        d.draft_id,
        d.task_id,
        d.submission,
        d.content_sha256,
        d.submitted_by,
        [c.model_dump(mode="json") for c in d.confirmations],
        d.created_at,
    )


async def set_confirmations(
    conn: Conn, draft_id: str, confirmations: Sequence[Confirmation]
) -> None:
    """Record the confirmations of a draft so far."""
    await conn.execute(
        "UPDATE result_drafts SET confirmations = $2 WHERE draft_id = $1",
        draft_id,
        [c.model_dump(mode="json") for c in confirmations],
    )


async def close_draft(
    conn: Conn,
    draft_id: str,
    *,
    state: DraftState,
    at: datetime,
    by: str,
    reason: str | None = None,
) -> None:
    """Close an awaiting draft: accepted (then `set_draft_result`), returned or replaced."""
    await conn.execute(
        """UPDATE result_drafts SET state = $2, closed_at = $3, closed_by = $4, reason = $5
           WHERE draft_id = $1 AND state = 'awaiting'""",
        draft_id,
        state.value,
        at,
        by,
        reason,
    )


async def set_draft_result(conn: Conn, draft_id: str, accepted: ResultAccepted) -> None:
    """Record the result version an accepted draft became, and the reply it got."""
    await conn.execute(
        "UPDATE result_drafts SET result_id = $2, version = $3, accepted = $4 WHERE draft_id = $1",
        draft_id,
        accepted.result_id,
        accepted.version,
        accepted.model_dump(mode="json"),
    )


async def replace_awaiting(
    conn: Conn, task_ids: Sequence[str], *, at: datetime, by: str, reason: str
) -> list[str]:
    """Mark the awaiting drafts of these tasks replaced; returns their ids."""
    rows = await conn.fetch(
        """UPDATE result_drafts SET state = 'replaced', closed_at = $2, closed_by = $3,
               reason = $4
           WHERE task_id = ANY($1::text[]) AND state = 'awaiting' RETURNING draft_id""",
        list(task_ids),
        at,
        by,
        reason,
    )
    return [r["draft_id"] for r in rows]


@dataclass(frozen=True, slots=True)
class SubmissionKey:
    """An idempotency key as claimed: the content it came with and what it gave."""

    submitted_by: str
    task_id: str
    idempotency_key: str
    content_sha256: str
    draft_id: str | None = None
    reply: ResultAccepted | None = None


def _key(r: asyncpg.Record) -> SubmissionKey:
    reply: Any = r["reply"]
    return SubmissionKey(
        submitted_by=r["submitted_by"],
        task_id=r["task_id"],
        idempotency_key=r["idempotency_key"],
        content_sha256=r["content_sha256"],
        draft_id=r["draft_id"],
        reply=None if reply is None else ResultAccepted.model_validate(reply),
    )


async def claim_key(conn: Conn, k: SubmissionKey) -> bool:
    """Claim an idempotency key in the caller's transaction; False when it was claimed before
    (a concurrent claim waits for the first transaction to end, then sees it)."""
    got = await conn.fetchval(
        """INSERT INTO submission_keys (submitted_by, task_id, idempotency_key, content_sha256)
           VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING RETURNING true""",
        k.submitted_by,
        k.task_id,
        k.idempotency_key,
        k.content_sha256,
    )
    return bool(got)


async def get_key(conn: Conn, k: SubmissionKey) -> SubmissionKey | None:
    """The key as claimed before (by the same submitter, for the same task), or None."""
    row = await conn.fetchrow(
        """SELECT * FROM submission_keys
           WHERE submitted_by = $1 AND task_id = $2 AND idempotency_key = $3""",
        k.submitted_by,
        k.task_id,
        k.idempotency_key,
    )
    return None if row is None else _key(row)


async def get_keys(
    conn: Conn, submitted_by: str, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], SubmissionKey]:
    """The claimed keys among these (task_id, idempotency_key) of one submitter."""
    if not keys:
        return {}
    rows = await conn.fetch(
        """SELECT k.* FROM submission_keys k
           JOIN unnest($2::text[], $3::text[]) AS w(task_id, idempotency_key)
             USING (task_id, idempotency_key)
           WHERE k.submitted_by = $1""",
        submitted_by,
        [t for t, _ in keys],
        [k for _, k in keys],
    )
    return {(r["task_id"], r["idempotency_key"]): _key(r) for r in rows}


async def set_key_outcome(
    conn: Conn,
    k: SubmissionKey,
    *,
    draft_id: str | None = None,
    reply: ResultAccepted | None = None,
) -> None:
    """Record what a claimed key gave: a draft, or a result accepted at once."""
    await conn.execute(
        """UPDATE submission_keys SET draft_id = $4, reply = $5
           WHERE submitted_by = $1 AND task_id = $2 AND idempotency_key = $3""",
        k.submitted_by,
        k.task_id,
        k.idempotency_key,
        draft_id,
        None if reply is None else reply.model_dump(mode="json"),
    )


async def insert_keys(conn: Conn, rows: Sequence[tuple[SubmissionKey, ResultAccepted]]) -> None:
    """Record keys of results accepted at once (a repeat raises `UniqueViolationError`)."""
    await conn.executemany(
        """INSERT INTO submission_keys (submitted_by, task_id, idempotency_key, content_sha256,
               reply) VALUES ($1,$2,$3,$4,$5)""",
        [
            (
                k.submitted_by,
                k.task_id,
                k.idempotency_key,
                k.content_sha256,
                r.model_dump(mode="json"),
            )
            for k, r in rows
        ],
    )
