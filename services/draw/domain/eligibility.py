"""Who may take a task: the constraint types of team assignment and the roster's indexes.

`teams.py` lists the hard constraints in order and assigns teams; this module holds what it
checks against: inspectors and tasks, the (region, department) index, eligibility groups
bucketed by load (`Roster.bump` moves an inspector up a bucket when it takes a task), and the
diagnosis of a task that cannot be staffed (the first constraint after which too few remain).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from contracts.registry import InspectorRecord
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


def from_roster(roster: Iterable[InspectorRecord], loads: Mapping[str, int]) -> list[Inspector]:
    """The registry's roster as the team rules read it, each with the open tasks it holds
    (`loads`): the one reading of a roster for a draw, a triggered check and a re-staffing."""
    return [
        Inspector(
            inspector_id=p.inspector_id,
            department=p.department,
            region_codes=frozenset(p.region_codes),
            expertise=frozenset(p.expertise),
            certificate_expiry=p.certificate_expiry,
            active=p.status == "active",
            capacity=p.capacity,
            load=loads.get(p.inspector_id, 0),
            recusal_usccs=frozenset(p.recusal_usccs),
        )
        for p in roster
    ]


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


def cross_region_codes(
    region: str, served: Iterable[str], *, prefix_len: int = 4
) -> tuple[str, ...]:
    """Regions of the same prefecture (first `prefix_len` digits) as `region`, sorted."""
    p = region[:prefix_len]
    return tuple(sorted({r for r in served if r.startswith(p)} | {region}))


class Group:
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


class Roster:
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
        self._groups: dict[tuple[tuple[str, ...], str, date, frozenset[str]], Group] = {}
        self.groups_of: list[list[Group]] = [[] for _ in ordered]

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
    ) -> Group:
        """The eligibility group of (regions, dept, date, needs), made once per run."""
        key = (regions, dept, when, needs)
        g = self._groups.get(key)
        if g is None:
            members = {n for r in regions for n in self.static(r, dept, when, needs)}
            g = self._groups[key] = Group(members, self.count, self.left)
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


def diagnose(roster: Roster, task: TeamTask, size: int) -> Unstaffed:
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
