"""Tables the demo prints: a plan's strata with their explanations, a draw, its tasks."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table

from spotcheck.demo.summary import constraint_of

_ITEM_PREFIX = re.compile(r"^\[[A-Z0-9-]+\] ")
SHOWN_TASKS = 6


def why(explanation: Sequence[str]) -> str:
    """A stratum's explanation without the per-item repeats of a joint stratum."""
    seen: dict[str, None] = {}
    for line in explanation:
        seen.setdefault(_ITEM_PREFIX.sub("", line), None)
    return "\n".join(seen)


def plan_table(plan: Mapping[str, Any]) -> Table:
    """The resolved strata of an approved plan (and the excluded ones) with why."""
    joint = f", joint strata {plan['joint_strata']}" if plan.get("joint_strata") else ""
    t = Table(
        title=f"{plan['plan_id']} {plan['title']} ({'+'.join(plan['departments'])}{joint})",
        show_lines=True,
        title_justify="left",
    )
    for col in ("stratum", "items", "ratio", "methods", "why (rules that fired)"):
        t.add_column(col, overflow="fold")
    for s in plan["strata"]:
        ratio = f"{s['bp'] / 100:g}%" if s.get("bp") is not None else f"{s.get('count')} entities"
        if s.get("batches", 1) > 1:
            ratio += f"\n{s['batches']} batches"
        t.add_row(
            s["stratum_id"],
            "+".join(s["item_codes"]),
            ratio,
            ",".join(s["methods"]),
            why(s["explanation"]),
        )
    for e in plan.get("excluded", []):
        t.add_row(
            f"[dim]{e['stratum_id']}[/]",
            "+".join(e["item_codes"]),
            "—",
            "—",
            f"不抽取 not drawn: {e['reason']}",
        )
    return t


def draw_table(record: Mapping[str, Any]) -> Table:
    """Per stratum: candidates n, ratio, sample k and the first selected USCCs."""
    t = Table(title=f"draw {record['draw_id']} — public record", title_justify="left")
    for col in ("stratum", "n", "ratio", "k", "selected (ticket order)"):
        t.add_column(col)
    for s in record["strata"]:
        first = " ".join(s["selected"][:2]) + (" …" if len(s["selected"]) > 2 else "")
        ratio = f"{s['bp'] / 100:g}%" if s.get("bp") is not None else str(s.get("count"))
        t.add_row(s["stratum_id"], f"{s['n']:,}", ratio, str(s["k"]), first)
    return t


def tasks_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """Batches, teams and unstaffed reasons of a draw's tasks, and its first tasks."""
    states = Counter(r["state"] for r in rows)
    batches = Counter(r["task"]["batch"] for r in rows if r["state"] != "merged")
    reasons = Counter(
        constraint_of(r["task"].get("unstaffed_reason")) for r in rows if r["state"] == "unstaffed"
    )
    joint = sum(1 for r in rows if r["task"].get("joint") and r["state"] != "merged")
    caption = (
        f"{len(rows)} tasks: {states.get('assigned', 0)} staffed, "
        f"{states.get('unstaffed', 0)} unstaffed"
        + (f" ({', '.join(f'{k} {v}' for k, v in reasons.most_common())})" if reasons else "")
        + (f", {states['merged']} merged into another plan's visit" if states.get("merged") else "")
        + f"; {joint} joint; batches "
        + ", ".join(f"#{b}: {n}" for b, n in sorted(batches.items()))
    )
    t = Table(title=caption, title_justify="left")
    for col in ("task", "batch", "entity", "items", "team / reason"):
        t.add_column(col, overflow="fold")
    for r in rows[:SHOWN_TASKS]:
        task = r["task"]
        team = ", ".join(f"{m['name']} ({m['department']})" for m in task["team"])
        t.add_row(
            task["task_id"],
            str(task["batch"]),
            task["entity_name"],
            "+".join(i["code"] for i in task["items"]),
            team or f"[yellow]unstaffed: {task.get('unstaffed_reason')}[/]",
        )
    return t
