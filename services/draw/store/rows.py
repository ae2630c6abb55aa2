"""Typed rows the store returns where no domain object fits (no asyncpg.Record leaves the store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.draw.domain.staffing import StoredTask

Conn = Any  # asyncpg.Connection or a pool proxy of one

__all__ = ["Conn", "DrawExtra", "DrawListRow", "StoredTask", "StratumRow", "TaskRow"]


@dataclass(frozen=True, slots=True)
class DrawListRow:
    """One line of the list of draws."""

    draw_id: str
    plan_id: str
    state: str


@dataclass(frozen=True, slots=True)
class DrawExtra:
    """Columns of a draw that the domain object does not carry."""

    rules_version: str
    snapshot_id: str | None
    created_by: str
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class StratumRow:
    """A committed stratum: its frozen list's size and hash, k, and (after the seed) its
    selection and cut-off ticket."""

    stratum_id: str
    n: int
    bp: int | None
    count: int | None
    k: int
    candidates_sha256: str
    object_name: str
    selected: tuple[str, ...] | None
    cutoff_ticket: str | None


@dataclass(frozen=True, slots=True)
class TaskRow:
    """A task as the public list shows it: its body, state, absorbing task and progress."""

    task: dict[str, Any]
    state: str
    merged_into: str | None
    progress: str
