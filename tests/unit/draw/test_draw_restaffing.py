"""Re-staffing one task: the pick is re-derivable from its inputs, keeps every hard constraint,
keeps a joint task's departments, and names the constraint when no one is left."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from services.draw.domain import restaffing
from services.draw.domain.eligibility import Constraint, Inspector, TeamTask
from services.draw.domain.teams import team_ticket
from services.kit.errors import Conflict, Invalid

SEED = "12345678901234567890"
DAY = date(2026, 12, 31)
R = "360202"
U = "91360202MA3500005R"
TID = "D1:" + U


def person(iid: str, **kw: Any) -> Inspector:
    base = Inspector(
        inspector_id=iid,
        department="SCJG",
        region_codes=frozenset({R}),
        expertise=frozenset({"food", "general"}),
        certificate_expiry=date(2028, 1, 1),
    )
    return replace(base, **kw)


def task(**kw: Any) -> TeamTask:
    base = TeamTask(
        task_id=TID,
        uscc=U,
        regions=(R,),
        departments=("SCJG",),
        check_date=DAY,
        expertise={"SCJG": frozenset({"food"})},
    )
    return replace(base, **kw)


TEAM = {"A": "SCJG", "B": "SCJG"}


def run(people: list[Inspector], **kw: Any) -> restaffing.Replacement:
    args: dict[str, Any] = {
        "draw_seed": SEED,
        "n": 1,
        "task": task(),
        "team": TEAM,
        "replaced": "A",
        "inspectors": people,
        "counts": {},
    }
    args.update(kw)
    return restaffing.replace_member(**args)


def test_the_seed_is_the_sha256_of_the_published_input() -> None:
    text = f"{SEED}|{TID}|restaff|2"
    assert restaffing.seed_input(SEED, TID, 2) == text
    assert restaffing.restaff_seed(SEED, TID, 2) == hashlib.sha256(text.encode()).hexdigest()
    assert restaffing.restaff_seed(SEED, TID, 1) != restaffing.restaff_seed(SEED, TID, 2)


def test_the_pick_is_the_fewest_tasks_then_the_smallest_ticket() -> None:
    people = [person(i) for i in ("A", "B", "C", "D", "E", "F")]
    seed = restaffing.restaff_seed(SEED, TID, 1)
    got = run(people)
    # Neither the leaving member nor the kept one is a candidate.
    assert [c.inspector_id for c in got.candidates] == ["C", "D", "E", "F"]
    smallest = min("CDEF", key=lambda i: team_ticket(seed, TID, i))
    assert got.replacement == smallest and got.seed == seed
    # Fewer tasks in the draw comes before the ticket.
    other = next(i for i in "CDEF" if i != smallest)
    counts = {i: 3 for i in "CDEF"} | {other: 2}
    assert run(people, counts=counts).replacement == other
    # Deterministic: the same inputs give the same pick; another restaffing number another seed.
    assert run(people) == got
    assert run(people, n=2).seed != got.seed


def test_a_published_restaffing_re_derives_and_a_wrong_one_is_named() -> None:
    got = run([person(i) for i in "ABCDEF"], counts={"C": 1})
    record = {
        "task_id": TID,
        "n": 1,
        "seed_input": got.seed_input,
        "seed": got.seed,
        "candidates": [{"inspector_id": c.inspector_id, "count": c.count} for c in got.candidates],
        "replacement": {"inspector_id": got.replacement},
    }
    assert restaffing.rederive(SEED, record) is None
    wrong = next(c.inspector_id for c in got.candidates if c.inspector_id != got.replacement)
    bad = record | {"replacement": {"inspector_id": wrong}}
    assert f"the candidates give {got.replacement}" in (restaffing.rederive(SEED, bad) or "")
    assert "seed_input" in (restaffing.rederive("9" * 20, record) or "")


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


@pytest.mark.parametrize(("constraint", "bad", "task_kw"), CASES)
def test_each_constraint_alone_keeps_an_inspector_out(
    constraint: Constraint, bad: dict[str, Any], task_kw: dict[str, Any]
) -> None:
    # C is ineligible by this one constraint; D is fine and must be the pick whatever C's ticket.
    people = [person("A"), person("B"), person("C", **bad), person("D")]
    got = run(people, task=task(**task_kw))
    assert got.replacement == "D" and [c.inspector_id for c in got.candidates] == ["D"]
    # Without D, no one is left, and the refusal names that constraint.
    with pytest.raises(Conflict) as exc:
        run(people[:3], task=task(**task_kw))
    assert exc.value.code == "no_replacement"
    assert exc.value.message.startswith(f"{constraint.value}:")
    assert exc.value.details[0]["msg_zh"] == restaffing.NO_ONE_ZH[constraint]


def test_an_inspector_once_removed_from_the_task_never_comes_back() -> None:
    people = [person(i) for i in "ABCD"]
    assert run(people, removed=frozenset({"C"})).replacement == "D"
    with pytest.raises(Conflict) as exc:
        run(people, removed=frozenset({"C", "D"}))
    assert exc.value.message.startswith("team_size: every other eligible inspector was removed")


def test_a_joint_task_keeps_one_member_of_each_department() -> None:
    joint = task(departments=("SCJG", "SW"), expertise={})
    team = {"A": "SCJG", "S": "SW"}
    people = [person("A"), person("S", department="SW"), person("B"), person("T", department="SW")]
    # S is the only SW member: only an SW inspector may replace S, whatever B's ticket.
    got = run(people, task=joint, team=team, replaced="S")
    assert got.replacement == "T" and [c.inspector_id for c in got.candidates] == ["T"]
    with pytest.raises(Conflict) as exc:
        run(people[:3], task=joint, team=team, replaced="S")
    assert exc.value.message.startswith("department:")
    # With two SCJG members, either department may replace one of them.
    got = run(people, task=joint, team={"A": "SCJG", "B": "SCJG", "S": "SW"}, replaced="A")
    assert [c.inspector_id for c in got.candidates] == ["T"]


@pytest.mark.parametrize(
    ("state", "progress", "inspector", "reason", "code"),
    [
        ("assigned", "not_started", "A", "  ", "reason_required"),
        ("assigned", "not_started", "A", "x" * 501, "reason_too_long"),
        ("unstaffed", "not_started", "A", "病假", "task_not_open"),
        ("merged", "not_started", "A", "病假", "task_not_open"),
        ("superseded", "not_started", "A", "病假", "task_not_open"),
        ("assigned", "result_recorded", "A", "病假", "task_not_open"),
        ("assigned", "cancelled", "A", "病假", "task_not_open"),
        ("assigned", "not_started", "Z", "病假", "not_on_team"),
    ],
)
def test_a_restaffing_that_cannot_apply_is_refused_with_a_reason_in_chinese(
    state: str, progress: str, inspector: str, reason: str, code: str
) -> None:
    with pytest.raises((Conflict, Invalid)) as exc:
        restaffing.check_request(
            task_id=TID,
            state=state,
            progress=progress,
            team=["A", "B"],
            inspector_id=inspector,
            reason=reason,
        )
    assert exc.value.code == code and exc.value.details[0]["msg_zh"]


def test_an_open_task_with_a_reason_is_accepted_even_in_progress() -> None:
    for progress in ("not_started", "in_progress"):
        got = restaffing.check_request(
            task_id=TID,
            state="assigned",
            progress=progress,
            team=["A", "B"],
            inspector_id="A",
            reason=" 病假 ",
        )
        assert got == "病假"
