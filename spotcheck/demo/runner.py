"""`spotcheck demo`: the main job end to end, on the embedded default, step by step.

1 stack · 2 county (two directories) · 3 rules · 4 plans · 5 draws (and one task re-staffed,
and one triggered check) · 6 results · 7 accounts (掌上查) · 8 summary.
Everything goes through the services' HTTP APIs (the same calls the `spotcheck` commands make).
Reruns in the same folder reuse what exists — generated files, imported rows (the import is
idempotent), the active rule set, plans and draws (fixed ids) — and skip results already
submitted; each step says "reusing" when it does.

This module runs the steps in order and gathers the summary (8; the numbers and their display
are in `summary`): steps 1–4 are in `prepare`, 5 in `ceremony` (its 换人 in `restaff`, its
triggered check in `triggered`), 6 in `publish`, 7 in `accounts`. What the steps share (the
run, `DemoError`, `retry`, …) is in `common`; a step imports no other step.
"""

from __future__ import annotations

import json
from typing import Any

from contracts.common import Role
from spotcheck.demo import accounts, ceremony, prepare, publish, restaff, summary, triggered
from spotcheck.demo.common import Demo, DemoError, Options
from spotcheck.stack import SERVICES

__all__ = ["Demo", "DemoError", "Options", "run"]


def run(demo: Demo) -> dict[str, Any]:
    """Steps 1–7; the summary as a dict. The caller stops the stack (`demo.stop_stack()`) in
    any case."""
    prepare.start_stack(demo)
    prepare.county(demo)
    prepare.rules(demo)
    prepare.plans(demo)
    demo.step(5, "draws — commitment, seed, selection, batches, teams, verification")
    for plan in demo.facts.plans:
        demo.facts.draws.append(ceremony.run_draw(demo, plan))
    restaff.one(demo)
    demo.note("[bold]触发检查[/] — a check on a trigger, outside the draw, staffed by its rules")
    demo.facts.triggered = triggered.run_triggered(demo)
    demo.step(6, "results — recorded by the inspectors, delivered by the publisher")
    demo.facts.results = publish.run_results(demo)
    demo.step(7, "accounts — the county's inspectors and officers on 掌上查 and the web")
    people = accounts.create(demo)
    return _summary(demo, people)


def _summary(demo: Demo, people: dict[str, Any]) -> dict[str, Any]:
    """Gather the published results, deliveries and deadlines; print one summary."""
    demo.step(8, "summary")
    publisher = demo.api("publisher", Role.AUDITOR)
    public = publisher.get("/public/results.json")
    rows = public["results"] if isinstance(public, dict) else public
    report = summary.build(
        county=demo.facts.county,
        rules_version=demo.facts.rules_version,
        plans=demo.facts.plans,
        draws=demo.facts.draws,
        results=demo.facts.results,
        public_results=rows,
        deliveries=publisher.get("/deliveries", params={"limit": 10_000}),
        deadlines=publisher.get("/deadlines"),
        urls={s: demo.api(s).base for s in SERVICES},
    )
    report["accounts"] = people
    report["triggered"] = demo.facts.triggered
    audit = [demo.api(s, Role.AUDITOR).get("/audit/verify") for s in SERVICES]
    report["audit"] = {a["service"]: {"ok": a["ok"], "entries": a["entries"]} for a in audit}
    summary.render(report, demo.console)
    chains = ", ".join(f"{a['service']} {a['entries']}" for a in audit)
    ok = all(a["ok"] for a in audit)
    demo.console.print(
        f"[bold]audit trail:[/] {'every chain verifies' if ok else 'BROKEN'} ({chains} entries)"
    )
    path = demo.out / "summary.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    demo.console.print(f"summary as JSON: {path}")
    if not ok:
        raise DemoError("an audit chain does not verify: spotcheck audit verify")
    return report
