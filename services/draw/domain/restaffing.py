"""Re-staffing one task (换人): replace one member by the draw's own seeded rules (no I/O).

An inspector falls ill, or a conflict of interest (回避) surfaces after the draw. One member of
one open task is replaced; no other task and no other member changes. The replacement is drawn
like a team member (docs/draw-spec.md §7, §7a), and re-derivable from public inputs:

- the restaffing's seed is `sha256(f"{draw_seed}|{task_id}|restaff|{n}")` (hex), `n` the
  task's restaffing number (1, 2, …): the draw's published seed decides, and a second
  restaffing of the same task gets a seed of its own;
- the candidates are the inspectors who pass every hard constraint of §7 for this task
  (region, department, active, certificate, expertise, recusal, last inspector, capacity:
  open tasks now < capacity), who are not on the team and were never removed from this
  task; in a joint task whose replaced member was the only one of his or her department,
  only that department's;
- the pick is the candidate with the fewest tasks in this draw, ties broken by the smallest
  ticket `sha256(f"{seed}|{task_id}|{inspector_id}")` — `teams.team_ticket` with the
  restaffing's seed.

The record keeps the candidates with their counts, so anyone can redo the pick
(`rederive`); when no one is left, the refusal names the first constraint after which no
candidate remained, as `unstaffed_reason` does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from services.draw.domain.eligibility import Constraint, Inspector, TeamTask
from services.draw.domain.tasks import Progress
from services.draw.domain.teams import team_ticket
from services.kit.errors import Conflict, Invalid

REASON_MAX = 500
RECUSAL_REASON = "回避"

# What each refusal says in Chinese (the console shows `msg_zh`).
NO_ONE_ZH: dict[Constraint, str] = {
    Constraint.REGION: "本区域没有其他可派的检查人员",
    Constraint.DEPARTMENT: "没有所需部门的其他检查人员",
    Constraint.ACTIVE: "没有其他在岗的检查人员",
    Constraint.CERTIFICATE: "没有其他持有效执法证的检查人员",
    Constraint.EXPERTISE: "没有其他具备该事项专业领域的检查人员",
    Constraint.RECUSAL: "其他符合条件的检查人员均须回避",
    Constraint.LAST_INSPECTOR: "其他符合条件的检查人员均为上次检查该主体的人员",
    Constraint.CAPACITY: "其他符合条件的检查人员任务已满",
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """An eligible inspector and his or her tasks in this draw (what the pick compares)."""

    inspector_id: str
    count: int


@dataclass(frozen=True, slots=True)
class Replacement:
    """One restaffing: who left, who came, and the inputs that re-derive the pick."""

    n: int
    replaced: str
    replacement: str
    seed_input: str
    seed: str
    candidates: tuple[Candidate, ...]


def seed_input(draw_seed: str, task_id: str, n: int) -> str:
    """The text whose SHA-256 is the seed of the task's n-th restaffing."""
    return f"{draw_seed}|{task_id}|restaff|{n}"


def restaff_seed(draw_seed: str, task_id: str, n: int) -> str:
    """Hex SHA-256 of `seed_input(...)`."""
    return hashlib.sha256(seed_input(draw_seed, task_id, n).encode()).hexdigest()


def _refuse(code: str, msg: str, msg_zh: str, loc: str, *, conflict: bool = True) -> NoReturn:
    detail: dict[str, Any] = {"loc": ["body", loc], "msg": msg, "type": code, "msg_zh": msg_zh}
    if conflict:
        raise Conflict(msg, code=code, details=[detail])
    raise Invalid(msg, code=code, details=[detail])


def check_request(
    *, task_id: str, state: str, progress: str, team: Sequence[str], inspector_id: str, reason: str
) -> str:
    """Refuse a restaffing that cannot apply; return the reason, stripped.

    Open means: assigned (not unstaffed, merged or superseded) and without a result. A task
    in progress may still lose an inspector who fell ill; its result is not touched.
    """
    text = reason.strip()
    if not text:
        _refuse(
            "reason_required",
            "a restaffing needs a reason",
            "请填写换人理由",
            "reason",
            conflict=False,
        )
    if len(text) > REASON_MAX:
        _refuse(
            "reason_too_long",
            f"a reason has at most {REASON_MAX} characters",
            f"换人理由不超过 {REASON_MAX} 个字",
            "reason",
            conflict=False,
        )
    if state != "assigned":
        zh = {
            "unstaffed": "该任务未能派员，没有可替换的检查人员",
            "merged": "该任务已并入其他任务",
            "superseded": "该任务所属抽取已被重新抽取取代",
        }.get(state, f"该任务状态为 {state}，不能换人")
        _refuse("task_not_open", f"task {task_id} is {state}, not open", zh, "task_id")
    if progress == Progress.RESULT_RECORDED.value:
        _refuse(
            "task_not_open",
            f"task {task_id} has its result recorded",
            "该任务已录入检查结果，不能换人",
            "task_id",
        )
    if progress == Progress.CANCELLED.value:
        _refuse(
            "task_not_open", f"task {task_id} was cancelled", "该任务已取消，不能换人", "task_id"
        )
    if inspector_id not in team:
        _refuse(
            "not_on_team",
            f"{inspector_id} is not on the team of task {task_id}",
            f"检查人员 {inspector_id} 不在该任务的检查组中",
            "inspector_id",
        )
    return text


def replace_member(
    *,
    draw_seed: str,
    n: int,
    task: TeamTask,
    team: Mapping[str, str],
    replaced: str,
    inspectors: Sequence[Inspector],
    counts: Mapping[str, int],
    removed: frozenset[str] = frozenset(),
) -> Replacement:
    """Draw the replacement of `replaced` on `task` (§7a).

    `team` maps each member to his or her department (as the task's body names them);
    `inspectors` carry `load` = open tasks now (capacity); `counts` are tasks in this draw (the
    pick's balance); `removed` are inspectors removed from this task earlier. Raises
    `Conflict(no_replacement)` naming the first constraint after which no one remained.
    """
    kept = {i: d for i, d in team.items() if i != replaced}
    departments = set(task.departments)
    own = team.get(replaced)
    if len(departments) > 1 and own in departments and own not in kept.values():
        # A joint task keeps one member of each department (`joint_departments`).
        departments = {own}
    recused = task.recused
    regions = set(task.regions)
    pool = [p for p in inspectors if p.inspector_id not in team]
    checks: list[tuple[Constraint, Callable[[Inspector], bool]]] = [
        (Constraint.REGION, lambda p: bool(p.region_codes & regions)),
        (Constraint.DEPARTMENT, lambda p: p.department in departments),
        (Constraint.ACTIVE, lambda p: p.active),
        (Constraint.CERTIFICATE, lambda p: p.certificate_expiry >= task.check_date),
        (
            Constraint.EXPERTISE,
            lambda p: task.expertise.get(p.department, frozenset()) <= p.expertise,
        ),
        (
            Constraint.RECUSAL,
            lambda p: task.uscc not in p.recusal_usccs and p.inspector_id not in recused,
        ),
        (Constraint.LAST_INSPECTOR, lambda p: p.inspector_id not in task.last_inspectors),
        (Constraint.CAPACITY, lambda p: p.load < p.capacity),
    ]
    for constraint, ok in checks:
        pool = [p for p in pool if ok(p)]
        if not pool:
            where = f" in {', '.join(task.regions)}" if constraint is Constraint.REGION else ""
            msg = f"{constraint.value}: no other eligible inspector left{where}"
            _refuse("no_replacement", msg, NO_ONE_ZH[constraint], "inspector_id")
    # Never back onto the task he or she was taken off (ill, in conflict): checked last, so
    # a refusal names a constraint of §7 whenever one explains it.
    pool = [p for p in pool if p.inspector_id not in removed]
    if not pool:
        _refuse(
            "no_replacement",
            f"{Constraint.TEAM_SIZE.value}: every other eligible inspector was removed from "
            "this task before",
            "其他符合条件的检查人员此前均已从该任务换下",
            "inspector_id",
        )
    candidates = tuple(
        sorted(
            (Candidate(p.inspector_id, counts.get(p.inspector_id, 0)) for p in pool),
            key=lambda c: c.inspector_id,
        )
    )
    seed = restaff_seed(draw_seed, task.task_id, n)
    return Replacement(
        n=n,
        replaced=replaced,
        replacement=pick(seed, task.task_id, candidates),
        seed_input=seed_input(draw_seed, task.task_id, n),
        seed=seed,
        candidates=candidates,
    )


def pick(seed: str, task_id: str, candidates: Sequence[Candidate]) -> str:
    """The candidate with the fewest tasks in this draw, then the smallest ticket."""
    if not candidates:
        raise Invalid("no candidates to pick from")
    best = min(candidates, key=lambda c: (c.count, team_ticket(seed, task_id, c.inspector_id)))
    return best.inspector_id


def rederive(draw_seed: str, record: Mapping[str, Any]) -> str | None:
    """Check a published restaffing (`TaskRestaffed` as JSON) against the draw's seed.

    Returns None when its seed and pick follow from the draw's seed and its candidates, else
    the first difference.
    """
    task_id, n = record["task_id"], int(record["n"])
    expected_input = seed_input(draw_seed, task_id, n)
    if record["seed_input"] != expected_input:
        return f"seed_input is {record['seed_input']!r}, expected {expected_input!r}"
    seed = restaff_seed(draw_seed, task_id, n)
    if record["seed"] != seed:
        return f"seed is {record['seed']}, expected {seed}"
    cands = [Candidate(c["inspector_id"], int(c["count"])) for c in record["candidates"]]
    if not cands:
        return "no candidates recorded"
    chosen = pick(seed, task_id, cands)
    got = record["replacement"]["inspector_id"]
    if got != chosen:
        return f"replacement is {got}, the candidates give {chosen}"
    return None
