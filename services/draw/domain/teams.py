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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.draw.domain.eligibility import (
    MIN_TEAM,
    Constraint,
    Group,
    Inspector,
    Roster,
    TeamTask,
    Unstaffed,
    cross_region_codes,
    diagnose,
    from_roster,
)
from services.kit.errors import Invalid

__all__ = [
    "MIN_TEAM",
    "Assignment",
    "Constraint",
    "Inspector",
    "TeamTask",
    "Unstaffed",
    "assign_teams",
    "cross_region_codes",
    "from_roster",
    "team_ticket",
]


@dataclass
class Assignment:
    """Teams per task id (inspector ids in pick order), unstaffed tasks, per-inspector counts."""

    teams: dict[str, tuple[str, ...]]
    unstaffed: list[Unstaffed]
    counts: dict[str, int]


def team_ticket(seed: str, task_id: str, inspector_id: str) -> str:
    """Hex ticket of an inspector for a task: SHA-256 of `f"{seed}|{task_id}|{inspector_id}"`."""
    return hashlib.sha256(f"{seed}|{task_id}|{inspector_id}".encode()).hexdigest()


def _smallest(
    groups: Sequence[Group],
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
    roster = Roster(inspectors)
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
                unstaffed.append(diagnose(roster, task, size))
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
                unstaffed.append(diagnose(roster, task, size))
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
