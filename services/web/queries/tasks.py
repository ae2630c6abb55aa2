"""What 掌上查 shows, composed from the services that own it.

A task comes from the publisher (its copy of the draw's task, with progress and results), the
entity's address from the registry, each item's legal basis, methods and checklist from the
planner's active catalogue, and the team's names from the roster. Nothing is stored here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote

from services.kit.errors import NotFound
from services.web.backends import SELF, BackendError, Backends, Caller
from services.web.domain.writing import days_left


@dataclass
class TaskGroup:
    """Tasks due on the same day in the same batch (overdue ones form their own group)."""

    label: str
    tasks: list[dict[str, Any]]


@dataclass
class TaskCardView:
    """Everything the task card and the result form show."""

    task: dict[str, Any]
    entity: dict[str, Any] | None
    items: list[dict[str, Any]]
    team: list[dict[str, Any]]
    categories: list[dict[str, Any]] = field(default_factory=list)


def group_tasks(tasks: list[dict[str, Any]], *, today: date) -> list[TaskGroup]:
    """Overdue first, then by batch and due date, in the publisher's order within each."""
    overdue = [t for t in tasks if t.get("overdue")]
    groups: list[TaskGroup] = []
    if overdue:
        groups.append(TaskGroup(label="已超期", tasks=overdue))
    seen: dict[tuple[int, str], TaskGroup] = {}
    for t in tasks:
        if t.get("overdue"):
            continue
        key = (int(t.get("batch") or 1), str(t["period_end"]))
        if key not in seen:
            due = date.fromisoformat(key[1])
            left = days_left(due, today=today)
            seen[key] = TaskGroup(
                label=f"第{key[0]}批 · {due.month}月{due.day}日前完成（{left}）",
                tasks=[],
            )
            groups.append(seen[key])
        seen[key].tasks.append(t)
    return groups


class TaskReads:
    """The pages' reads, each with the token of the person asking."""

    def __init__(self, *, backends: Backends) -> None:
        self.backends = backends
        self._items: dict[str, dict[str, Any]] = {}
        self._categories: list[dict[str, Any]] | None = None

    async def my_tasks(
        self, caller: Caller, *, status: str = "", q: str = "", limit: int = 200
    ) -> list[dict[str, Any]]:
        """The person's tasks as the publisher lists them (overdue first)."""
        reply = await self.backends.get(
            "publisher",
            "/tasks",
            caller=caller,
            params={"status": status, "q": q, "limit": limit},
        )
        tasks: list[dict[str, Any]] = reply["tasks"] if isinstance(reply, dict) else reply
        return tasks

    async def task(self, caller: Caller, task_id: str) -> dict[str, Any]:
        """One task with its results and pending draft (403 outside the team)."""
        task: dict[str, Any] = await self.backends.get(
            "publisher", f"/tasks/{quote(task_id, safe='')}", caller=caller
        )
        return task

    async def item(self, code: str) -> dict[str, Any]:
        """One catalogue item (public), kept for the process: items change only with a rules
        activation, and a stale legal basis is better than a failed page."""
        if code not in self._items:
            try:
                self._items[code] = await self.backends.get(
                    "planner", f"/items/{quote(code, safe='')}", caller=None
                )
            except BackendError as exc:
                if exc.status != 404:
                    raise
                return {
                    "code": code,
                    "name": code,
                    "legal_basis": "",
                    "methods": [],
                    "checklist": [],
                }
        return self._items[code]

    async def categories(self) -> list[dict[str, Any]]:
        """The national result categories (code, name), as the publisher accepts them."""
        if self._categories is None:
            reply = await self.backends.get(
                "publisher", "/public/result-categories.json", caller=None
            )
            self._categories = list(reply["categories"])
        return self._categories

    async def inspector(self, inspector_id: str) -> dict[str, Any]:
        """A team member's name and certificate (the roster is readable by any role)."""
        try:
            record: dict[str, Any] = await self.backends.get(
                "registry", f"/inspectors/{quote(inspector_id, safe='')}", caller=SELF
            )
        except (BackendError, NotFound):
            return {"inspector_id": inspector_id, "name": inspector_id, "certificate_no": ""}
        return record

    async def card(self, caller: Caller, task_id: str) -> TaskCardView:
        """The task card: task, entity, items with checklists, team, categories."""
        task = await self.task(caller, task_id)

        async def entity() -> dict[str, Any] | None:
            try:
                detail = await self.backends.get(
                    "registry", f"/entities/{quote(task['uscc'], safe='')}", caller=SELF
                )
            except BackendError:
                return None
            found: dict[str, Any] = detail["entity"]
            return found

        items_, team, found, cats = await asyncio.gather(
            asyncio.gather(*(self.item(i["code"]) for i in task["items"])),
            asyncio.gather(*(self.inspector(m) for m in task["team"])),
            entity(),
            self.categories(),
        )
        return TaskCardView(
            task=task, entity=found, items=list(items_), team=list(team), categories=cats
        )

    async def public_task(self, task_id: str) -> dict[str, Any]:
        """检查码: the public facts of a task and its team's names and certificates."""
        facts: dict[str, Any] = await self.backends.get(
            "publisher", f"/public/tasks/{task_id}.json", caller=None
        )
        facts["inspectors"] = list(
            await asyncio.gather(*(self.inspector(m) for m in facts.get("team", [])))
        )
        return facts
