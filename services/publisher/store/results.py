"""SQL of result versions: inserting them with their deliveries, reading them, their deadlines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.publisher import ResultAccepted
from services.publisher.domain.deadlines import StoredDeadline
from services.publisher.store.conn import Conn
from services.publisher.store.drafts import SubmissionKey, insert_keys


@dataclass(frozen=True, slots=True)
class NewResult:
    """A checked result version and its outbox rows, ready to insert."""

    result_id: str
    version: int
    task_id: str
    supersedes: int | None
    correction_reason: str | None
    submitted_by: str
    check_date: date
    method: str
    items: list[dict[str, Any]]
    categories: list[str]
    violation: bool
    confirmations: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    accepted_at: datetime
    deliveries: list[tuple[str, str, str | None, dict[str, Any]]]  # (dest, key, subject, body)
    follow_up: dict[str, Any] | None = None
    representative: dict[str, Any] | None = None
    method_record: dict[str, Any] | None = None
    key: SubmissionKey | None = None  # the submitter's idempotency key, recorded with it
    # Counted once, on the stored holiday calendar, in the transaction that inserts the row
    # (`Calendars.stamp`); None until then.
    due_date: date | None = None
    due_date_provisional: bool = False

    @property
    def accepted(self) -> ResultAccepted:
        """The reply to the submitter, and the body of the `result.accepted` event."""
        if self.due_date is None:
            raise ValueError(f"result {self.result_id} v{self.version}: due date not counted yet")
        return ResultAccepted(
            result_id=self.result_id,
            version=self.version,
            task_id=self.task_id,
            check_date=self.check_date,
            due_date=self.due_date,
            due_date_provisional=self.due_date_provisional,
            # One name per destination (a finding's have a row per item).
            destinations=list(dict.fromkeys(d[0] for d in self.deliveries)),
            accepted_at=self.accepted_at,
        )


async def insert_results(conn: Conn, results: Sequence[NewResult]) -> None:
    """Insert result versions, their idempotency keys, and queue their deliveries (call inside
    one transaction). A key or version already recorded raises `UniqueViolationError`."""
    await conn.executemany(
        """INSERT INTO results (result_id, version, task_id, supersedes, correction_reason,
               submitted_by, check_date, due_date, method, items, categories, violation,
               confirmations, attachments, accepted_at, due_date_provisional, follow_up,
               representative, method_record)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)""",
        [
            (
                r.result_id,
                r.version,
                r.task_id,
                r.supersedes,
                r.correction_reason,
                r.submitted_by,
                r.check_date,
                r.due_date,
                r.method,
                r.items,
                r.categories,
                r.violation,
                r.confirmations,
                r.attachments,
                r.accepted_at,
                r.due_date_provisional,
                r.follow_up,
                r.representative,
                r.method_record,
            )
            for r in results
        ],
    )
    await insert_keys(conn, [(r.key, r.accepted) for r in results if r.key is not None])
    await conn.executemany(
        """INSERT INTO outbox (result_id, version, destination, idempotency_key, subject,
               payload, next_attempt_at, discloses)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8)""",
        [
            (
                r.result_id,
                r.version,
                dest,
                key,
                subject,
                body,
                r.accepted_at,
                # The deliveries that make it public: the clock waits for each (migration 015).
                dest == "disclosure" or body.get("discloses") is True,
            )
            for r in results
            for dest, key, subject, body in r.deliveries
        ],
    )


async def result_versions(conn: Conn, result_id: str) -> list[dict[str, Any]]:
    """Every stored version of a result, oldest first, every column (dates as ISO text)."""
    rows = await conn.fetch(
        "SELECT * FROM results WHERE result_id = $1 ORDER BY version", result_id
    )
    return [
        {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in dict(r).items()}
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class UnpublishedResult:
    """The latest version of a result no version of which is disclosed yet (every disclosure
    delivery done: the built-in one and each disclosing platform's)."""

    result_id: str
    version: int
    task_id: str
    uscc: str
    check_date: date
    due_date: date
    due_date_provisional: bool


async def unpublished(conn: Conn) -> list[UnpublishedResult]:
    """Latest versions of results no version of which is disclosed yet."""
    rows = await conn.fetch(
        """SELECT r.result_id, r.version, r.task_id, t.uscc, r.check_date, r.due_date,
               r.due_date_provisional
           FROM results r JOIN tasks t USING (task_id)
           WHERE r.version = (SELECT max(version) FROM results x WHERE x.result_id = r.result_id)
             AND NOT EXISTS (SELECT 1 FROM results p WHERE p.result_id = r.result_id
                             AND p.disclosed_at IS NOT NULL)
           ORDER BY r.due_date, r.result_id"""
    )
    return [UnpublishedResult(*r) for r in rows]  # in the order selected


async def deadlines_touching(conn: Conn, first: date, last: date) -> list[StoredDeadline]:
    """Result versions whose count of working days, (check_date, due_date], meets [first, last]."""
    rows = await conn.fetch(
        """SELECT result_id, version, task_id, check_date, due_date, due_date_provisional
               FROM results WHERE check_date < $2 AND due_date >= $1
               ORDER BY result_id, version""",
        first,
        last,
    )
    return [StoredDeadline(*r) for r in rows]  # in the order selected


async def update_deadlines(conn: Conn, changes: Sequence[tuple[str, int, date, bool]]) -> None:
    """Set (result_id, version)'s due date and provisional mark."""
    await conn.executemany(
        "UPDATE results SET due_date = $3, due_date_provisional = $4"
        " WHERE result_id = $1 AND version = $2",
        list(changes),
    )
