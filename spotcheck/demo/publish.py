"""Step 6 of the demo: inspectors submit results; the publisher delivers them; deadlines.

Each inspector submits the results of the tasks he or she leads with his or her own token
(role `inspector`, subject = inspector id), in batches, as the phone app would. A result the
publisher already has is skipped (answer `result_exists`); a task the publisher has not yet
heard of (`task.assigned` still on its way over NATS) is tried again for a while.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, datetime
from typing import Any

from rich.table import Table

from contracts.common import Role
from services.kit.auth import issue_token, load_or_create_key
from services.kit.backoff import Backoff
from services.publisher.library import load_categories
from spotcheck.demo import results as sample
from spotcheck.demo.common import Demo, DemoError, fetch_tasks, progress_bar, today
from spotcheck.demo.summary import publication_timing

BATCH = 500
TASK_WAIT_S = 120.0
# Between passes over the results whose task has not reached the publisher yet: the kit's
# backoff, half a second doubling to two.
RESUBMIT_BACKOFF = Backoff(base_s=0.5, cap_s=2.0)
DELIVERY_WAIT_S = 300.0


def _kind(outcome: dict[str, Any]) -> str:
    if outcome.get("accepted"):
        return "submitted"
    err = outcome.get("error") or {}
    types = {str(d.get("type")) for d in err.get("details") or []}
    if "result_exists" in types:
        return "skipped"
    if "task_unknown" in types:
        return "wait"
    return "refused"


def run_results(demo: Demo) -> dict[str, int]:
    """Submit the sample results; wait for every delivery; show the deadline status."""
    # Read the tasks again: a later plan's draw may have absorbed an earlier draw's open task
    # (进一次门、查多项事), which then is `merged` and takes no result of its own.
    for d in demo.facts.draws:
        d["tasks"] = fetch_tasks(demo, d["record"]["draw_id"])
    tasks = [r["task"] for d in demo.facts.draws for r in d["tasks"] if r["state"] == "assigned"]
    plan = sample.Plan(share_per_mille=demo.o.results_per_mille, today=today())
    by_inspector = sample.submissions_by_inspector(tasks, plan=plan)
    total = sum(len(v) for v in by_inspector.values())
    demo.note(
        f"{total} of {len(tasks)} staffed tasks have a result now "
        f"({demo.o.results_per_mille / 10:g}%), entered by {len(by_inspector)} inspectors"
    )
    key = load_or_create_key(demo.settings.key_file())
    api = demo.api("publisher")
    counts: Counter[str] = Counter()
    refusals: list[str] = []
    pending = dict(by_inspector)
    deadline = time.monotonic() + TASK_WAIT_S
    passes = 0
    with progress_bar(demo.console) as progress:
        bar = progress.add_task("submit results", total=total)
        while pending:
            waiting: dict[str, list[dict[str, Any]]] = {}
            for inspector, subs in pending.items():
                api.http.headers["Authorization"] = "Bearer " + issue_token(
                    key, role=Role.INSPECTOR, sub=inspector
                )
                for start in range(0, len(subs), BATCH):
                    part = subs[start : start + BATCH]
                    for sub, out in zip(part, api.post("/results/batch", json=part), strict=True):
                        kind = _kind(out)
                        if kind == "wait":
                            waiting.setdefault(inspector, []).append(sub)
                            continue
                        counts[kind] += 1
                        progress.advance(bar)
                        if kind == "refused":
                            refusals.append(f"{sub['task_id']}: {out['error'].get('message')}")
            pending = waiting
            if pending:
                if time.monotonic() > deadline:
                    n = sum(len(v) for v in pending.values())
                    raise DemoError(f"the publisher never heard of {n} tasks (task.assigned)")
                passes += 1
                time.sleep(RESUBMIT_BACKOFF.delay(passes))
    demo.note(
        f"submitted {counts['submitted']}, skipped {counts['skipped']} (already submitted), "
        f"refused {counts['refused']}"
    )
    for line in refusals[:5]:
        demo.note(f"[red]refused[/] {line}")
    _show_mix(demo, by_inspector)
    _wait_for_deliveries(demo)
    _deadlines(demo)
    return {"submitted": counts["submitted"], "skipped": counts["skipped"]} | {
        "refused": counts["refused"],
        "chosen": total,
    }


def _show_mix(demo: Demo, by_inspector: dict[str, list[dict[str, Any]]]) -> None:
    categories = load_categories()
    mix: Counter[str] = Counter()
    for subs in by_inspector.values():
        for s in subs:
            for item in s["items"]:
                mix[item["category"]] += 1
    t = Table(title="item results by category (国家公示系统检查结果类别)", title_justify="left")
    for col in ("code", "category", "items", "violation", "referral"):
        t.add_column(col)
    for code, n in mix.most_common():
        cat = categories.resolve(code)
        name = cat.name if cat else "?"
        t.add_row(
            code,
            name,
            str(n),
            "yes" if cat and cat.violation else "",
            "yes" if cat and cat.referral else "",
        )
    demo.console.print(t)


def _wait_for_deliveries(demo: Demo) -> None:
    ops = demo.api("publisher", Role.AUDITOR)
    deadline = time.monotonic() + DELIVERY_WAIT_S
    with demo.console.status("delivering: disclosure, public stream, credit, referral…") as st:
        while True:
            rows = ops.get("/deliveries", params={"limit": 10_000})
            states = Counter(r["state"] for r in rows)
            st.update(
                f"deliveries: {states.get('delivered', 0)} delivered, "
                f"{states.get('pending', 0)} pending, {states.get('dead', 0)} dead"
            )
            if not states.get("pending"):
                break
            if time.monotonic() > deadline:
                raise DemoError(
                    f"{states['pending']} deliveries still pending after {DELIVERY_WAIT_S:.0f} s"
                )
            time.sleep(0.5)
    by_dest = Counter(r["destination"] for r in rows if r["state"] == "delivered")
    demo.note(
        "delivered: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_dest.items()))
        + f"; dead letters {states.get('dead', 0)}"
    )


def _deadlines(demo: Demo) -> None:
    ops = demo.api("publisher", Role.AUDITOR)
    now = Counter(r["state"] for r in ops.get("/deadlines"))
    public = demo.api("publisher").get("/public/results.json")["results"]
    timing = Counter(
        publication_timing(
            date.fromisoformat(r["check_date"]),
            datetime.fromisoformat(r["published_at"]).date(),
        )
        for r in public
    )
    demo.note(
        f"deadline (public within 20 working days of the check): {timing.get('on_time', 0)} "
        f"published on time, {timing.get('at_risk', 0)} in their last 5 working days, "
        f"{timing.get('late', 0)} late (checked in September); not yet public: "
        f"{now.get('at_risk', 0)} at risk, {now.get('overdue', 0)} overdue "
        "(spotcheck publisher overdue)"
    )
