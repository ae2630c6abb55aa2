"""Where a result submission goes, by who sends it.

- Department staff (谁检查、谁录入: entering the paper record of a visit) give the team's
  confirmations themselves: intake checks and accepts at once, batches included.
- An inspector's token speaks for that inspector alone: the submission becomes a draft that
  each other member of the team confirms with their own (`drafts.py`); a batch from an
  inspector is taken one submission at a time, each answered accepted, draft or refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from contracts.publisher import ResultSubmission, SubmissionOutcome
from services.kit.errors import Conflict, DomainError
from services.publisher.commands.drafts import Drafts
from services.publisher.commands.intake import Intake, Submitter, refused


class Submissions:
    """Result submissions, routed to intake or to drafts."""

    def __init__(self, *, intake: Intake, drafts: Drafts) -> None:
        self.intake = intake
        self.drafts = drafts

    async def submit(self, sub: ResultSubmission, *, by: Submitter) -> SubmissionOutcome:
        """One submission: accepted, a draft awaiting confirmations, or refused (`error`)."""
        if by.inspector_id is None:
            return (await self.intake.submit([sub], by=by))[0]
        for attempt in (1, 2):
            try:
                return await self.drafts.submit(sub, by=by)
            except (asyncpg.UniqueViolationError, asyncpg.TransactionRollbackError):
                # Department staff recorded a result for the task at the same moment: the
                # second look sees it (and refuses, or answers a repeat).
                if attempt == 2:
                    return refused(0, sub, _changed(sub.task_id))
            except DomainError as exc:
                return refused(0, sub, exc)
        raise AssertionError("unreachable")

    async def submit_many(
        self, subs: Sequence[ResultSubmission], *, by: Submitter
    ) -> list[SubmissionOutcome]:
        """A batch; each submission is answered on its own line."""
        if by.inspector_id is None:
            return await self.intake.submit(subs, by=by)
        out: list[SubmissionOutcome] = []
        seen: set[str] = set()
        for i, sub in enumerate(subs):
            if sub.task_id in seen:
                exc = Conflict(
                    f"task {sub.task_id} appears twice in this batch",
                    code="result_duplicate_in_batch",
                )
                out.append(refused(i, sub, exc))
                continue
            seen.add(sub.task_id)
            out.append((await self.submit(sub, by=by)).model_copy(update={"index": i}))
        return out


def _changed(task_id: str) -> Conflict:
    return Conflict(
        f"task {task_id} changed while this was being recorded; read it again",
        code="task_changed",
    )
