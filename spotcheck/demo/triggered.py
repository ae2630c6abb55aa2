"""Step 5b of the demo: one triggered check (触发检查) of a class-A entity, on a complaint.

Class-A entities get no proactive on-site check except on a trigger: officer Li opens the task
with its trigger, evidence reference and one catalogue item, naming officer Wang, who approves
it; the team is drawn with the seed whose hash was published at opening, and re-derived here
from the public task as anyone would (`spotcheck triggered verify`). A rerun reuses the task.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.common import Role
from services.draw.domain.triggered import nonce_commitment, rederive_team
from spotcheck.demo.common import Demo, DemoError

OPENER, APPROVER = "officer.li", "officer.wang"
EVIDENCE = "12315-DEMO-0001"
ITEM, DEPARTMENT = "SCJG-001", "SCJG"
# A complaint of September in the sample plans' year (rules/plans/: 2026): like theirs, the
# period has ended, so the demo's inspectors can date a result within it.
PERIOD = (date(2026, 9, 1), date(2026, 9, 30))


def _class_a_entity(demo: Demo) -> dict[str, Any]:
    page = demo.api("registry", Role.AUDITOR).get(
        "/entities", params={"risk_class": "A", "limit": 1}
    )
    if not page["entities"]:
        raise DemoError("the county has no class-A entity for the triggered check")
    entity: dict[str, Any] = page["entities"][0]
    return entity


def run_triggered(demo: Demo) -> dict[str, Any]:
    """Open (or reuse) the demo's triggered task, approve it, verify its team."""
    public = demo.api("draw")
    mine = [t for t in public.get("/triggered") if t["opened_by"] == OPENER]
    if mine:
        task = mine[0]
        demo.note(f"reusing triggered task {task['task_id']} ({task['state']})")
    else:
        entity = _class_a_entity(demo)
        body = {
            "uscc": entity["uscc"],
            "trigger": "complaint",
            "evidence_ref": EVIDENCE,
            "items": [ITEM],
            "department": DEPARTMENT,
            "period_start": PERIOD[0].isoformat(),
            "period_end": PERIOD[1].isoformat(),
            "approver": APPROVER,
        }
        task = demo.api("draw", Role.DRAW_OFFICER, sub=OPENER).post("/triggered", json=body)
        demo.note(
            f"[bold]{task['task_id']}[/]: 触发检查 of {task['entity_name']} (class "
            f"{task['risk_class']}) on a complaint, opened by {OPENER}; seed hash "
            f"{task['nonce_sha256'][:16]}…"
        )
    if task["state"] == "awaiting_approval":
        path = f"/triggered/{task['task_id']}/approve"
        task = demo.api("draw", Role.DRAW_OFFICER, sub=APPROVER).post(path)
    team = tuple(m["inspector_id"] for m in task["team"])
    eligible = [(e["inspector_id"], e["department"]) for e in task["eligible"]]
    verified = nonce_commitment(task["seed"]) == task["nonce_sha256"] and team == rederive_team(
        task["seed"], task["task_id"], task["departments"], eligible
    )
    if not verified:
        raise DemoError(f"triggered task {task['task_id']}: its team does not re-derive")
    staffed = ", ".join(team) or f"none ({task['unstaffed_reason']})"
    demo.note(
        f"approved by {APPROVER}: team {staffed} of {len(eligible)} eligible — re-derived from "
        "the published seed: OK"
    )
    return {
        "task_id": task["task_id"],
        "uscc": task["uscc"],
        "trigger": task["trigger"],
        "state": task["state"],
        "team": list(team),
        "verified": verified,
    }
