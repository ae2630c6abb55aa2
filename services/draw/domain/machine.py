"""The draw's life as pure state transitions (DESIGN §6.3, §6.7).

    freezing ──commit──► committed ──seed──► seeded ──select──► selected ──teams──► completed
        └────────────── redraw (written reason) ──► superseded (kept, public) + a new draw

A seed is refused before the commitment and refused the second time; a redraw needs a written
reason and never deletes the first draw: it is marked superseded and points at its successor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.draw.domain.seeds import SeedSource
from services.kit.errors import Conflict, Invalid

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


def redraw(
    draw: Draw, *, new_draw_id: str, reason: str, by: str, at: datetime
) -> tuple[Draw, Draw]:
    """Supersede `draw` with a fresh draw of the same plan; needs a written reason.

    Returns `(old marked superseded, new draw in state freezing)`. The new draw freezes,
    commits and takes a seed of its own; the old one keeps everything it had.
    """
    _not_superseded(draw)
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise Invalid(
            f"a redraw needs a written reason (at least {MIN_REASON_CHARS} characters)",
            code="reason_required",
        )
    if not by:
        raise Invalid("who ordered the redraw must be recorded")
    if new_draw_id == draw.draw_id:
        raise Invalid("the new draw needs a new id")
    old = replace(
        draw,
        state=DrawState.SUPERSEDED,
        superseded_by=new_draw_id,
        redraw_reason=text,
        redraw_by=by,
        redraw_at=at,
    )
    new = Draw(
        draw_id=new_draw_id,
        plan_id=draw.plan_id,
        supersedes=draw.draw_id,
        redraw_reason=text,
        redraw_by=by,
        redraw_at=at,
    )
    return old, new
