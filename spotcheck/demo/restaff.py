"""Step 5, last part: one task re-staffed (换人) — an inspector of a drawn team falls ill.

The task is the first staffed, not started task of the first draw that the demo will not
record a result for (so step 6 never races the publisher learning the new team). The draw
service draws the replacement by the draw's seeded rules (docs/draw-spec.md §7a); the demo
shows who left and who came and re-derives the pick with the independent verifier. A rerun
finds the restaffing already made and reuses it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from contracts.common import Role
from spotcheck.demo import results as sample
from spotcheck.demo.common import ROOT, Demo, DemoError, fetch_tasks

REASON = "病假（演示）"
VERIFY_TOOL = "tools/verify_draw.py"


def one(demo: Demo) -> dict[str, Any] | None:
    """Re-staff one task of the first draw (or reuse the one made before); the restaffing."""
    if not demo.facts.draws:
        return None
    draw = demo.facts.draws[0]
    draw_id = draw["record"]["draw_id"]
    public = demo.api("draw")
    done = public.get(f"/draws/{draw_id}/restaffings")
    r: dict[str, Any]
    if done:
        r = done[0]
        demo.note(f"reusing restaffing of {r['task_id']}: {_who(r)}")
    else:
        task = next(
            (
                row["task"]
                # Read again: a later plan's draw may have absorbed one of its tasks.
                for row in fetch_tasks(demo, draw_id)
                if row["state"] == "assigned"
                and row["progress"] == "not_started"
                and len(row["task"]["team"]) >= 2
                and not sample.chosen(row["task"]["task_id"], demo.o.results_per_mille)
            ),
            None,
        )
        if task is None:
            demo.note("no open task without a result to re-staff in this draw")
            return None
        ill = task["team"][-1]["inspector_id"]
        officer = demo.api("draw", Role.DRAW_OFFICER)
        r = officer.post(
            f"/tasks/{task['task_id']}/restaff", json={"inspector_id": ill, "reason": REASON}
        )
        demo.note(f"换人 {r['task_id']}: {_who(r)}")
    demo.note(
        f"  restaffing {r['n']}: seed = sha256({r['seed_input']!r}); "
        f"{len(r['candidates'])} candidate(s), the fewest tasks in the draw then the smallest "
        "ticket; task.assigned sent again with the new team"
    )
    _verify(demo, draw_id, draw["record"], public.get(f"/draws/{draw_id}/restaffings"))
    return r


def _who(r: dict[str, Any]) -> str:
    return (
        f"{r['replaced']['name']} ({r['replaced']['inspector_id']}) → "
        f"{r['replacement']['name']} ({r['replacement']['inspector_id']}), {r['reason']}"
    )


def _verify(demo: Demo, draw_id: str, record: dict[str, Any], found: list[Any]) -> None:
    """Re-derive the restaffings with the independent tool (the draw's lists are written by
    the ceremony step, under the same folder)."""
    folder = demo.out / "draws" / draw_id
    path = folder / "restaffings.json"
    path.write_text(json.dumps(found, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / VERIFY_TOOL),
            str(folder / "record.json"),
            str(folder / "candidates"),
            "--restaffings",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = (done.stdout.strip() or done.stderr.strip()).splitlines()
    if done.returncode != 0:
        raise DemoError(f"{VERIFY_TOOL} --restaffings: {lines[-1] if lines else done.returncode}")
    demo.note(f"{VERIFY_TOOL} … --restaffings {path} → {lines[-1]}: [bold green]verified ✓[/]")
