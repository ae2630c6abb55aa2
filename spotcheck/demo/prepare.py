"""Steps 1–4 of the demo: the stack, the county's two directories, the rules, the plans."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from contracts.common import Role
from spotcheck.client import ApiError
from spotcheck.demo import county as sample_county
from spotcheck.demo.common import Demo, DemoError, progress_bar
from spotcheck.stack import Stack, read_json, running_stack

PLANS_DIR = Path(__file__).resolve().parent / "plans"


def start_stack(demo: Demo) -> None:
    """Use the stack already running from this folder, or start one in this process."""
    demo.step(1, "stack — NATS JetStream, PostgreSQL, four services and the web")
    # A stack of this folder that is healing (a copy restarting, PostgreSQL coming back) is
    # waited for, not replaced.
    info = running_stack(demo.settings.var_dir, wait_s=120.0)
    if info is not None:
        demo.note(
            f"reusing the stack already running from {demo.settings.var_dir} (pid {info['pid']})"
        )
        return
    demo.stack = Stack(
        var_dir=demo.settings.var_dir,
        nats_url=os.environ.get("SPOTCHECK_NATS_URL") or None,
        database_url=os.environ.get("SPOTCHECK_DATABASE_URL") or None,
        console=demo.console,
    )
    demo.stack.start()
    demo.note("[green]all services ready[/]")


def county(demo: Demo) -> None:
    """Generate (or reuse) the county's files and import them into the registry."""
    demo.step(2, "昌江区 (360202): entity directory and inspector roster (两库)")
    from services.planner.library import check_files, read_rule_dir
    from services.registry.library import DEFAULT_EXPERTISE

    ruleset, errors = check_files(read_rule_dir(demo.rules_dir()))
    if ruleset is None:
        raise DemoError(f"the rule files do not load: {errors[0] if errors else '?'}")
    expertise: dict[str, list[str]] = {d: [] for d in ruleset.departments}
    for item in ruleset.items.values():
        for x in item.expertise:
            if x not in expertise.setdefault(item.department, []):
                expertise[item.department].append(x)
    demo.out.mkdir(parents=True, exist_ok=True)
    ents, insp, meta_path = (
        demo.out / "entities.csv",
        demo.out / "inspectors.csv",
        demo.out / "county.json",
    )
    want = {
        "region": sample_county.REGION,
        "entities": demo.o.entities,
        "inspectors": demo.o.inspectors,
        "seed": demo.o.seed,
        "expertise": expertise,
        "accepted_expertise": sorted(DEFAULT_EXPERTISE),
        "generator": 1,
    }
    meta = read_json(meta_path)
    if meta.get("want") == want and ents.exists() and insp.exists():
        demo.note(f"reusing the generated files in {demo.out} (same seed {demo.o.seed})")
    else:
        with demo.console.status(f"generating {demo.o.entities:,} entities…"):
            with ents.open("w", encoding="utf-8", newline="") as f:
                sample_county.write_entities(f, demo.o.entities, seed=demo.o.seed)
            pool = sample_county.first_usccs(ents, 60)
            with insp.open("w", encoding="utf-8", newline="") as f:
                made = sample_county.write_inspectors(
                    f,
                    demo.o.inspectors,
                    expertise=expertise,
                    accepted_expertise=frozenset(DEFAULT_EXPERTISE),
                    recusal_pool=pool,
                    seed=demo.o.seed,
                )
        meta = {
            "want": want,
            "facts": sample_county.describe_files(ents, insp),
            "dropped": made.dropped_expertise,
        }
        meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        demo.note(f"generated {ents} and {insp} (seed {demo.o.seed})")
    facts = meta["facts"]
    demo.note(f"entities: {facts['mix']}")
    demo.note(f"inspectors: {facts['departments']}")
    if meta.get("dropped"):
        demo.note(
            "[yellow]note:[/] the registry does not accept the expertise "
            f"{'、'.join(meta['dropped'])} named by the rules (see /work/requests/demo.md): "
            "tasks that need them stay unstaffed with the reason `expertise`"
        )
    demo.facts.county = {
        "region": sample_county.REGION,
        "entities": facts["entities"],
        "inspectors": facts["inspectors"],
        "mix": facts["mix"],
        "departments": facts["departments"],
    }
    for kind, path, total in (
        ("entities", ents, facts["entities"]),
        ("inspectors", insp, facts["inspectors"]),
    ):
        got = _import(demo, kind, path, total)
        if got["rejected"]:
            raise DemoError(f"the registry rejected {got['rejected']} {kind} rows")
        state = "reusing: already in the registry" if not got["changed"] else "imported"
        demo.note(f"{kind}: {state} — accepted {got['accepted']:,}, changed {got['changed']:,}")


def _import(demo: Demo, kind: str, path: Path, total: int) -> dict[str, Any]:
    from spotcheck.commands.registry import run_import

    api = demo.api("registry", Role.REGISTRY_OWNER)
    with progress_bar(demo.console) as progress:
        bar = progress.add_task(f"import {kind}", total=total)
        return run_import(
            api,
            kind,
            path,
            path.with_name(path.name + ".rejects.jsonl"),
            rows_per_chunk=10_000,
            on_chunk=lambda rows: progress.advance(bar, rows),
        )


def rules(demo: Demo) -> None:
    """`rules check` and `rules test` locally, then activate (unless already active)."""
    demo.step(3, "rules — check, test, activate")
    from services.planner.library import check_files, read_rule_dir, run_rule_tests

    directory = demo.rules_dir()
    files = read_rule_dir(directory)
    ruleset, errors = check_files(files)
    if ruleset is None or errors:
        raise DemoError(f"rules check failed: {errors[0] if errors else 'no rule set'}")
    demo.note(
        f"check: ok — {len(ruleset.items)} items, {len(ruleset.rules)} rules, "
        f"classes {'/'.join(ruleset.risk_classes)}, departments "
        f"{'/'.join(ruleset.departments)}"
    )
    outcome, case_errors = run_rule_tests(files, ruleset)
    failed = [r for r in outcome if not r.ok]
    if case_errors or failed or not outcome:
        first = case_errors[0] if case_errors else (failed[0].name if failed else "no cases")
        raise DemoError(f"rules test failed: {first}")
    demo.note(f"test: {len(outcome)} cases passed")
    api = demo.api("planner", Role.POLICY)
    try:
        active_version = api.get("/rules/active")["version"]
    except ApiError as exc:
        if exc.status != 409:  # 409: no rule set was ever activated
            raise
        active_version = None
    if active_version == ruleset.version:
        demo.note(f"activate: reusing — version {ruleset.version[:16]} is already active")
    else:
        body = {"files": {p: b.decode("utf-8") for p, b in files.items()}}
        reply = api.post("/rules/activate", json=body)
        demo.note(
            f"activate: {reply['version'][:16]} is active "
            f"(previous {str(reply.get('previous_version'))[:16]})"
        )
    demo.facts.rules_version = ruleset.version


def plans(demo: Demo) -> None:
    """Submit the three sample plans (or reuse them) and show their strata."""
    import yaml

    from spotcheck.demo.display import plan_table

    demo.step(4, "plans — three sample plans for 2026, one of them joint")
    for path in sorted(PLANS_DIR.glob("*.yaml")):
        body = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
        plan_id = body["plan_id"]
        api = demo.api("planner", Role.PLANNER, body.get("lead_department"))
        try:
            shown = api.get(f"/plans/{plan_id}")
            demo.note(f"{plan_id}: reusing — already submitted ({shown['status']})")
        except ApiError as exc:
            if exc.status != 404:
                raise
            reply = api.post("/plans", json=body)
            demo.note(
                f"{plan_id}: {reply['status']} — {reply['strata']} strata, "
                f"{reply['excluded']} excluded"
            )
            shown = api.get(f"/plans/{plan_id}")
        if shown["status"] != "approved":
            reasons = "; ".join(f"{r['loc']}: {r['msg']}" for r in shown.get("reasons") or [])
            raise DemoError(f"plan {plan_id} was rejected: {reasons}")
        demo.facts.plans.append(shown["approved"])
        demo.console.print(plan_table(shown["approved"]))
