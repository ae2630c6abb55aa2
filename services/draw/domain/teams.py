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

Scale (250k tasks, 5,000 inspectors): inspectors are indexed by (region, department); each
eligibility group (regions, department, check date, expertise needed) is made once, its members
bucketed by their count in this draw and moved up a bucket when they take a task. A task looks
only at its group's least-loaded bucket and computes tickets only for that bucket's members
(the candidates it must compare), minus the few blocked for this entity (recusal, last team).
The result is the same as filtering everyone and sorting by (count, ticket): the unit tests
compare both on random rosters.
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


class _Group:
    """The inspectors of one eligibility group, bucketed by their count in this draw.

    A group is (regions, department, check date, expertise needed): everything static about
    eligibility. `levels[c]` holds the members with c tasks in this draw and capacity left;
    the buckets follow the counts, so a pick looks only at the least-loaded bucket (and hashes
    only its members) instead of scanning the whole pool.
    """

    __slots__ = ("alive", "levels")

    def __init__(self, members: Iterable[int], count: list[int], left: list[int]) -> None:
        self.alive: set[int] = set()
        self.levels: dict[int, set[int]] = {}
        for n in members:
            if left[n] > 0:
                self.alive.add(n)
                self.levels.setdefault(count[n], set()).add(n)


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
        self._groups: dict[tuple[tuple[str, ...], str, date, frozenset[str]], _Group] = {}
        self.groups_of: list[list[_Group]] = [[] for _ in ordered]

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

    def group(
        self, regions: tuple[str, ...], dept: str, when: date, needs: frozenset[str]
    ) -> _Group:
        """The eligibility group of (regions, dept, date, needs), made once per run."""
        key = (regions, dept, when, needs)
        g = self._groups.get(key)
        if g is None:
            members = {n for r in regions for n in self.static(r, dept, when, needs)}
            g = self._groups[key] = _Group(members, self.count, self.left)
            for n in g.alive:
                self.groups_of[n].append(g)
        return g

    def bump(self, n: int) -> None:
        """One more task for inspector n: up one level in each of its groups, or out when full."""
        c = self.count[n]
        self.count[n] = c + 1
        self.left[n] -= 1
        full = self.left[n] <= 0
        for g in self.groups_of[n]:
            if n not in g.alive:  # out of this group already (capacity)
                continue
            levels = g.levels
            bucket = levels[c]
            bucket.discard(n)
            if not bucket:
                del levels[c]
            if full:
                g.alive.discard(n)
            else:
                up = levels.get(c + 1)
                if up is None:
                    levels[c + 1] = {n}
                else:
                    up.add(n)


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


def _smallest(
    groups: Sequence[_Group],
    excl: set[int],
    need: int,
    prefix: hashlib._Hash,
    id_bytes: list[bytes],
) -> list[int]:
    """Up to `need` members of `groups` not in `excl`, smallest (count, ticket) first.

    Levels are walked from the least loaded up; tickets are computed only within a level that
    has to be ordered (more than one candidate), never for the rest of the pool. Equal tickets
    (never seen) would fall back to roster order. `prefix` is a SHA-256 object that has hashed
    `f"{seed}|{task_id}|"`: copying it is cheaper than hashing the whole input again.
    """
    out: list[int] = []
    one = groups[0].levels if len(groups) == 1 else None
    steps = sorted(one) if one is not None else sorted({c for g in groups for c in g.levels})
    for c in steps:
        if one is not None:
            members: Iterable[int] = one[c]
        else:
            members = {n for g in groups for n in g.levels.get(c, ())}
        cands = [n for n in members if n not in excl] if excl else list(members)
        if not cands:
            continue
        if len(cands) > 1:
            keyed = []
            for n in cands:
                h = prefix.copy()
                h.update(id_bytes[n])
                keyed.append((h.digest(), n))
            keyed.sort()
            cands = [n for _, n in keyed]
        out += cands[: need - len(out)]
        if len(out) >= need:
            break
    return out


def assign_teams(
    seed: str, tasks: Sequence[TeamTask], inspectors: Sequence[Inspector]
) -> Assignment:
    """Staff every task in the order given; never against a hard constraint.

    Deterministic: the same seed, tasks (in the same order) and roster give the same teams.
    Counts do not change within a task, so the picks (least loaded, then smallest ticket) are:
    in a joint task the smallest (count, ticket) inspector of each department, departments in
    order; then the smallest of all others until the team is full.
    """
    return _assign(seed, tasks, inspectors)


def _assign(seed: str, tasks: Sequence[TeamTask], inspectors: Sequence[Inspector]) -> Assignment:
    roster = _Roster(inspectors)
    teams: dict[str, tuple[str, ...]] = {}
    unstaffed: list[Unstaffed] = []
    ids = roster.ids
    id_bytes = [i.encode() for i in ids]
    pos = roster.pos
    recused_of = roster.recused
    group_of = roster.group
    bump = roster.bump
    seed_bytes = f"{seed}|".encode()
    sha = hashlib.sha256
    empty: frozenset[str] = frozenset()
    sorted_depts: dict[tuple[str, ...], tuple[str, ...]] = {}
    for task in tasks:
        tid = task.task_id
        if task.team_size < MIN_TEAM:
            raise Invalid(f"task {tid}: a team has at least {MIN_TEAM} inspectors")
        if tid in teams:
            raise Invalid(f"task {tid} appears twice")
        depts = sorted_depts.get(task.departments)
        if depts is None:
            depts = sorted_depts[task.departments] = tuple(sorted(set(task.departments)))
        size = max(task.team_size, len(depts))
        recused = recused_of.get(task.uscc)
        blocked: set[int] = set(recused) if recused else set()
        for iid in task.last_inspectors:
            n = pos.get(iid)
            if n is not None:
                blocked.add(n)
        for iid in task.recused:
            n = pos.get(iid)
            if n is not None:
                blocked.add(n)
        regions, when, needs = task.regions, task.check_date, task.expertise
        team: list[int]
        if len(depts) == 1:
            # The common case, inlined: one eligibility group.
            g = group_of(regions, depts[0], when, needs.get(depts[0], empty))
            alive = g.alive
            hit = blocked & alive if blocked else blocked
            if len(alive) - len(hit) < size:
                unstaffed.append(_diagnose(roster, task, size))
                continue
            levels = g.levels
            low = levels[min(levels)]
            cands = low - hit if hit else low
            prefix = sha(seed_bytes + f"{tid}|".encode())
            if len(cands) >= size:
                copy = prefix.copy
                keyed = []
                for n in cands:
                    h = copy()
                    h.update(id_bytes[n])
                    keyed.append((h.digest(), n))
                keyed.sort()
                team = [n for _, n in keyed[:size]]
            else:
                team = _smallest([g], hit, size, prefix, id_bytes)
        else:
            groups = [group_of(regions, d, when, needs.get(d, empty)) for d in depts]
            total = 0
            short = False
            for g in groups:
                have = len(g.alive) - len(blocked & g.alive)
                total += have
                short = short or have <= 0
            if total < size or short:
                unstaffed.append(_diagnose(roster, task, size))
                continue
            prefix = sha(seed_bytes + f"{tid}|".encode())
            team = []
            for g in groups:
                team += _smallest([g], blocked, 1, prefix, id_bytes)
            team += _smallest(groups, blocked | set(team), size - len(team), prefix, id_bytes)
        assert len(team) == size  # the counts above guarantee it
        for n in team:
            bump(n)
        teams[tid] = tuple([ids[n] for n in team])
    counts = {ids[n]: c for n, c in enumerate(roster.count) if c}
    return Assignment(teams=teams, unstaffed=unstaffed, counts=counts)
