"""随机选派: each hard constraint alone prevents a wrong team; balance; reasons; determinism."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.draw.domain.teams import (
    Constraint,
    Inspector,
    TeamTask,
    assign_teams,
    cross_region_codes,
    team_ticket,
)
from services.kit.errors import Invalid

SEED = "12345678901234567890"
DAY = date(2026, 12, 31)
R = "360202"
U = "91360202MA3500005R"


def person(iid: str, **kw: Any) -> Inspector:
    base = Inspector(
        inspector_id=iid,
        department="SCJG",
        region_codes=frozenset({R}),
        expertise=frozenset({"food", "general"}),
        certificate_expiry=date(2028, 1, 1),
    )
    return replace(base, **kw)


def task(tid: str = "D1:" + U, **kw: Any) -> TeamTask:
    base = TeamTask(
        task_id=tid,
        uscc=U,
        regions=(R,),
        departments=("SCJG",),
        check_date=DAY,
        expertise={"SCJG": frozenset({"food"})},
    )
    return replace(base, **kw)


CASES: list[tuple[Constraint, dict[str, Any], dict[str, Any]]] = [
    (Constraint.REGION, {"region_codes": frozenset({"360203"})}, {}),
    (Constraint.DEPARTMENT, {"department": "SW"}, {}),
    (Constraint.ACTIVE, {"active": False}, {}),
    (Constraint.CERTIFICATE, {"certificate_expiry": date(2026, 12, 30)}, {}),
    (Constraint.EXPERTISE, {"expertise": frozenset({"general"})}, {}),
    (Constraint.RECUSAL, {"recusal_usccs": frozenset({U})}, {}),
    (Constraint.RECUSAL, {}, {"recused": frozenset({"C"})}),
    (Constraint.LAST_INSPECTOR, {}, {"last_inspectors": frozenset({"C"})}),
    (Constraint.CAPACITY, {"capacity": 3, "load": 3}, {}),
]


@pytest.mark.parametrize(("constraint", "bad", "task_kw"), CASES, ids=[c[0] for c in CASES])
def test_each_constraint_alone_prevents_the_assignment(
    constraint: Constraint, bad: dict[str, Any], task_kw: dict[str, Any]
) -> None:
    control = assign_teams(SEED, [task()], [person("A"), person("C")])
    assert set(control.teams["D1:" + U]) == {"A", "C"}  # without the violation C is taken

    roster = [person("A"), person("C", **bad)]
    result = assign_teams(SEED, [task(**task_kw)], roster)
    assert result.teams == {}
    assert [(u.task_id, u.constraint) for u in result.unstaffed] == [("D1:" + U, constraint)]


@pytest.mark.parametrize(("constraint", "bad", "task_kw"), CASES, ids=[c[0] for c in CASES])
def test_the_violator_is_never_picked_even_when_preferred(
    constraint: Constraint, bad: dict[str, Any], task_kw: dict[str, Any]
) -> None:
    """With enough good inspectors the violator, least loaded and first by ticket, is skipped."""
    roster = [person("A"), person("B"), person("C", **bad)]
    tasks = [task(f"D1:T{i}", **task_kw) for i in range(30)]
    result = assign_teams(SEED, tasks, roster)
    assert not result.unstaffed
    assert all("C" not in team for team in result.teams.values())
    assert result.counts == {"A": 30, "B": 30}


def test_certificate_valid_on_the_check_date_itself() -> None:
    roster = [person("A"), person("C", certificate_expiry=DAY)]
    assert set(assign_teams(SEED, [task()], roster).teams["D1:" + U]) == {"A", "C"}


def test_capacity_is_used_up_within_the_draw() -> None:
    roster = [person("A", capacity=5), person("B", capacity=5), person("C", capacity=1)]
    result = assign_teams(SEED, [task(f"D1:T{i}") for i in range(6)], roster)
    assert sum(result.counts.values()) == 10 and result.counts["C"] == 1
    assert len(result.teams) == 5
    assert [u.constraint for u in result.unstaffed] == [Constraint.CAPACITY]


def test_never_a_team_of_one() -> None:
    result = assign_teams(SEED, [task()], [person("A")])
    assert result.teams == {}
    assert result.unstaffed[0].constraint is Constraint.REGION
    assert "1 inspector(s) left, a team needs 2" in result.unstaffed[0].detail
    with pytest.raises(Invalid):
        assign_teams(SEED, [task(team_size=1)], [person("A"), person("B")])


def test_joint_task_has_one_of_each_department() -> None:
    roster = [person(x) for x in "ABCD"] + [
        person("S", department="SW", expertise=frozenset({"tax"}))
    ]
    t = task(
        departments=("SCJG", "SW"),
        expertise={"SCJG": frozenset({"food"}), "SW": frozenset({"tax"})},
    )
    result = assign_teams(SEED, [t], roster)
    team = result.teams[t.task_id]
    assert "S" in team and len(team) == 2
    # The SW inspector alone fails a constraint: the joint task cannot be staffed.
    roster[-1] = replace(roster[-1], active=False)
    result = assign_teams(SEED, [t], roster)
    assert result.teams == {}
    assert result.unstaffed[0].constraint is Constraint.ACTIVE
    assert "department SW" in result.unstaffed[0].detail


def test_joint_task_with_no_inspector_of_a_department_names_it() -> None:
    t = task(departments=("SCJG", "SW"))
    result = assign_teams(SEED, [t], [person("A"), person("B")])
    assert result.unstaffed[0].constraint is Constraint.REGION
    assert "department SW" in result.unstaffed[0].detail


def test_load_is_balanced_within_one() -> None:
    roster = [person(f"I{i}") for i in range(10)]
    result = assign_teams(SEED, [task(f"D1:T{i:03d}") for i in range(97)], roster)
    counts = [result.counts.get(f"I{i}", 0) for i in range(10)]
    assert sum(counts) == 194 and max(counts) - min(counts) <= 1


def test_balance_holds_where_constraints_allow() -> None:
    roster = [person(f"I{i}") for i in range(6)] + [person("X", recusal_usccs=frozenset({"U1"}))]
    tasks = [task(f"D1:T{i:03d}", uscc="U1" if i < 20 else U) for i in range(40)]
    result = assign_teams(SEED, tasks, roster)
    assert all("X" not in result.teams[t.task_id] for t in tasks[:20])
    counts = [result.counts.get(f"I{i}", 0) for i in range(6)]
    assert max(counts) - min(counts) <= 1
    assert result.counts["X"] <= max(counts)


def test_ties_go_to_the_smallest_ticket_and_rederive() -> None:
    roster = [person(f"I{i}") for i in range(8)]
    t = task()
    team = assign_teams(SEED, [t], roster).teams[t.task_id]
    by_ticket = sorted(roster, key=lambda p: team_ticket(SEED, t.task_id, p.inspector_id))
    assert list(team) == [p.inspector_id for p in by_ticket[:2]]
    assert assign_teams(SEED, [t], list(reversed(roster))).teams[t.task_id] == team
    other = assign_teams("98765432109876543210", [task(f"D1:T{i}") for i in range(20)], roster)
    same = assign_teams(SEED, [task(f"D1:T{i}") for i in range(20)], roster)
    assert other.teams != same.teams


def test_cross_region_codes() -> None:
    assert cross_region_codes("360202", ["360203", "360222", "361002", "360202"]) == (
        "360202",
        "360203",
        "360222",
    )


def test_cross_region_task_uses_other_regions() -> None:
    roster = [person("A"), person("B", region_codes=frozenset({"360203"}))]
    assert assign_teams(SEED, [task()], roster).teams == {}
    result = assign_teams(SEED, [task(regions=("360202", "360203"))], roster)
    assert set(result.teams["D1:" + U]) == {"A", "B"}


_ids = st.sampled_from([f"I{i}" for i in range(12)])
_PEOPLE = st.lists(
    st.tuples(
        st.sampled_from(["SCJG", "SW"]),
        st.sets(st.sampled_from(["360202", "360203"]), min_size=1),
        st.sets(st.sampled_from(["food", "tax", "general"])),
        st.booleans(),
        st.integers(0, 4),
        st.sampled_from([date(2026, 6, 1), date(2027, 1, 1)]),
        st.sets(st.sampled_from(["U0", "U1", "U2"]), max_size=1),
    ),
    max_size=12,
)
_JOBS = st.lists(
    st.tuples(
        st.sampled_from(["U0", "U1", "U2"]),
        st.sampled_from([("360202",), ("360203",), ("360202", "360203")]),
        st.sampled_from([("SCJG",), ("SW",), ("SCJG", "SW")]),
        st.sets(st.sampled_from(["food", "tax"]), max_size=1),
        st.sets(_ids, max_size=2),
        st.sampled_from([2, 2, 3]),
    ),
    max_size=15,
)


def _inputs(people: list[tuple], jobs: list[tuple]) -> tuple[list[Inspector], list[TeamTask]]:  # type: ignore[type-arg]
    roster = [
        Inspector(f"I{i}", d, frozenset(r), frozenset(e), exp, act, cap, 0, frozenset(rec))
        for i, (d, r, e, act, cap, exp, rec) in enumerate(people)
    ]
    tasks = [
        TeamTask(
            f"D:T{j}",
            u,
            regions,
            deps,
            DAY,
            {d: frozenset(need) for d in deps},
            frozenset(last),
            team_size=size,
        )
        for j, (u, regions, deps, need, last, size) in enumerate(jobs)
    ]
    return roster, tasks


def _reference(seed: str, tasks: list[TeamTask], roster: list[Inspector]) -> dict[str, tuple]:  # type: ignore[type-arg]
    """docs/draw-spec.md §7 written the obvious way: filter everyone, sort by (count, ticket)."""
    count = {p.inspector_id: 0 for p in roster}
    out: dict[str, tuple] = {}  # type: ignore[type-arg]
    for t in tasks:
        depts = sorted(set(t.departments))
        size = max(t.team_size, len(depts))
        eligible = {
            p.inspector_id: p.department
            for p in roster
            if set(t.regions) & p.region_codes
            and p.department in depts
            and p.active
            and p.certificate_expiry >= t.check_date
            and t.expertise.get(p.department, frozenset()) <= p.expertise
            and t.uscc not in p.recusal_usccs
            and p.inspector_id not in t.recused | t.last_inspectors
            and p.load + count[p.inspector_id] < p.capacity
        }
        if len(eligible) < size or set(depts) - set(eligible.values()):
            continue

        def key(i: str, t: TeamTask = t) -> tuple[int, str, str]:
            return count[i], team_ticket(seed, t.task_id, i), i

        team: list[str] = []
        if len(depts) > 1:
            team = [min((i for i, d in eligible.items() if d == dep), key=key) for dep in depts]
        team += sorted((i for i in eligible if i not in team), key=key)[: size - len(team)]
        for i in team:
            count[i] += 1
        out[t.task_id] = tuple(team)
    return out


@settings(max_examples=150, deadline=None)
@given(people=_PEOPLE, jobs=_JOBS)
def test_teams_equal_the_plain_reading_of_the_spec(people: list[tuple], jobs: list[tuple]) -> None:  # type: ignore[type-arg]
    roster, tasks = _inputs(people, jobs)
    result = assign_teams(SEED, tasks, roster)
    assert result.teams == _reference(SEED, tasks, roster)
    assert [u.task_id for u in result.unstaffed] == [
        t.task_id for t in tasks if t.task_id not in result.teams
    ]


@settings(max_examples=60, deadline=None)
@given(people=_PEOPLE, jobs=_JOBS)
def test_no_team_ever_breaks_a_constraint(people: list[tuple], jobs: list[tuple]) -> None:  # type: ignore[type-arg]
    roster, tasks = _inputs(people, jobs)
    result = assign_teams(SEED, tasks, roster)
    by_id = {p.inspector_id: p for p in roster}
    assert len(result.teams) + len(result.unstaffed) == len(tasks)
    used: dict[str, int] = {}
    for t in tasks:
        team = result.teams.get(t.task_id)
        if team is None:
            continue
        assert len(team) >= 2 and len(set(team)) == len(team)
        assert {by_id[i].department for i in team} >= set(t.departments)
        for i in team:
            p = by_id[i]
            assert p.active and p.certificate_expiry >= t.check_date
            assert p.department in t.departments and set(t.regions) & p.region_codes
            assert t.expertise[p.department] <= p.expertise
            assert t.uscc not in p.recusal_usccs and i not in t.last_inspectors
            used[i] = used.get(i, 0) + 1
    assert all(used[i] <= by_id[i].capacity for i in used)
    assert used == result.counts
