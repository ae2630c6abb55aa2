"""Step 7 of `spotcheck demo`: accounts for the demo county's people, so that 掌上查 and the
web pages can be tried at once.

Every active inspector of the roster gets an account tied to their roster id (user name: the id
in lower case), and one officer account per role. They all share one demonstration password,
printed in the summary: this is a demonstration on the embedded default, never a deployment
(`spotcheck user add` gives real people their own first password, to be changed at sign-in).
"""

from __future__ import annotations

from typing import Any

from contracts.common import Role
from spotcheck.client import ApiError
from spotcheck.demo.common import Demo

DEMO_PASSWORD = "Zhangshangcha-2026"

OFFICERS = (
    ("planner-scjg", "计划编制（市场监管）", Role.PLANNER, "SCJG"),
    ("draw-officer", "抽取操作员", Role.DRAW_OFFICER, None),
    # A redraw takes two draw officers: one asks, the other confirms.
    ("draw-officer-2", "抽取复核员", Role.DRAW_OFFICER, None),
    ("policy", "规则管理员", Role.POLICY, None),
    ("auditor", "审计员", Role.AUDITOR, None),
    ("operator", "系统管理员", Role.OPERATOR, None),
)


def _roster(demo: Demo) -> list[dict[str, Any]]:
    registry = demo.api("registry", Role.AUDITOR)
    people: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = registry.get("/inspectors", params={"offset": offset, "limit": 1000})
        people += page["inspectors"]
        offset = page["next_offset"]
    return people


def create(demo: Demo) -> dict[str, Any]:
    """Add the accounts (reusing those already there); the sign-in to show in the summary: an
    inspector with open tasks."""
    web = demo.api("web", Role.OPERATOR)
    added = reused = 0
    wanted: list[dict[str, Any]] = [
        {
            "username": p["inspector_id"].lower(),
            "display_name": p["name"],
            "role": Role.INSPECTOR.value,
            "department": p["department"],
            "inspector_id": p["inspector_id"],
        }
        for p in _roster(demo)
        if p["status"] == "active"
    ]
    wanted += [
        {"username": u, "display_name": n, "role": r.value, "department": d}
        for u, n, r, d in OFFICERS
    ]
    for body in wanted:
        try:
            web.post("/admin/users", json={**body, "password": DEMO_PASSWORD})
            added += 1
        except ApiError as exc:
            if exc.status != 409:
                raise
            reused += 1
    demo.note(
        f"accounts: {added} added, {reused} reusing "
        f"({len(wanted) - len(OFFICERS)} inspectors, {len(OFFICERS)} officers)"
    )
    return {
        "added": added,
        "reused": reused,
        "password": DEMO_PASSWORD,
        "inspector": _inspector_with_open_tasks(demo, wanted),
        "officers": [u for u, *_ in OFFICERS],
    }


def _inspector_with_open_tasks(demo: Demo, wanted: list[dict[str, Any]]) -> dict[str, Any]:
    """The inspector account with the most tasks still to do."""
    publisher = demo.api("publisher", Role.AUDITOR)
    reply = publisher.get("/tasks", params={"status": "assigned", "limit": 500})
    tasks = reply["tasks"] if isinstance(reply, dict) else reply
    accounts = {b["inspector_id"]: b for b in wanted if b.get("inspector_id")}
    open_tasks: dict[str, int] = {}
    for t in tasks:
        for member in t["team"]:
            if member in accounts:
                open_tasks[member] = open_tasks.get(member, 0) + 1
    if not open_tasks:
        return {}
    best = max(sorted(open_tasks), key=lambda m: open_tasks[m])
    return {
        "username": accounts[best]["username"],
        "name": accounts[best]["display_name"],
        "open_tasks": open_tasks[best],
    }
