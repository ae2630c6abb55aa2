"""The rows of the four public notices (四类公示) and their search.

抽查事项清单 (items), 计划公告 (plans), 任务公告 (tasks), 结果公告 (results). These are plain
values the store fills from the publisher's own copies of events; the renderers in `pages.py`
and `opendata.py` turn them into HTML, JSON, CSV and Atom.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar


@dataclass(frozen=True, slots=True)
class ItemNotice:
    """A line of the item catalogue (抽查事项清单)."""

    code: str
    name: str
    department: str
    kind: str  # general / priority
    basis: str = ""  # legal basis


@dataclass(frozen=True, slots=True)
class PlanNotice:
    """An approved sampling plan (计划公告)."""

    plan_id: str
    year: int
    title: str
    departments: tuple[str, ...]
    approved_at: datetime
    strata: int = 0
    rules_version: str = ""


@dataclass(frozen=True, slots=True)
class TaskNotice:
    """A task (任务公告): entity, items, authority, period, and the draw that chose it."""

    task_id: str
    plan_id: str
    uscc: str
    entity_name: str
    items: tuple[str, ...]  # item names
    authority: tuple[str, ...]  # departments
    period_start: date
    period_end: date
    draw_id: str = ""
    superseded_by: str | None = None  # the draw's redraw, when it was superseded
    # not_started | in_progress (visit begun) | result_recorded (a result was accepted) |
    # merged (a later visit took it over: its items are checked there)
    progress: str = "not_started"


@dataclass(frozen=True, slots=True)
class DrawNotice:
    """A completed draw (随机抽取结果) heading its tasks; a superseded one stays public, marked."""

    draw_id: str
    plan_id: str | None
    completed_at: datetime | None
    tasks: int | None
    unstaffed: int | None = None
    seed: str | None = None
    seed_source: str | None = None
    commitment_sha256: str | None = None
    supersedes: str | None = None
    superseded_by: str | None = None
    superseded_reason: str | None = None
    superseded_at: datetime | None = None
    # The two draw officers of the redraw: who asked for it and who confirmed it.
    superseded_requested_by: str | None = None
    superseded_confirmed_by: str | None = None

    @property
    def superseded(self) -> bool:
        """Whether a redraw replaced this draw."""
        return self.superseded_by is not None


@dataclass(frozen=True, slots=True)
class ResultItemNotice:
    """An item's published outcome."""

    item_code: str
    category_code: str
    category_name: str
    problems: str = ""


@dataclass(frozen=True, slots=True)
class ResultVersionNotice:
    """An earlier version of a result, shown as its history."""

    version: int
    published_at: datetime
    categories: tuple[str, ...]
    correction_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ResultNotice:
    """A result (结果公告): the latest version, with the versions it replaced."""

    result_id: str
    version: int
    task_id: str
    uscc: str
    entity_name: str
    authority: tuple[str, ...]
    check_date: date
    published_at: datetime
    items: tuple[ResultItemNotice, ...]
    violation: bool
    correction_reason: str | None = None
    history: tuple[ResultVersionNotice, ...] = field(default=())
    due_date: date | None = None  # the last day to publish (20 working days after the check)
    # The due date counts days of a year whose holidays the State Council has not published
    # yet (weekends and statutory holidays only); it is recounted when they are.
    due_date_provisional: bool = False


USCC_LENGTH = 18


def normalise_query(query: str | None) -> str:
    """Trim a search query; ASCII letters and digits are upper-cased (USCCs are upper case)."""
    q = (query or "").strip()
    return q.upper() if q.isascii() and q.isalnum() else q


def matches(query: str, *, uscc: str, name: str) -> bool:
    """Whether a notice about (uscc, name) answers a search (USCC exact or prefix, or name part).

    An empty query matches everything. A full 18-character code matches only that entity.
    """
    q = normalise_query(query)
    if not q:
        return True
    if q.isascii() and len(q) == USCC_LENGTH:
        return uscc.upper() == q
    return uscc.upper().startswith(q) or q in name


T = TypeVar("T", TaskNotice, ResultNotice)


def search(rows: Iterable[T], query: str | None) -> list[T]:
    """The task or result notices that match a query, in their given order."""
    q = normalise_query(query)
    return [r for r in rows if matches(q, uscc=r.uscc, name=r.entity_name)]


def page(rows: Sequence[T], *, number: int, size: int) -> list[T]:
    """One page (1-based) of rows."""
    if number < 1 or size < 1:
        raise ValueError("page number and size start at 1")
    start = (number - 1) * size
    return list(rows[start : start + size])
