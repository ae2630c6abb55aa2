"""From selections to tasks: one visit per entity, batches, merging visits across plans.

Decisions (documented in docs/draw-spec.md):
- Each stratum is drawn on its own (its stratum id is in every ticket). An entity selected in
  several strata of one plan gets ONE task whose items, departments and methods are the union of
  those strata's; its batch is the earliest of its batches.
- Batches: the i-th selected entity (0-based, ticket order) of a stratum with k selected goes to
  batch `i * batches // k + 1`, so every stratum is spread evenly over the batches and the
  smallest tickets are visited first. Tasks are ordered by (batch, smallest ticket, uscc).
- 进一次门、查多项事: an open task of another plan for the same entity is absorbed when it is
  *not started* (the publisher has reported neither a start nor a result: `Progress`) and the
  two periods share at least one day (`shared_period`, the merge window): the new task carries
  all items, its period is the shared days, and the absorbed task is marked merged into it (it
  is kept, never deleted). A task in progress or with its result is never absorbed: its visit
  has happened, so the new plan's items need a visit of their own.
- Task ids are `f"{draw_id}:{uscc}"`: deterministic, so team tickets re-derive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from operator import attrgetter

from services.kit.errors import Invalid


@dataclass(frozen=True, slots=True)
class StratumSelection:
    """One stratum's selected USCCs with their tickets, in ticket order, and what it checks."""

    stratum_id: str
    selected: tuple[tuple[str, str], ...]  # (ticket hex, uscc)
    item_codes: tuple[str, ...]
    departments: tuple[str, ...]
    methods: tuple[str, ...] = ()
    batches: int = 1


@dataclass(slots=True)  # not frozen: a province makes 250k of these, frozen init is slow
class TaskDraft:
    """A task before its team: one entity, its items, its batch and its period."""

    task_id: str
    uscc: str
    item_codes: tuple[str, ...]
    departments: tuple[str, ...]
    methods: tuple[str, ...]
    batch: int
    first_ticket: str
    strata: tuple[str, ...]
    period_start: date
    period_end: date
    plan_ids: tuple[str, ...] = ()
    merged_from: tuple[str, ...] = field(default=())

    @property
    def joint(self) -> bool:
        """A task of more than one department (联合抽查)."""
        return len(self.departments) > 1


class Progress(StrEnum):
    """How far the inspectors are with a task, as the publisher reports it.

    Kept apart from a task's state (assigned / unstaffed / merged / superseded: what the draw
    did with it). `task.started` makes a task in progress, `result.accepted` result recorded,
    `task.cancelled` cancelled: called off before any result (the publisher refuses to cancel
    a task with one), so nothing comes after it.
    """

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    RESULT_RECORDED = "result_recorded"
    CANCELLED = "cancelled"


_RANK = {
    Progress.NOT_STARTED: 0,
    Progress.IN_PROGRESS: 1,
    Progress.RESULT_RECORDED: 2,
    Progress.CANCELLED: 3,
}


def advance(current: Progress, reported: Progress) -> Progress:
    """The progress after a report: it only moves forward.

    Reports arrive late, twice or out of order (a start queued offline after the result was
    entered, a redelivered event); none of them may make a task look less done than it is.
    """
    return reported if _RANK[reported] > _RANK[current] else current


def shared_period(a: tuple[date, date], b: tuple[date, date]) -> tuple[date, date] | None:
    """The merge window of two visits: the days both periods share, or None if there are none.

    The notice asks for one visit for several items "in the same period" (进一次门、查多项事);
    the joint rule joins strata whose periods overlap (rules/joint.yaml, the planner's
    resolve), and the draw applies the same window across plans: two visits merge only when
    their periods share at least one day, and the merged visit must happen on those days.
    With quarterly plans this is DESIGN §5's "same quarter"; annual plans share most of a year.
    """
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return None if start > end else (start, end)


@dataclass(frozen=True, slots=True)
class OpenTask:
    """A staffed or unstaffed task of an earlier draw, with how far its inspectors are."""

    task_id: str
    plan_id: str
    uscc: str
    item_codes: tuple[str, ...]
    departments: tuple[str, ...]
    methods: tuple[str, ...]
    period_start: date
    period_end: date
    progress: Progress = Progress.NOT_STARTED


def task_id_for(draw_id: str, uscc: str) -> str:
    """The deterministic id of a draw's task for one entity."""
    return f"{draw_id}:{uscc}"


def batch_of(position: int, k: int, batches: int) -> int:
    """1-based batch of the `position`-th selected (0-based) of a stratum of k selected."""
    if batches < 1:
        raise Invalid("batches must be at least 1")
    if not 0 <= position < k:
        raise Invalid(f"position {position} is outside 0..{k - 1}")
    return position * batches // k + 1


def _union(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({x for g in groups for x in g}))


def build_tasks(
    *,
    draw_id: str,
    plan_id: str,
    selections: Sequence[StratumSelection],
    period_start: date,
    period_end: date,
) -> list[TaskDraft]:
    """One task per selected entity, ordered by (batch, smallest ticket, uscc)."""
    if period_end < period_start:
        raise Invalid("the period ends before it starts")
    by_uscc: dict[str, TaskDraft] = {}
    get = by_uscc.get
    plan_ids = (plan_id,)
    for s in selections:
        k = len(s.selected)
        batches = s.batches
        if batches < 1:
            raise Invalid("batches must be at least 1")
        # One tuple per stratum, shared by its tasks.
        items, departments, methods = _union(s.item_codes), _union(s.departments), _union(s.methods)
        strata = (s.stratum_id,)
        for position, (tkt, uscc) in enumerate(s.selected):
            b = position * batches // k + 1  # batch_of(), inlined: this loop runs 250k times
            old = get(uscc)
            if old is None:
                # Positional: TaskDraft's field order (a province makes 250k of these).
                by_uscc[uscc] = TaskDraft(
                    f"{draw_id}:{uscc}",
                    uscc,
                    items,
                    departments,
                    methods,
                    b,
                    tkt,
                    strata,
                    period_start,
                    period_end,
                    plan_ids,
                )
            else:
                by_uscc[uscc] = replace(
                    old,
                    item_codes=_union(old.item_codes, s.item_codes),
                    departments=_union(old.departments, s.departments),
                    methods=_union(old.methods, s.methods),
                    batch=min(old.batch, b),
                    first_ticket=min(old.first_ticket, tkt),
                    strata=(*old.strata, s.stratum_id),
                )
    return sorted(by_uscc.values(), key=attrgetter("batch", "first_ticket", "uscc"))


def merge_visits(
    tasks: Sequence[TaskDraft], open_tasks: Iterable[OpenTask]
) -> tuple[list[TaskDraft], dict[str, str]]:
    """Absorb not-started tasks of other plans for the same entity within the merge window.

    Returns the tasks (with merged items) and `{absorbed task id: absorbing task id}`.
    An open task is absorbed at most once (by the first task, in task order, it fits); a task
    in progress or with its result recorded never is (its visit happened: absorbing it would
    pretend the new items were checked, or send inspectors back to a finished task).
    """
    by_uscc: dict[str, list[OpenTask]] = {}
    for o in open_tasks:
        by_uscc.setdefault(o.uscc, []).append(o)
    for group in by_uscc.values():
        group.sort(key=lambda o: o.task_id)
    merged: dict[str, str] = {}
    out: list[TaskDraft] = []
    for t in tasks:
        for o in by_uscc.get(t.uscc, ()):
            if o.task_id in merged or o.plan_id in t.plan_ids:
                continue
            if o.progress is not Progress.NOT_STARTED:
                continue
            window = shared_period((t.period_start, t.period_end), (o.period_start, o.period_end))
            if window is None:
                continue
            start, end = window
            t = replace(
                t,
                item_codes=_union(t.item_codes, o.item_codes),
                departments=_union(t.departments, o.departments),
                methods=_union(t.methods, o.methods),
                period_start=start,
                period_end=end,
                plan_ids=(*t.plan_ids, o.plan_id),
                merged_from=(*t.merged_from, o.task_id),
            )
            merged[o.task_id] = t.task_id
        out.append(t)
    return out, merged
