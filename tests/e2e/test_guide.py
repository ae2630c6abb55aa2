"""docs/guide.md, run as written: every command of its `sh` blocks, in order, against the real
stack after `spotcheck demo`; its example files (code blocks named after the language, e.g.
```` ```yaml my-plan.yaml ````) are written as the reader would save them.

The few commands that start or stop a whole stack (`make run`, `spotcheck demo`, `spotcheck up`,
`spotcheck down`) are run by the other e2e tests and the fixtures instead; the list is checked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import DEMO_ARGS, ROOT, SERVICES, Running, cli

GUIDE = ROOT / "docs" / "guide.md"
# Run elsewhere: the session fixture (`spotcheck up`, `spotcheck down`), test_demo.py
# (`spotcheck demo --no-serve`; `spotcheck demo`, which is what `make run` runs).
RUN_ELSEWHERE = {"make run", "spotcheck demo --no-serve", "spotcheck up", "spotcheck down"}
DEFAULT_PORTS = {
    "registry": 8101,
    "planner": 8102,
    "draw": 8103,
    "publisher": 8104,
    "web": 8100,
}


def blocks(text: str) -> list[tuple[str, str, str]]:
    """Fenced code blocks as (language, name, body)."""
    out = []
    for m in re.finditer(r"^```(\S+)(?: +(\S+))?\n(.*?)^```$", text, flags=re.M | re.S):
        out.append((m.group(1), m.group(2) or "", m.group(3)))
    return out


def _task_for_inspector(s: Running) -> dict[str, str]:
    """A staffed one-item task of the demo, not started and without a result, that may be
    checked on site (the guide's result.json says `on_site`), and its team."""
    public = httpx.get(s.urls["publisher"] + "/public/results.json", timeout=60).json()
    done = {r["task_id"] for r in public["results"]}
    for d in httpx.get(s.urls["draw"] + "/draws", timeout=60).json():
        rows = httpx.get(
            s.urls["draw"] + f"/draws/{d['draw_id']}/tasks", params={"limit": 5000}, timeout=60
        ).json()
        for r in rows:
            t = r["task"]
            if (
                r["state"] == "assigned"
                and r["progress"] == "not_started"
                and len(t["items"]) == 1
                and len(t["team"]) == 2  # the guide's partner is the one other to confirm
                and t["task_id"] not in done
                and "on_site" in t["methods"]
            ):
                return {
                    "TASK": t["task_id"],
                    "ITEM": t["items"][0]["code"],
                    "INSPECTOR": t["team"][0]["inspector_id"],
                    "PARTNER": t["team"][1]["inspector_id"],
                }
    raise AssertionError("the demo left no staffed task without a result")


def _task_to_restaff(s: Running, draw_id: str) -> dict[str, str]:
    """A staffed task of the guide's own draw and one of its team, for the guide's 换人."""
    rows = httpx.get(s.urls["draw"] + f"/draws/{draw_id}/tasks", timeout=60).json()
    t = next(r["task"] for r in rows if r["state"] == "assigned")
    return {"RESTAFF_TASK": t["task_id"], "MEMBER": t["team"][-1]["inspector_id"]}


def _draw_state(s: Running, task_id: str) -> str:
    """The task's state in the draw service (`assigned`, `merged`, …)."""
    draw_id = task_id.split(":", 1)[0]
    rows = httpx.get(
        s.urls["draw"] + f"/draws/{draw_id}/tasks", params={"limit": 1000}, timeout=60
    ).json()
    return str(next(r["state"] for r in rows if r["task"]["task_id"] == task_id))


def _draws_settled(s: Running, *, timeout: float = 300.0) -> None:
    """Wait until no draw is between its seed and its teams: a redraw runs its selection and
    staffing (and the merges into its visits) after `redraw --confirm` has answered."""
    deadline = time.monotonic() + timeout
    while True:
        draws = httpx.get(s.urls["draw"] + "/draws", timeout=60).json()
        running = [d["draw_id"] for d in draws if d["state"] in ("seeded", "selected")]
        if not running:
            return
        assert time.monotonic() < deadline, f"draws still running after {timeout} s: {running}"
        time.sleep(0.5)


def _publisher_agrees(s: Running, task_id: str, *, timeout: float = 60.0) -> None:
    """Wait until the publisher, which learns merges and redraws from the draw's events, also
    holds the task open (not merged)."""
    deadline = time.monotonic() + timeout
    url = s.urls["publisher"] + f"/public/tasks/{task_id}.json"
    while (status := httpx.get(url, timeout=60).json()["status"]) == "merged":
        assert time.monotonic() < deadline, f"the publisher still holds {task_id} {status}"
        time.sleep(0.2)


def _local(text: str, s: Running) -> str:
    for name, port in DEFAULT_PORTS.items():
        text = text.replace(f"http://127.0.0.1:{port}", s.urls[name])
    return text


@pytest.mark.timeout(900)
def test_every_command_of_the_guide_runs(stack: Running, tmp_path: Path) -> None:
    r = cli(stack, *DEMO_ARGS)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("rules", "tools", "spotcheck"):
        (tmp_path / name).symlink_to(ROOT / name)
    found = blocks(GUIDE.read_text(encoding="utf-8"))
    variables = _task_for_inspector(stack)

    def write_files() -> None:
        for _lang, name, body in found:
            if name:  # an example file the reader saves
                content = body
                for key, value in variables.items():
                    content = content.replace(f"${key}", value)
                (tmp_path / name).write_text(content, encoding="utf-8")

    write_files()
    rechecked = False
    commands = [line for lang, _, body in found if lang == "sh" for line in body.splitlines()]
    commands = [c.strip() for c in commands if c.strip()]
    assert set(commands) & RUN_ELSEWHERE == RUN_ELSEWHERE, "the guide lost a command"
    env = dict(stack.env)
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    outputs: dict[str, str] = {}
    ran = 0
    for command in commands:
        if command in RUN_ELSEWHERE:
            continue
        if "$TASK" in command and not rechecked:
            # The guide's redraw (a demo seed, random) may have absorbed the task picked at the
            # start into one of its visits (进一次门、查多项事): the inspector's commands then
            # go to another open task, as a reader of the guide would pick one.
            # Asked of the draw service, which makes the merge: the publisher learns of it from
            # an event, and may not have yet.
            rechecked = True
            _draws_settled(stack)
            if _draw_state(stack, variables["TASK"]) != "assigned":
                variables.update(_task_for_inspector(stack))
                write_files()
            _publisher_agrees(stack, variables["TASK"])
        done = subprocess.run(
            ["bash", "-c", _local(command, stack)],
            env=env | variables,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, (command, done.stdout[-1500:], done.stderr[-1500:])
        outputs[command] = done.stdout
        ran += 1
        if command.startswith("spotcheck draw start"):
            variables["DRAW"] = done.stdout.strip()
        if command.startswith("spotcheck triggered open"):
            variables["TT"] = done.stdout.splitlines()[0].strip()
        if command.startswith("spotcheck draw seed"):
            record = httpx.get(
                stack.urls["draw"] + f"/draws/{variables['DRAW']}/record", timeout=60
            ).json()
            variables["USCC"] = next(u for st in record["strata"] for u in st["selected"])
            variables.update(_task_to_restaff(stack, variables["DRAW"]))
    assert ran >= 25
    _check_outputs(outputs, variables)


def _check_outputs(out: dict[str, str], v: dict[str, str]) -> None:
    """What the guide promises each command shows."""

    def of(prefix: str) -> str:
        return next(text for cmd, text in out.items() if cmd.startswith(prefix))

    assert of("spotcheck rules check").startswith("ok:")
    assert "passed, 0 failed" in of("spotcheck rules test")
    assert "total k:" in of("spotcheck rules simulate")
    assert of("spotcheck rules activate").startswith("active:")
    assert "accepted 2,000" in of("spotcheck registry import entities")
    assert "P2026-CJ-SW-FP approved" in of("spotcheck plan submit")
    assert v["DRAW"].startswith("D-")
    assert "completed" in of("spotcheck draw seed")
    assert of("spotcheck draw verify").startswith(f"OK {v['DRAW']}")
    verify = [t for c, t in out.items() if c.startswith("python3 tools/verify_draw.py")]
    assert len(verify) == 4 and all(t.strip().splitlines()[-1].startswith("OK") for t in verify)
    restaffed = of("spotcheck draw restaff $RESTAFF_TASK")
    assert restaffed.startswith(f"{v['RESTAFF_TASK']}: {v['MEMBER']} -> ") and "病假" in restaffed
    assert "OK 1 restaffing(s)" in of("python3 tools/verify_draw.py record.json lists/ --rest")
    assert "open task(s) checked" in of("spotcheck draw restaff-recused")
    assert v["USCC"] in of("python3 tools/verify_draw.py record.json")
    # the public site's copies of the record and lists (§8): the same verdict, the same ticket
    site = of("python3 tools/verify_draw.py http://127.0.0.1:8100/")
    assert f"\t{v['USCC']}\tticket " in site and site.strip().splitlines()[-1].startswith("OK")
    assert "SELECTED" in of("spotcheck draw ticket")
    assert "BROKEN" not in of("spotcheck audit verify")
    entries: list[dict[str, Any]] = json.loads(of("curl -s -H"))
    assert entries and all("action" in e for e in entries)
    redraw = of("spotcheck draw redraw $DRAW --reason")
    assert f"{v['DRAW']}: redraw asked for by officer.li" in redraw
    assert of("spotcheck draw redraw $DRAW --confirm").strip().startswith("D-")
    assert v["TT"].startswith("TT-") and "officer.wang" in of("spotcheck triggered open")
    assert "投诉举报" in of("spotcheck triggered approve")
    assert of("spotcheck triggered verify").strip() == f"OK {v['TT']}"
    assert v["TT"] in of("spotcheck triggered list")
    assert f"{v['TASK']}: started by {v['INSPECTOR']}" in of("spotcheck results start")
    assert of("spotcheck results tasks").strip().endswith("tasks")
    assert "0 accepted, 1 awaiting confirmation, 0 refused" in of(
        "spotcheck results submit result.json"
    )
    assert f"awaits confirmation by {v['PARTNER']}" in of("spotcheck results submit result.json")
    assert "1 awaiting confirmation" in of("spotcheck results submit correction.json")
    # The partner's confirmation makes each the result (the last run: the correction, v2).
    assert "confirmed; accepted" in of("spotcheck results confirm") and "v2" in of(
        "spotcheck results confirm"
    )
    assert of("spotcheck publisher due-date").strip() == "2026-12-18"
    results = json.loads(of('curl -s "http://127.0.0.1:8104/public/results.json"'))
    assert any(r["task_id"] == v["TASK"] and r["version"] == 2 for r in results["results"])
    assert "<feed" in of('curl -s "http://127.0.0.1:8104/public/feed.atom"')
    assert set(SERVICES) <= set(of("spotcheck status").split())
    assert "added li.jing; first password" in of("spotcheck user add")
    assert "li.jing" in of("spotcheck user list") and "planner" in of("spotcheck user list")
    assert "new password for li.jing" in of("spotcheck user reset-password")
    assert "disabled li.jing" in of("spotcheck user disable")
