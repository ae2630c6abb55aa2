"""The draw's life as pure state transitions (DESIGN §6.3, §6.7).

    freezing ──commit──► committed ──seed──► seeded ──select──► selected ──teams──► completed
        └── redraw: asked (officer 1, written reason) ── confirmed (officer 2) ──► superseded
                                                          (kept, public) + a new draw

A seed is refused before the commitment and refused the second time; a redraw needs a written
reason and two different draw officers (one asks, another confirms), and never deletes the
first draw: it is marked superseded and points at its successor. A redraw is refused once any
task of the draw is in progress or has its result (`WorkDone`): superseding it would discard
inspections already made. Keeping those tasks and redrawing the rest was rejected: the new
record could no longer be re-derived from its own seed and lists alone (its sample would be
"the k smallest tickets plus whatever was kept"), and the kept tasks come from the draw that
was found wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.draw.domain.seeds import SeedSource
from services.kit.errors import Conflict, Forbidden, Invalid

MIN_REASON_CHARS = 4


class DrawState(StrEnum):
    """Where a draw is in the ceremony."""

    FREEZING = "freezing"
    COMMITTED = "committed"
    SEEDED = "seeded"
    SELECTED = "selected"
    COMPLETED = "completed"
    SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True)
class RedrawRequest:
    """A redraw one draw officer asked for; another must confirm it."""

    reason: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class WorkDone:
    """How many of a draw's tasks the inspectors have started or finished."""

    in_progress: int = 0
    results: int = 0


@dataclass(frozen=True, slots=True)
class Draw:
    """A draw's ceremony facts; every change returns a new value."""

    draw_id: str
    plan_id: str
    state: DrawState = DrawState.FREEZING
    commitment_sha256: str | None = None
    committed_at: datetime | None = None
    seed: str | None = None
    seed_source: SeedSource | None = None
    seed_entered_by: str | None = None
    seeded_at: datetime | None = None
    supersedes: str | None = None
    superseded_by: str | None = None
    redraw_reason: str | None = None
    redraw_by: str | None = None
    redraw_at: datetime | None = None
    redraw_confirmed_by: str | None = None
    redraw_pending: RedrawRequest | None = None


def new_draw(draw_id: str, plan_id: str) -> Draw:
    """A draw of a plan, waiting for its frozen candidate lists."""
    return Draw(draw_id=draw_id, plan_id=plan_id)


def _not_superseded(draw: Draw) -> None:
    if draw.state is DrawState.SUPERSEDED:
        raise Conflict(
            f"draw {draw.draw_id} is superseded by {draw.superseded_by}", code="superseded"
        )


def commit(draw: Draw, commitment_sha256: str, *, at: datetime) -> Draw:
    """Record the published commitment; only once, before any seed."""
    _not_superseded(draw)
    if draw.state is not DrawState.FREEZING:
        raise Conflict(f"draw {draw.draw_id} is already committed", code="already_committed")
    return replace(
        draw, state=DrawState.COMMITTED, commitment_sha256=commitment_sha256, committed_at=at
    )


def accept_seed(
    draw: Draw, seed: str, *, source: SeedSource, entered_by: str, at: datetime
) -> Draw:
    """Accept the seed: only after the commitment and only once; who and when are recorded.

    `seed` must already be checked for its source (`seeds.check_seed` or a parties' ceremony).
    """
    _not_superseded(draw)
    if draw.state is DrawState.FREEZING or draw.commitment_sha256 is None:
        raise Conflict(
            f"draw {draw.draw_id} has no published commitment yet; a seed now is refused",
            code="seed_before_commitment",
        )
    if draw.state is not DrawState.COMMITTED or draw.seed is not None:
        raise Conflict(f"draw {draw.draw_id} already has its seed", code="seed_already_given")
    if not entered_by:
        raise Invalid("who entered the seed must be recorded")
    return replace(
        draw,
        state=DrawState.SEEDED,
        seed=seed,
        seed_source=source,
        seed_entered_by=entered_by,
        seeded_at=at,
    )


def mark_selected(draw: Draw) -> Draw:
    """Selection is done (tasks exist, teams may not)."""
    _not_superseded(draw)
    if draw.state is not DrawState.SEEDED:
        raise Conflict(f"draw {draw.draw_id} is {draw.state}, not seeded", code="wrong_state")
    return replace(draw, state=DrawState.SELECTED)


def mark_completed(draw: Draw) -> Draw:
    """Teams are assigned and the result is published."""
    _not_superseded(draw)
    if draw.state is not DrawState.SELECTED:
        raise Conflict(f"draw {draw.draw_id} is {draw.state}, not selected", code="wrong_state")
    return replace(draw, state=DrawState.COMPLETED)


def _no_work_done(draw: Draw, done: WorkDone) -> None:
    if done.results or done.in_progress:
        raise Conflict(
            f"draw {draw.draw_id} has {done.results} task(s) with a result recorded and "
            f"{done.in_progress} in progress: a redraw would discard inspections already made; "
            "correct those results instead (a correction is a new version)",
            code="redraw_after_results",
            details=[{"results": done.results, "in_progress": done.in_progress}],
        )


def request_redraw(draw: Draw, *, reason: str, by: str, at: datetime, done: WorkDone) -> Draw:
    """A draw officer asks for a redraw with a written reason; it waits for a second officer.

    Refused when the draw is superseded, when a request is already pending, and when any of
    its tasks is in progress or has a result.
    """
    _not_superseded(draw)
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise Invalid(
            f"a redraw needs a written reason (at least {MIN_REASON_CHARS} characters)",
            code="reason_required",
        )
    if not by:
        raise Invalid("who asked for the redraw must be recorded")
    if draw.redraw_pending is not None:
        p = draw.redraw_pending
        raise Conflict(
            f"draw {draw.draw_id} already has a redraw asked for by {p.by}; a second draw "
            "officer confirms it, or it is cancelled first",
            code="redraw_pending",
        )
    _no_work_done(draw, done)
    return replace(draw, redraw_pending=RedrawRequest(reason=text, by=by, at=at))


def cancel_redraw(draw: Draw, *, by: str) -> Draw:
    """Withdraw a pending redraw request (any draw officer; the audit trail says who)."""
    if draw.redraw_pending is None:
        raise Conflict(f"draw {draw.draw_id} has no redraw asked for", code="no_redraw_pending")
    if not by:
        raise Invalid("who cancelled the redraw must be recorded")
    return replace(draw, redraw_pending=None)


def confirm_redraw(
    draw: Draw, *, new_draw_id: str, by: str, at: datetime, done: WorkDone
) -> tuple[Draw, Draw]:
    """A second draw officer confirms the pending redraw: supersede `draw` with a new one.

    Returns `(old marked superseded, new draw in state freezing)`. The officer who asked cannot
    confirm; the work check is made again (results may have come in since the request). The
    new draw freezes, commits and takes a seed of its own; the old one keeps everything it had.
    """
    _not_superseded(draw)
    pending = draw.redraw_pending
    if pending is None:
        raise Conflict(
            f"draw {draw.draw_id} has no redraw asked for; a draw officer asks first "
            "(with a written reason)",
            code="no_redraw_pending",
        )
    if not by:
        raise Invalid("who confirmed the redraw must be recorded")
    if by == pending.by:
        raise Forbidden(
            f"{by} asked for this redraw and cannot also confirm it: a second draw officer must",
            code="second_officer_required",
        )
    _no_work_done(draw, done)
    if new_draw_id == draw.draw_id:
        raise Invalid("the new draw needs a new id")
    old = replace(
        draw,
        state=DrawState.SUPERSEDED,
        superseded_by=new_draw_id,
        redraw_pending=None,
        redraw_reason=pending.reason,
        redraw_by=pending.by,
        redraw_confirmed_by=by,
        redraw_at=at,
    )
    new = Draw(
        draw_id=new_draw_id,
        plan_id=draw.plan_id,
        supersedes=draw.draw_id,
        redraw_reason=pending.reason,
        redraw_by=pending.by,
        redraw_confirmed_by=by,
        redraw_at=at,
    )
    return old, new
