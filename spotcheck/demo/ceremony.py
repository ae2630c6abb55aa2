"""Step 5 of the demo: one plan's public draw, from commitment to verified record.

The seed is a **demo seed**: 32 random bytes (64 hex digits) from Python's `secrets` module,
entered with the source `demo` by the token subject `spotcheck-demo`, so the public record says
`"seed_source": "demo"` and the screen says DEMO SEED. A real ceremony
uses dice rolled by witnesses, a public beacon value or the parties' commit-reveal
(`spotcheck draw seed --source parties`).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from typing import Any

from contracts.common import Role
from services.kit.auth import issue_token, load_or_create_key
from spotcheck.client import ApiError
from spotcheck.demo.common import ROOT, Demo, DemoError, fetch_tasks, retry
from spotcheck.demo.display import draw_table, tasks_table

DEMO_SEED_BYTES = 32
SEED_SUBJECT = "spotcheck-demo"
VERIFY_TOOL = "tools/verify_draw.py"


def demo_seed() -> str:
    """64 hex digits from the operating system's CSPRNG (labelled a demo seed everywhere)."""
    return secrets.token_hex(DEMO_SEED_BYTES)


def live_draw(draws: list[dict[str, Any]], plan_id: str) -> dict[str, Any] | None:
    """The plan's draw that is not superseded, if any."""
    for d in draws:
        if d["plan_id"] == plan_id and d["state"] != "superseded":
            return d
    return None


def run_draw(demo: Demo, plan: dict[str, Any]) -> dict[str, Any]:
    """Start (or reuse) the draw of `plan`, seed it, show it and verify it."""
    plan_id = plan["plan_id"]
    public = demo.api("draw")
    officer = demo.api("draw", Role.DRAW_OFFICER)
    existing = live_draw(public.get("/draws"), plan_id)
    if existing is None or existing["state"] == "freezing":
        # The draw learns of the plan from `plan.approved` on NATS: wait for it to arrive.
        status = retry(
            lambda: officer.post("/draws", json={"plan_id": plan_id}),
            until=60,
            again=lambda e: e.status == 404,
        )
        draw_id = status["draw_id"]
        demo.note(f"[bold]{plan_id}[/]: draw {draw_id} — candidate lists frozen")
    else:
        draw_id = existing["draw_id"]
        demo.note(f"[bold]{plan_id}[/]: reusing draw {draw_id} ({existing['state']})")
        status = public.get(f"/draws/{draw_id}")
    commitment = public.get(f"/draws/{draw_id}/commitment")
    demo.note(f"commitment published: {commitment['commitment_sha256']}")
    if status["state"] == "committed":
        seed = demo_seed()
        demo.note(
            f"[bold yellow]DEMO SEED[/] {seed} — {DEMO_SEED_BYTES} random bytes from Python's "
            '`secrets`, recorded publicly as seed_source "demo"; a real ceremony rolls dice '
            "before witnesses or uses a public beacon"
        )
        key = load_or_create_key(demo.settings.key_file())
        officer.http.headers["Authorization"] = "Bearer " + issue_token(
            key, role=Role.DRAW_OFFICER, sub=SEED_SUBJECT
        )
        with demo.console.status("selecting and staffing…"):
            status = officer.post(f"/draws/{draw_id}/seed", json={"seed": seed, "source": "demo"})
    elif status["state"] in ("seeded", "selected"):
        with demo.console.status("resuming the interrupted draw…"):
            status = officer.post(f"/draws/{draw_id}/resume")
    if status["state"] != "completed":
        raise DemoError(f"draw {draw_id} of {plan_id} ended in state {status['state']}")
    record = public.get(f"/draws/{draw_id}/record")
    demo.note(
        f"seed {record['seed']} ({record['seed_source']}, entered by "
        f"{status.get('seed_entered_by')})"
    )
    tasks = fetch_tasks(demo, draw_id)
    demo.console.print(draw_table(record))
    demo.console.print(tasks_table(tasks))
    verified = _verify(demo, draw_id, record, ROOT / VERIFY_TOOL)
    if not verified:
        raise DemoError(f"draw {draw_id} does not verify with {VERIFY_TOOL}")
    return {"record": record, "tasks": tasks, "verified": verified, "status": status}


def _verify(demo: Demo, draw_id: str, record: dict[str, Any], tool: Any) -> bool:
    """Write the public record and the candidate files, and run the independent verifier."""
    folder = demo.out / "draws" / draw_id
    lists = folder / "candidates"
    lists.mkdir(parents=True, exist_ok=True)
    (folder / "record.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    api = demo.api("draw")
    for row in api.get(f"/draws/{draw_id}/candidates"):
        resp = api.http.get(row["url"])
        if resp.status_code != 200:
            raise ApiError(resp.status_code, {"error": {"message": f"GET {row['url']}"}})
        (lists / f"{row['stratum_id']}.txt").write_bytes(resp.content)
    done = subprocess.run(
        [sys.executable, str(tool), str(folder / "record.json"), str(lists)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    line = (done.stdout.strip() or done.stderr.strip()).splitlines()
    shown = line[-1] if line else f"exit {done.returncode}"
    if done.returncode == 0:
        demo.note(
            f"{VERIFY_TOOL} {folder / 'record.json'} {lists}/ → {shown}: [bold green]verified ✓[/]"
        )
        return True
    demo.note(f"[red]{VERIFY_TOOL}: {shown}[/]")
    return False
