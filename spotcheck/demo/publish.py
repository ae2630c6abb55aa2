"""Step 6 of the demo: inspectors record results; the publisher delivers them; deadlines.

As on the phone (掌上查): the first member of each team submits the result of the tasks he or
she leads with his or her own token (role `inspector`, subject = inspector id), in batches,
each with an idempotency key as the phone's offline queue sends it. A submission confirms for
the submitter only, so it waits as a draft; each other member of the team then reads it and
confirms it with his or her own token, and the last confirmation makes it the result. A
result the publisher already has is skipped (answer `result_exists`, or the first outcome of
the same key again); a task the publisher has not yet heard of (`task.assigned` still on its
way over NATS) is tried again for a while.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

from rich.table import Table

from contracts.common import Role
from services.kit.auth import issue_token, load_or_create_key
from services.kit.backoff import Backoff
from services.publisher.library import load_categories
from spotcheck.client import Api, ApiError
from spotcheck.demo import results as sample
from spotcheck.demo.commission import commission_one
from spotcheck.demo.common import Demo, DemoError, fetch_tasks, progress_bar, today
from spotcheck.demo.summary import publication_timing

BATCH = 500
TASK_WAIT_S = 120.0
# Between passes over the results whose task has not reached the publisher yet: the kit's
# backoff, half a second doubling to two.
RESUBMIT_BACKOFF = Backoff(base_s=0.5, cap_s=2.0)
DELIVERY_WAIT_S = 300.0
# Team members confirming drafts at the same time (each request is one short transaction).
CONFIRMERS = 4


def _kind(outcome: dict[str, Any]) -> str:
    draft = outcome.get("draft")
    if draft:
        if draft["state"] == "awaiting":
            return "draft"
        # The same idempotency key again (a rerun): the draft its first submission made.
        return "skipped" if draft["state"] == "accepted" else "refused"
    if outcome.get("accepted"):
        return "skipped" if outcome.get("repeated") else "submitted"
    err = outcome.get("error") or {}
    types = {str(d.get("type")) for d in err.get("details") or []}
    if "result_exists" in types:
        return "skipped"
    if "task_unknown" in types:
        return "wait"
    return "refused"


def run_results(demo: Demo) -> dict[str, int]:
    """Submit the sample results, have each team confirm them; wait for every delivery; show
    the deadline status."""
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
        f"({demo.o.results_per_mille / 10:g}%), submitted by {len(by_inspector)} inspectors "
        "and confirmed by their teams, each member with his or her own sign-in"
    )
    key = load_or_create_key(demo.settings.key_file())
    # An inspector's token names his or her department, as the sign-in would.
    departments = {
        str(m["inspector_id"]): str(m["department"]) for t in tasks for m in t.get("team") or []
    }
    api = demo.api("publisher")
    commissioned = commission_one(demo, api, key, departments, by_inspector, tasks)
    counts: Counter[str] = Counter()
    refusals: list[str] = []
    drafts: list[dict[str, Any]] = []
    pending = dict(by_inspector)
    deadline = time.monotonic() + TASK_WAIT_S
    passes = 0
    with progress_bar(demo.console) as progress:
        bar = progress.add_task("submit results", total=total)
        while pending:
            waiting: dict[str, list[dict[str, Any]]] = {}
            for inspector, subs in pending.items():
                api.http.headers["Authorization"] = "Bearer " + issue_token(
                    key, role=Role.INSPECTOR, sub=inspector, dept=departments[inspector]
                )
                for start in range(0, len(subs), BATCH):
                    part = subs[start : start + BATCH]
                    for sub, out in zip(part, api.post("/results/batch", json=part), strict=True):
                        kind = _kind(out)
                        if kind == "wait":
                            waiting.setdefault(inspector, []).append(sub)
                            continue
                        progress.advance(bar)
                        if kind == "draft":
                            drafts.append(out["draft"])
                            continue
                        counts[kind] += 1
                        if kind == "refused":
                            refusals.append(f"{sub['task_id']}: {_why(out)}")
            pending = waiting
            if pending:
                if time.monotonic() > deadline:
                    n = sum(len(v) for v in pending.values())
                    raise DemoError(f"the publisher never heard of {n} tasks (task.assigned)")
                passes += 1
                time.sleep(RESUBMIT_BACKOFF.delay(passes))
        confirmed = _confirm(demo, api, key, departments, drafts, progress)
    counts["submitted"] += confirmed["submitted"]
    counts["refused"] += confirmed["refused"]
    refusals += confirmed["refusals"]
    demo.note(
        f"submitted {counts['submitted']} (each confirmed by the rest of its team: "
        f"{confirmed['confirmations']} confirmations), skipped {counts['skipped']} "
        f"(already submitted), refused {counts['refused']}"
    )
    for line in refusals[:5]:
        demo.note(f"[red]refused[/] {line}")
    _show_mix(demo, by_inspector)
    _wait_for_deliveries(demo)
    _deadlines(demo)
    return {"submitted": counts["submitted"], "skipped": counts["skipped"]} | {
        "refused": counts["refused"],
        "chosen": total,
        "confirmations": confirmed["confirmations"],
        "commissioned": 0 if commissioned is None else 1,
    }


def _why(outcome: dict[str, Any]) -> str:
    err = outcome.get("error") or {}
    return str(err.get("message") or outcome.get("draft", {}).get("state", "?"))


def _confirm(
    demo: Demo,
    api: Api,
    key: bytes,
    departments: dict[str, str],
    drafts: list[dict[str, Any]],
    progress: Any,
) -> dict[str, Any]:
    """Each member awaited confirms each draft with his or her own token (several members at
    a time, as on their phones); the last confirmation of a draft makes it the result."""
    bar = progress.add_task("team members confirm", total=len(drafts))
    tokens: dict[str, str] = {}

    def headers(inspector: str) -> dict[str, str]:
        if inspector not in tokens:
            tokens[inspector] = issue_token(
                key, role=Role.INSPECTOR, sub=inspector, dept=departments[inspector]
            )
        return {"Authorization": f"Bearer {tokens[inspector]}"}

    def one(draft: dict[str, Any]) -> tuple[str, int, str]:
        body = {"draft_id": draft["draft_id"], "content_sha256": draft["content_sha256"]}
        done, got = 0, {}
        try:
            for member in draft["awaiting"]:
                got = api.post(
                    f"/tasks/{draft['task_id']}/draft/confirm", json=body, headers=headers(member)
                )
                done += 1
        except ApiError as exc:
            return "refused", done, f"{draft['task_id']}: {exc}"
        return ("submitted" if got.get("result_id") else "refused"), done, draft["task_id"]

    for draft in drafts:  # tokens made up front: the threads only read them
        for member in draft["awaiting"]:
            headers(member)
    counts: Counter[str] = Counter()
    refusals: list[str] = []
    confirmations = 0
    with ThreadPoolExecutor(max_workers=CONFIRMERS) as pool:
        for kind, done, what in pool.map(one, drafts):
            counts[kind] += 1
            confirmations += done
            progress.advance(bar)
            if kind == "refused":
                refusals.append(what)
    return {
        "submitted": counts["submitted"],
        "refused": counts["refused"],
        "refusals": refusals,
        "confirmations": confirmations,
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
