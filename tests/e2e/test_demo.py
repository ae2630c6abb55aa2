"""The main job end to end, as a user drives it: `spotcheck up`, then `spotcheck demo`, then
reading everything back through the command line and HTTP, and checking the numbers agree.

The stack runs as a subprocess (embedded NATS and PostgreSQL, free ports, a temporary
SPOTCHECK_VAR_DIR); the county is smaller than `make run`'s (3,000 entities, 40 inspectors) so
the test takes about a minute on two cores.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.e2e.conftest import (
    DEMO_ARGS,
    ENTITIES,
    INSPECTORS,
    ROOT,
    SERVICES,
    Running,
    cli,
    stack_env,
)
from tests.waiting import wait_until

PLANS = ("P2026-CJ-SCJG", "P2026-CJ-JOINT", "P2026-CJ-STHJ")
CATEGORIES = json.loads(
    (ROOT / "services/publisher/data/result_categories.json").read_text(encoding="utf-8")
)["categories"]


def _get(s: Running, service: str, path: str, token: str | None = None, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = httpx.get(s.urls[service] + path, headers=headers, params=params, timeout=60)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r.json()


def _tasks(s: Running, draw_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while page := _get(s, "draw", f"/draws/{draw_id}/tasks", offset=len(rows), limit=5000):
        rows.extend(page)
    return rows


def _inspectors(s: Running, token: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    offset: int | None = 0
    while offset is not None:
        page = _get(s, "registry", "/inspectors", token, offset=offset, limit=1000)
        out.update({i["inspector_id"]: i for i in page["inspectors"]})
        offset = page["next_offset"]
    return out


def check_draws(s: Running, summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every drawn entity has exactly one task; the draw verifies (service and stdlib tool)."""
    draws = {
        d["plan_id"]: d
        for d in _get(s, "draw", "/draws")
        if d["state"] != "superseded" and d["plan_id"] in PLANS
    }
    assert set(draws) == set(PLANS)
    assert all(d["state"] == "completed" for d in draws.values())
    tasks: dict[str, list[dict[str, Any]]] = {}
    sampled = 0
    for plan_id, d in draws.items():
        draw_id = d["draw_id"]
        record = _get(s, "draw", f"/draws/{draw_id}/record")
        assert record["spec"] == "spotcheck-draw/1" and record["plan_id"] == plan_id
        # The demo's computer-made seed is labelled as such in the public record.
        assert record["seed_source"] == "demo" and len(record["seed"]) == 64
        selected = {u for st in record["strata"] for u in st["selected"]}
        sampled += sum(st["k"] for st in record["strata"])
        rows = _tasks(s, draw_id)
        usccs = [r["task"]["uscc"] for r in rows]
        assert len(usccs) == len(set(usccs)), "an entity has two tasks in one draw"
        assert set(usccs) == selected, "drawn entities and tasks differ"
        assert all(r["task"]["task_id"] == f"{draw_id}:{r['task']['uscc']}" for r in rows)
        tasks[draw_id] = rows
        r = cli(s, "draw", "verify", draw_id)
        assert r.returncode == 0 and r.stdout.startswith(f"OK {draw_id}"), r.stdout + r.stderr
        base = s.urls["draw"]
        tool = subprocess.run(
            [
                sys.executable,
                str(ROOT / "tools" / "verify_draw.py"),
                f"{base}/draws/{draw_id}/record",
                f"{base}/draws/{draw_id}/candidates/{{stratum_id}}.txt",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert tool.returncode == 0 and tool.stdout.startswith("OK"), tool.stdout + tool.stderr
    assert summary["sampled"] == sampled
    assert [d["verified"] for d in summary["draws"]] == [True] * 3
    # A merged task went into a live task of the same entity in another draw, with its items.
    # (An absorbing task may itself be absorbed by a later draw: follow the chain.)
    every = {r["task"]["task_id"]: r for rows in tasks.values() for r in rows}
    for rows in tasks.values():
        for row in rows:
            if row["state"] == "merged":
                into_row = every[row["merged_into"]]
                for _ in range(len(PLANS)):
                    if into_row["state"] != "merged":
                        break
                    into_row = every[into_row["merged_into"]]
                assert into_row["state"] in ("assigned", "unstaffed")
                into = into_row["task"]
                assert into["uscc"] == row["task"]["uscc"]
                codes = {i["code"] for i in into["items"]}
                assert {i["code"] for i in row["task"]["items"]} <= codes
    return tasks


def check_teams(s: Running, tasks: dict[str, list[dict[str, Any]]], token: str) -> None:
    """Every task has a team meeting the hard constraints, or a reported reason."""
    roster = _inspectors(s, token)
    items = {i["code"]: i for i in _get(s, "planner", "/rules/active", token)["items"]}
    load: Counter[str] = Counter()
    known = {
        "region",
        "department",
        "active",
        "certificate",
        "expertise",
        "recusal",
        "last_inspector",
        "capacity",
        "team_size",
        "joint_departments",
    }
    for rows in tasks.values():
        for r in rows:
            t = r["task"]
            if r["state"] == "merged":
                continue
            if not t["team"]:
                assert r["state"] == "unstaffed"
                assert t["unstaffed_reason"].split(":")[0] in known, t["unstaffed_reason"]
                continue
            assert r["state"] == "assigned" and not t["unstaffed_reason"]
            ids = [m["inspector_id"] for m in t["team"]]
            assert len(ids) >= 2 and len(set(ids)) == len(ids)
            assert {m["department"] for m in t["team"]} >= set(t["departments"]) or not t["joint"]
            for m in t["team"]:
                p = roster[m["inspector_id"]]
                load[p["inspector_id"]] += 1
                assert p["department"] in t["departments"]
                assert p["status"] == "active"
                assert date.fromisoformat(p["certificate_expiry"]) >= date.fromisoformat(
                    t["period_end"]
                )
                assert t["region_code"] in p["region_codes"]
                assert t["uscc"] not in p["recusal_usccs"]
                needs = {
                    x
                    for i in t["items"]
                    if i["department"] == p["department"]
                    for x in items[i["code"]]["expertise"]
                }
                assert needs <= set(p["expertise"]), (t["task_id"], needs, p["expertise"])
    for inspector_id, n in load.items():
        assert n <= roster[inspector_id]["capacity"]


def check_results(
    s: Running, tasks: dict[str, list[dict[str, Any]]], summary: dict[str, Any], token: str
) -> None:
    """Every submitted result reaches every destination once; the figures agree."""
    state = {r["task"]["task_id"]: r["state"] for rows in tasks.values() for r in rows}
    public = [
        p for p in _get(s, "publisher", "/public/results.json")["results"] if p["task_id"] in state
    ]
    assert len(public) == summary["published"] == summary["results"]["submitted"] > 0
    # one product-quality item went to a testing body, whose report came back first
    assert summary["results"]["commissioned"] == 1
    assert all(state[p["task_id"]] == "assigned" for p in public), "a result on a merged task"
    ours = {p["result_id"] for p in public}
    deliveries = [
        d
        for d in _get(s, "publisher", "/deliveries", token, limit=10_000)
        if d["result_id"] in ours
    ]
    keys = Counter(d["idempotency_key"] for d in deliveries)
    assert max(keys.values()) == 1
    assert all(d["state"] == "delivered" for d in deliveries)
    by_result: dict[str, Counter[str]] = {}
    for d in deliveries:
        by_result.setdefault(d["result_id"], Counter())[d["destination"]] += 1
    referral = {c["code"] for c in CATEGORIES if c["referral"]}
    credit = {c["code"] for c in CATEGORIES if c["credit_feedback"]}
    referrals = 0
    for p in public:
        got = by_result[p["result_id"]]
        codes = {i["category"] for i in p["items"]}
        expected = {"disclosure", "stream"}
        if codes & credit:
            expected.add("credit")
        if codes & referral:
            expected.add("referral")
            referrals += 1
        assert expected <= set(got), (p["result_id"], got)
        assert set(got) - expected <= {"licensing"}
        assert all(n == 1 for n in got.values())
    assert set(by_result) == {p["result_id"] for p in public}
    assert summary["referrals"] == referrals > 0
    assert summary["violations"] == sum(p["violation"] for p in public)
    live = [r for rows in tasks.values() for r in rows if r["state"] != "merged"]
    assert summary["tasks"] == len(live)
    assert summary["staffed"] == sum(1 for r in live if r["task"]["team"])
    assert summary["unstaffed"] == sum(summary["unstaffed_reasons"].values())
    assert summary["staffed"] + summary["unstaffed"] == summary["tasks"]
    assert summary["joint_tasks"] == sum(1 for r in live if r["task"]["joint"]) > 0
    # Late publications, with the deadline from the command line (20 working days).
    due = {}
    for check in {p["check_date"] for p in public}:
        r = cli(s, "publisher", "due-date", check)
        assert r.returncode == 0, r.stderr
        due[check] = r.stdout.strip()
    late = sum(1 for p in public if p["published_at"][:10] > due[p["check_date"]])
    assert summary["published_late"] == late
    overdue = cli(s, "publisher", "overdue", "--json")
    assert overdue.returncode == 0
    assert len(json.loads(overdue.stdout)) == (
        summary["unpublished_at_risk"] + summary["unpublished_overdue"]
    )


def check_audit(s: Running, token: str) -> None:
    """Each step left its audit entries, and every chain verifies."""
    r = cli(s, "audit", "verify", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert all(rep["ok"] for rep in json.loads(r.stdout))
    expected = {
        "registry": {"registry.import.entities", "registry.import.inspectors"},
        "planner": {"rules.activate", "plan.approve"},
        "draw": {"draw.start", "draw.committed", "draw.seeded"},
        "publisher": {"result.accepted"},
    }
    for service, actions in expected.items():
        entries = _get(s, service, "/audit/entries", token, limit=1000)
        assert actions <= {e["action"] for e in entries}, (service, entries[:3])
        assert all(e["actor"] for e in entries)
    seeded = [
        e
        for e in _get(s, "draw", "/audit/entries", token, limit=1000)
        if e["action"] == "draw.seeded"
    ]
    assert {e["actor"] for e in seeded} == {"spotcheck-demo"}


@pytest.mark.timeout(900)
def check_restaffing(s: Running, summary: dict[str, Any], shown: str) -> None:
    """The demo re-staffed one task of its first draw: one member changed, re-derivable."""
    draw_id = summary["draws"][0]["draw_id"]
    [done] = _get(s, "draw", f"/draws/{draw_id}/restaffings")
    assert f"换人 {done['task_id']}: " in shown and "--restaffings" in shown
    row = next(r for r in _tasks(s, draw_id) if r["task"]["task_id"] == done["task_id"])
    team = [m["inspector_id"] for m in row["task"]["team"]]
    assert done["replacement"]["inspector_id"] in team
    assert done["replaced"]["inspector_id"] not in team
    assert done["seed_input"] == f"{_get(s, 'draw', f'/draws/{draw_id}/record')['seed']}|" + (
        f"{done['task_id']}|restaff|1"
    )


def test_demo_cycle_agrees_end_to_end(stack: Running) -> None:
    r = cli(stack, *DEMO_ARGS, "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads(r.stdout)
    assert "reusing the stack already running" in r.stderr
    assert "verified ✓" in r.stderr and "DEMO SEED" in r.stderr
    assert summary["county"]["entities"] == ENTITIES
    assert summary["county"]["inspectors"] == INSPECTORS
    assert summary["plans"] == 3 and summary["dead_letters"] == 0
    token = cli(stack, "token", "--role", "auditor").stdout.strip()
    tasks = check_draws(stack, summary)
    check_teams(stack, tasks, token)
    check_results(stack, tasks, summary, token)
    check_audit(stack, token)
    check_restaffing(stack, summary, r.stderr)

    # Running it again reuses everything and submits nothing twice.
    again = cli(stack, *DEMO_ARGS, "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    second = json.loads(again.stdout)
    assert again.stderr.count("reusing draw") == 3
    assert "reusing restaffing" in again.stderr
    assert "already submitted" in again.stderr and "already in the registry" in again.stderr
    assert second["results"]["submitted"] == 0
    assert second["results"]["skipped"] == summary["results"]["submitted"]
    assert [d["draw_id"] for d in second["draws"]] == [d["draw_id"] for d in summary["draws"]]
    assert second["published"] == summary["published"]


def _leftovers(var: Path) -> list[psutil.Process]:
    """Processes still running for this data folder (services, NATS, PostgreSQL)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if str(var) in " ".join(p.info["cmdline"] or []) or (
                p.environ().get("SPOTCHECK_VAR_DIR") == str(var) and p.pid != os.getpid()
            ):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return [p for p in found if p.is_running() and p.status() != "zombie"]


@pytest.mark.timeout(600)
def test_demo_failure_is_one_line_and_leaves_nothing(workdir: Path) -> None:
    tmp_path = workdir
    env = stack_env(tmp_path)
    env["SPOTCHECK_PUBLISHER_URL"] = "http://127.0.0.1:9"  # nobody there: step 6 fails
    r = subprocess.run(
        [sys.executable, "-m", "spotcheck", "demo", "--no-serve", "--entities", "300"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert r.returncode == 1
    errors = [x for x in r.stderr.splitlines() if x.startswith("spotcheck demo:")]
    assert len(errors) == 1, r.stderr[-2000:]
    assert "step 6 (results)" in errors[0] and "cannot reach http://127.0.0.1:9" in errors[0]
    assert "Traceback" not in r.stderr + r.stdout
    assert "Traceback" in (tmp_path / "var" / "logs" / "demo.log").read_text()
    wait_until(lambda: not _leftovers(tmp_path / "var"), what="no process of the demo is left")
    assert not (tmp_path / "var" / "stack.json").exists()


@pytest.mark.timeout(600)
def test_demo_starts_serves_and_stops_clean(workdir: Path) -> None:
    tmp_path = workdir
    env = stack_env(tmp_path)
    out = tmp_path / "demo.log"
    with out.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "spotcheck", "demo", "--entities", "600", "--inspectors", "16"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:

            def serving() -> bool:
                assert proc.poll() is None, out.read_text(errors="replace")[-3000:]
                return "Ctrl-C stops everything" in out.read_text(errors="replace")

            wait_until(serving, what="the demo serving", timeout=400)
            info = json.loads((tmp_path / "var" / "stack.json").read_text())
            assert info["pid"] == proc.pid
            for name in SERVICES:
                url = info["services"][name]["url"]
                assert httpx.get(url + "/readyz", timeout=5).status_code == 200
            children = psutil.Process(proc.pid).children(recursive=True)
            assert len(children) >= 5
            proc.send_signal(signal.SIGINT)
            proc.wait(90)
        finally:
            if proc.poll() is None:
                proc.kill()
    text = out.read_text(errors="replace")
    assert proc.returncode == 0, text[-3000:]
    assert "stopped cleanly" in text and "8/8 summary" in text
    wait_until(
        lambda: not [p for p in children if p.is_running() and p.status() != "zombie"],
        what="every process of the demo has ended",
    )
    assert not (tmp_path / "var" / "stack.json").exists()
