"""随机选派: random, load-balanced inspector teams that never break a hard constraint.

Each task is staffed in the draw's task order. An inspector is eligible for a task when he or
she (checked in this order, which is also the order of diagnosis):
1. `region`: serves one of the task's regions (the entity's, or the plan's cross-region set);
2. `department`: belongs to one of the task's departments;
3. `active`: is active;
4. `certificate`: holds a certificate valid on the check date;
5. `expertise`: has every expertise the task's items of his or her department need;
6. `recusal`: is not recused for this entity;
7. `last_inspector`: did not check this entity last time;
8. `capacity`: holds fewer tasks than the capacity (earlier load + this draw's).
A team has at least `team_size` (≥ 2) members and, in a joint task, at least one eligible
inspector of each department (`team_size`, `joint_departments`).

Choice: first one inspector per department (joint tasks, departments in order), then the rest;
each pick takes the eligible inspector with the fewest tasks in this draw, ties broken by the
smallest ticket `sha256(f"{seed}|{task_id}|{inspector_id}")`. Picking the least loaded keeps
inspectors who are eligible for the same tasks within one task of each other.

A task that cannot be staffed gets no team and names the first constraint (in the order above)
after which too few inspectors remained; nothing is ever staffed against a constraint.

Scale: inspectors are indexed by (region, department); the static filters (active,
certificate, expertise) are cached per (region, department, check date, expertise), so a task
only looks at its own region's inspectors, and tickets are computed only for the least-loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from services.draw.domain.spec import validate_id
from services.kit.errors import Invalid

MIN_TEAM = 2


class Constraint(StrEnum):
    """A hard constraint of team assignment, in the order they are checked."""

    REGION = "region"
    DEPARTMENT = "department"
    ACTIVE = "active"
    CERTIFICATE = "certificate"
    EXPERTISE = "expertise"
    RECUSAL = "recusal"
    LAST_INSPECTOR = "last_inspector"
    CAPACITY = "capacity"
    TEAM_SIZE = "team_size"
    JOINT_DEPARTMENTS = "joint_departments"


@dataclass(frozen=True, slots=True)
class Inspector:
    """What team assignment needs to know about one inspector."""

    inspector_id: str
    department: str
    region_codes: frozenset[str]
    expertise: frozenset[str] = frozenset()
    certificate_expiry: date = date.min  # date.min: no certificate
    active: bool = True
    capacity: int = 50
    load: int = 0  # open tasks held before this draw
    recusal_usccs: frozenset[str] = frozenset()


@dataclass(slots=True)  # not frozen: 250k of these per province draw
class TeamTask:
    """A task to staff. `expertise` maps a department to what its members must know."""

    task_id: str
    uscc: str
    regions: tuple[str, ...]
    departments: tuple[str, ...]
    check_date: date
    expertise: Mapping[str, frozenset[str]] = field(default_factory=dict)
    last_inspectors: frozenset[str] = frozenset()
    recused: frozenset[str] = frozenset()  # recusals declared for this task
    team_size: int = MIN_TEAM


@dataclass(frozen=True, slots=True)
class Unstaffed:
    """A task that could not be staffed, and why."""

    task_id: str
    constraint: Constraint
    detail: str


@dataclass
class Assignment:
    """Teams per task id (inspector ids in pick order), unstaffed tasks, per-inspector counts."""

    teams: dict[str, tuple[str, ...]]
    unstaffed: list[Unstaffed]
    counts: dict[str, int]


def team_ticket(seed: str, task_id: str, inspector_id: str) -> str:
    """Hex ticket of an inspector for a task: SHA-256 of `f"{seed}|{task_id}|{inspector_id}"`."""
    return hashlib.sha256(f"{seed}|{task_id}|{inspector_id}".encode()).hexdigest()


def cross_region_codes(
    region: str, served: Iterable[str], *, prefix_len: int = 4
) -> tuple[str, ...]:
    """Regions of the same prefecture (first `prefix_len` digits) as `region`, sorted."""
    p = region[:prefix_len]
    return tuple(sorted({r for r in served if r.startswith(p)} | {region}))


class _Roster:
    """Inspectors as flat lists plus indexes; built once per assignment run."""

    def __init__(self, inspectors: Sequence[Inspector]) -> None:
        ordered = sorted(inspectors, key=lambda i: i.inspector_id)
        self.people = ordered
        self.ids = [i.inspector_id for i in ordered]
        if len(set(self.ids)) != len(self.ids):
            raise Invalid("an inspector appears twice in the roster")
        for i in self.ids:
            validate_id(i, what="inspector_id")
        self.pos = {iid: n for n, iid in enumerate(self.ids)}
        self.left = [max(0, i.capacity - i.load) for i in ordered]
        self.count = [0] * len(ordered)
        self.index: dict[tuple[str, str], list[int]] = {}
        self.recused: dict[str, set[int]] = {}
        for n, person in enumerate(ordered):
            for r in sorted(person.region_codes):
                self.index.setdefault((r, person.department), []).append(n)
            for u in person.recusal_usccs:
                self.recused.setdefault(u, set()).add(n)
        self._static: dict[tuple[str, str, date, frozenset[str]], list[int]] = {}

    def static(self, region: str, dept: str, when: date, needs: frozenset[str]) -> list[int]:
        """Inspectors of (region, dept) that are active, certified on `when`, knowing `needs`."""
        key = (region, dept, when, needs)
        got = self._static.get(key)
        if got is None:
            got = [
                n
                for n in self.index.get((region, dept), ())
                if self.people[n].active
                and self.people[n].certificate_expiry >= when
                and needs <= self.people[n].expertise
            ]
            self._static[key] = got
        return got


def _eligible(roster: _Roster, task: TeamTask) -> dict[str, list[int]]:
    """Eligible inspectors of the task per department (deduplicated, roster order)."""
    blocked: set[int] = set(roster.recused.get(task.uscc, ()))
    for iid in (*task.last_inspectors, *task.recused):
        n = roster.pos.get(iid)
        if n is not None:
            blocked.add(n)
    left = roster.left
    out: dict[str, list[int]] = {}
    for dept in task.departments:
        needs = task.expertise.get(dept, frozenset())
        if len(task.regions) == 1:  # the common case: no duplicates possible
            pool = roster.static(task.regions[0], dept, task.check_date, needs)
            out[dept] = [n for n in pool if left[n] > 0 and n not in blocked]
            continue
        seen: set[int] = set()
        chosen: list[int] = []
        for region in task.regions:
            for n in roster.static(region, dept, task.check_date, needs):
                if n in seen or n in blocked or left[n] <= 0:
                    continue
                seen.add(n)
                chosen.append(n)
        out[dept] = chosen
    return out


def _diagnose(roster: _Roster, task: TeamTask, size: int) -> Unstaffed:
    """Name the first constraint after which the task can no longer be staffed."""
    blocked_recusal = set(roster.recused.get(task.uscc, ()))
    blocked_recusal |= {roster.pos[i] for i in task.recused if i in roster.pos}
    last = {roster.pos[i] for i in task.last_inspectors if i in roster.pos}
    people = roster.people
    regions = set(task.regions)
    survivors = {n for (r, _), ns in roster.index.items() if r in regions for n in ns}
    checks: list[tuple[Constraint, Callable[[int], bool]]] = [
        (Constraint.DEPARTMENT, lambda n: people[n].department in task.departments),
        (Constraint.ACTIVE, lambda n: people[n].active),
        (
            Constraint.CERTIFICATE,
            lambda n: people[n].certificate_expiry >= task.check_date,
        ),
        (
            Constraint.EXPERTISE,
            lambda n: task.expertise.get(people[n].department, frozenset()) <= people[n].expertise,
        ),
        (Constraint.RECUSAL, lambda n: n not in blocked_recusal),
        (Constraint.LAST_INSPECTOR, lambda n: n not in last),
        (Constraint.CAPACITY, lambda n: roster.left[n] > 0),
    ]

    def short(s: set[int]) -> str | None:
        if len(s) < size:
            return f"{len(s)} inspector(s) left, a team needs {size}"
        have = {people[n].department for n in s}
        missing = [d for d in task.departments if d not in have]
        if missing:
            return f"no inspector of department {', '.join(missing)} left"
        return None

    problem = short(survivors)
    if problem is not None:
        return Unstaffed(
            task.task_id, Constraint.REGION, f"in {', '.join(task.regions)}: {problem}"
        )
    for constraint, ok in checks:
        survivors = {n for n in survivors if ok(n)}
        problem = short(survivors)
        if problem is not None:
            return Unstaffed(task.task_id, constraint, problem)
    # Not reached when _eligible found too few; kept so a bug never staffs wrongly.
    return Unstaffed(task.task_id, Constraint.TEAM_SIZE, "too few eligible inspectors")


def _pick(
    candidates: Iterable[int],
    taken: set[int],
    count: list[int],
    prefix: bytes,
    id_bytes: list[bytes],
    cache: dict[int, bytes],
) -> int | None:
    """The least-loaded candidate not yet taken; ties by the smallest ticket.

    Tickets are computed only for the least-loaded group and cached for the task's next pick.
    """
    best_load: int | None = None
    group: list[int] = []
    for n in candidates:
        if n in taken:
            continue
        c = count[n]
        if best_load is None or c < best_load:
            best_load = c
            group = [n]
        elif c == best_load:
            group.append(n)
    if not group:
        return None
    if len(group) == 1:
        return group[0]
    sha = hashlib.sha256
    for n in group:
        if n not in cache:
            cache[n] = sha(prefix + id_bytes[n]).digest()
    return min(group, key=cache.__getitem__)


def assign_teams(
    seed: str, tasks: Sequence[TeamTask], inspectors: Sequence[Inspector]
) -> Assignment:
    """Staff every task in the order given; never against a hard constraint.

    Deterministic: the same seed, tasks (in the same order) and roster give the same teams.
    """
    roster = _Roster(inspectors)
    teams: dict[str, tuple[str, ...]] = {}
    unstaffed: list[Unstaffed] = []
    ids = roster.ids
    id_bytes = [i.encode() for i in ids]
    count = roster.count
    left = roster.left
    for task in tasks:
        if task.team_size < MIN_TEAM:
            raise Invalid(f"task {task.task_id}: a team has at least {MIN_TEAM} inspectors")
        if task.task_id in teams:
            raise Invalid(f"task {task.task_id} appears twice")
        depts = tuple(sorted(set(task.departments)))
        size = max(task.team_size, len(depts))
        eligible = _eligible(roster, task)
        total = sum(len(v) for v in eligible.values())
        if total < size or any(not eligible[d] for d in depts):
            unstaffed.append(_diagnose(roster, task, size))
            continue
        prefix = f"{seed}|{task.task_id}|".encode()
        cache: dict[int, bytes] = {}
        taken: set[int] = set()
        team: list[int] = []
        if len(depts) > 1:
            for d in depts:
                n = _pick(eligible[d], taken, count, prefix, id_bytes, cache)
                assert n is not None
                taken.add(n)
                team.append(n)
        everyone = [n for d in depts for n in eligible[d]]
        while len(team) < size:
            n = _pick(everyone, taken, count, prefix, id_bytes, cache)
            assert n is not None  # total ≥ size was checked
            taken.add(n)
            team.append(n)
        for n in team:
            count[n] += 1
            left[n] -= 1
        teams[task.task_id] = tuple(ids[n] for n in team)
    counts = {ids[n]: c for n, c in enumerate(count) if c}
    return Assignment(teams=teams, unstaffed=unstaffed, counts=counts)
