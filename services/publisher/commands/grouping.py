"""Grouping the database work of concurrent submissions: one read and one commit for many.

Single submissions arrive hundreds per second, each with a read (our task copy, the latest
version) and a commit (which waits for the WAL to reach the disk and takes the audit chain's
lock). Done one request at a time, the round trips and fsyncs cap the rate. Here whatever
arrives while a read (or a commit) is in flight waits for the next one, which serves them
all. A request is never answered from a read issued before it arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from contracts import subjects
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.envelope import event_id
from services.kit.outbox import Outbox
from services.publisher import store
from services.publisher.commands.calendars import Calendars
from services.publisher.domain.validation import TaskView

Snapshot = tuple[dict[str, TaskView], dict[str, int]]


@dataclass(slots=True)
class _Read:
    task_ids: Sequence[str]
    done: asyncio.Future[Snapshot]


class TaskReader:
    """Reads task copies and latest versions for concurrent submissions in one query."""

    def __init__(self, *, db: Database, max_ids: int = 4000) -> None:
        self.db = db
        self.max_ids = max_ids
        self._pending: list[_Read] = []
        self._task: asyncio.Task[None] | None = None

    async def read(self, task_ids: Sequence[str]) -> Snapshot:
        """The tasks (by id) and their latest result versions, as of after this call."""
        job = _Read(task_ids, asyncio.get_running_loop().create_future())
        self._pending.append(job)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="publisher-group-read")
        return await job.done

    async def _run(self) -> None:
        while self._pending:
            group: list[_Read] = []
            ids: set[str] = set()
            while self._pending and (
                not group or len(ids) + len(self._pending[0].task_ids) <= self.max_ids
            ):
                job = self._pending.pop(0)
                group.append(job)
                ids.update(job.task_ids)
            try:
                async with self.db.pool.acquire() as conn:
                    tasks, latest = await store.tasks_and_latest(conn, sorted(ids))
            except Exception as exc:
                for job in group:
                    _settle(job.done, exc)
                continue
            for job in group:
                if not job.done.done():
                    job.done.set_result(
                        (
                            {t: tasks[t] for t in job.task_ids if t in tasks},
                            {t: latest[t] for t in job.task_ids if t in latest},
                        )
                    )


@dataclass(slots=True)
class _Job:
    rows: list[store.NewResult]
    actor: str
    done: asyncio.Future[None]


class GroupCommit:
    """Commits the accepted results of concurrent submissions together (group commit).

    Every commit waits for the WAL to reach the disk and takes the audit chain's lock; one
    transaction per request would cap single submissions at one fsync each. Here the results
    of requests that arrive while a commit is in flight wait for the next commit, which takes
    them all: one transaction, one audit entry per submitter. Each request still learns its
    own fate: when a group fails on a unique key (a race for the same task), its requests are
    committed one by one so that only the one that lost the race fails.

    Due dates are counted in that transaction, on the holiday calendar read holding its lock
    shared (`Calendars.stamp`): a calendar activated meanwhile either waits for the commit (and then
    recomputes these rows with the others) or is already the one they are counted on.
    """

    def __init__(
        self,
        *,
        db: Database,
        audit: AuditTrail,
        outbox: Outbox,
        calendars: Calendars,
        max_rows: int = 1000,
    ) -> None:
        self.db = db
        self.audit = audit
        self.outbox = outbox
        self.calendars = calendars
        self.max_rows = max_rows
        self._pending: list[_Job] = []
        self._task: asyncio.Task[None] | None = None

    async def commit(self, rows: list[store.NewResult], *, actor: str) -> list[store.NewResult]:
        """Commit these rows (in some group); returns them as stored (with their due dates)
        once they are durable."""
        job = _Job(rows, actor, asyncio.get_running_loop().create_future())
        self._pending.append(job)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="publisher-group-commit")
        await job.done
        return job.rows

    async def _run(self) -> None:
        while self._pending:
            group: list[_Job] = []
            size = 0
            while self._pending and (
                not group or size + len(self._pending[0].rows) <= self.max_rows
            ):
                job = self._pending.pop(0)
                group.append(job)
                size += len(job.rows)
            try:
                await self._write(group)
            except asyncpg.UniqueViolationError as exc:
                if len(group) == 1:
                    _settle(group[0].done, exc)
                    continue
                for job in group:
                    try:
                        await self._write([job])
                    except Exception as one:
                        _settle(job.done, one)
                    else:
                        _settle(job.done, None)
                continue
            except Exception as exc:
                for job in group:
                    _settle(job.done, exc)
                continue
            for job in group:
                _settle(job.done, None)

    async def write_in(
        self, conn: store.Conn, rows: list[store.NewResult], *, actor: str
    ) -> list[store.NewResult]:
        """Write these rows in the caller's transaction (no grouping: the caller holds locks,
        e.g. the task row of a draft whose last confirmation this is); returns them as stored."""
        return (await self._insert(conn, [(actor, rows)]))[0]

    async def _write(self, group: list[_Job]) -> None:
        async with self.db.transaction() as conn:
            stored = await self._insert(conn, [(job.actor, job.rows) for job in group])
            for job, rows in zip(group, stored, strict=True):
                job.rows = rows  # each request gets its own rows back as stored

    async def _insert(
        self, conn: store.Conn, jobs: list[tuple[str, list[store.NewResult]]]
    ) -> list[list[store.NewResult]]:
        stamped = await self.calendars.stamp(conn, [r for _, rows in jobs for r in rows])
        out: list[list[store.NewResult]] = []
        at = 0
        for _, rows in jobs:
            out.append(stamped[at : at + len(rows)])
            at += len(rows)
        by_actor: dict[str, list[store.NewResult]] = {}
        for (actor, _), rows in zip(jobs, out, strict=True):
            by_actor.setdefault(actor, []).extend(rows)
        await store.insert_results(conn, stamped)
        accepted = subjects.event("publisher", "result.accepted")
        await store.notify_outbox(conn)  # relays in other processes start at once
        # The draw learns that these tasks have their results (no merging, no redraw).
        await self.outbox.add_many(
            conn,
            [
                (
                    accepted,
                    r.accepted,
                    event_id("result.accepted", r.result_id, f"v{r.version}"),
                )
                for r in stamped
            ],
        )
        for actor, rows in by_actor.items():
            # A draft still awaiting confirmation of one of these tasks (an inspector's, while
            # department staff entered the result) was written for an older state: replaced.
            replaced = await store.replace_awaiting(
                conn,
                [r.task_id for r in rows],
                at=rows[0].accepted_at,
                by=actor,
                reason="a result version was recorded for the task",
            )
            data: dict[str, object] = {
                "results": [
                    {
                        "result_id": r.result_id,
                        "version": r.version,
                        "task_id": r.task_id,
                        "categories": r.categories,
                        "supersedes": r.supersedes,
                        "due_date": r.accepted.due_date.isoformat(),
                        "due_date_provisional": r.due_date_provisional,
                    }
                    for r in rows
                ]
            }
            if replaced:
                data["drafts_replaced"] = replaced
            await self.audit.append(
                conn,
                actor=actor,
                action="result.accepted",
                subject=",".join(f"{r.result_id}:v{r.version}" for r in rows[:20])
                + ("…" if len(rows) > 20 else ""),
                data=data,
            )
        return out


def _settle(
    done: asyncio.Future[None] | asyncio.Future[Snapshot], exc: BaseException | None
) -> None:
    if done.done():  # the request was cancelled (its results are committed all the same)
        return
    if exc is None:
        done.set_result(None)  # type: ignore[arg-type]
    else:
        done.set_exception(exc)
