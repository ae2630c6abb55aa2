"""`spotcheck demo`: the main job end to end, on the embedded default, step by step.

1 stack · 2 county (two directories) · 3 rules · 4 plans · 5 draws · 6 results · 7 summary.
Everything goes through the services' HTTP APIs (the same calls the `spotcheck` commands make).
Reruns in the same folder reuse what exists — generated files, imported rows (the import is
idempotent), the active rule set, plans and draws (fixed ids) — and skip results already
submitted; each step says "reusing" when it does.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from contracts.common import Role
from services.kit.backoff import Backoff
from services.kit.settings import Settings
from spotcheck.client import Api, ApiError
from spotcheck.demo import county
from spotcheck.stack import SERVICES, Stack, read_json, running_stack

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
PLANS_DIR = Path(__file__).resolve().parent / "plans"
STEPS = 7


class DemoError(RuntimeError):
    """A step failed; the message is the one line the user sees."""


@dataclass
class Options:
    """What `spotcheck demo` was asked to do."""

    entities: int = 30_000
    inspectors: int = 80
    seed: int = county.SEED
    results_per_mille: int = 600
    serve: bool = True


@dataclass
class Facts:
    """What the steps learnt, for the summary."""

    county: dict[str, Any] = field(default_factory=dict)
    rules_version: str = ""
    plans: list[dict[str, Any]] = field(default_factory=list)
    draws: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, int] = field(default_factory=dict)


# Waiting for a service to learn of something (an event still on its way): the kit's backoff,
# from a quarter second up to two, so a quick arrival is seen at once and a slow one is not
# polled for nothing.
RETRY_BACKOFF = Backoff(base_s=0.25, cap_s=2.0)


def retry(fn: Callable[[], T], *, until: float, again: Callable[[ApiError], bool]) -> T:
    """Call `fn` until it does not raise an `ApiError` that `again` accepts, for `until` s."""
    deadline = time.monotonic() + until
    attempt = 0
    while True:
        try:
            return fn()
        except ApiError as exc:
            if not again(exc) or time.monotonic() > deadline:
                raise
        attempt += 1
        time.sleep(min(RETRY_BACKOFF.delay(attempt), max(0.0, deadline - time.monotonic())))


class Demo:
    """One run of the demo cycle."""

    def __init__(self, *, options: Options, settings: Settings, console: Console) -> None:
        self.o = options
        self.settings = settings
        self.console = console
        self.stack: Stack | None = None
        self.facts = Facts()
        self.out = settings.var_dir / "demo"
        self.current = ""

    # -- helpers ----------------------------------------------------------------------------

    def step(self, n: int, title: str) -> None:
        """Print the heading of step `n`."""
        self.current = f"{n} ({title.split(' — ')[0]})"
        self.console.rule(f"[bold cyan]{n}/{STEPS} {title}")

    def api(self, service: str, role: Role | None = None, dept: str | None = None) -> Api:
        """A client of `service` with a token for `role`."""
        return Api(service, role=role, dept=dept, settings=self.settings, timeout=900.0)

    def note(self, text: str) -> None:
        """A line of progress under the current step."""
        self.console.print(f"  {text}")

    # -- 1 stack ----------------------------------------------------------------------------

    def start_stack(self) -> None:
        """Use the stack already running from this folder, or start one in this process."""
        self.step(1, "stack — NATS JetStream, PostgreSQL, four services")
        info = running_stack(self.settings.var_dir)
        if info is not None:
            self.note(
                f"reusing the stack already running from {self.settings.var_dir} "
                f"(pid {info['pid']})"
            )
            return
        self.stack = Stack(
            var_dir=self.settings.var_dir,
            nats_url=os.environ.get("SPOTCHECK_NATS_URL") or None,
            database_url=os.environ.get("SPOTCHECK_DATABASE_URL") or None,
            console=self.console,
        )
        self.stack.start()
        self.note("[green]all services ready[/]")

    def stop_stack(self) -> None:
        """Stop the stack if this process started it."""
        if self.stack is not None:
            with self.console.status("stopping the stack…"):
                self.stack.stop()
            self.stack = None

    # -- 2 county ---------------------------------------------------------------------------

    def county(self) -> None:
        """Generate (or reuse) the county's files and import them into the registry."""
        self.step(2, "昌江区 (360202): entity directory and inspector roster (两库)")
        from services.planner.domain.ruleset import check_files
        from services.planner.rulefiles import read_rule_dir
        from services.registry.domain.vocabulary import DEFAULT_EXPERTISE

        ruleset, errors = check_files(read_rule_dir(self.rules_dir()))
        if ruleset is None:
            raise DemoError(f"the rule files do not load: {errors[0] if errors else '?'}")
        expertise: dict[str, list[str]] = {d: [] for d in ruleset.departments}
        for item in ruleset.items.values():
            for x in item.expertise:
                if x not in expertise.setdefault(item.department, []):
                    expertise[item.department].append(x)
        self.out.mkdir(parents=True, exist_ok=True)
        ents, insp, meta_path = (
            self.out / "entities.csv",
            self.out / "inspectors.csv",
            self.out / "county.json",
        )
        want = {
            "region": county.REGION,
            "entities": self.o.entities,
            "inspectors": self.o.inspectors,
            "seed": self.o.seed,
            "expertise": expertise,
            "accepted_expertise": sorted(DEFAULT_EXPERTISE),
            "generator": 1,
        }
        meta = read_json(meta_path)
        if meta.get("want") == want and ents.exists() and insp.exists():
            self.note(f"reusing the generated files in {self.out} (same seed {self.o.seed})")
        else:
            with self.console.status(f"generating {self.o.entities:,} entities…"):
                with ents.open("w", encoding="utf-8", newline="") as f:
                    county.write_entities(f, self.o.entities, seed=self.o.seed)
                pool = county.first_usccs(ents, 60)
                with insp.open("w", encoding="utf-8", newline="") as f:
                    made = county.write_inspectors(
                        f,
                        self.o.inspectors,
                        expertise=expertise,
                        accepted_expertise=frozenset(DEFAULT_EXPERTISE),
                        recusal_pool=pool,
                        seed=self.o.seed,
                    )
            meta = {
                "want": want,
                "facts": county.describe_files(ents, insp),
                "dropped": made.dropped_expertise,
            }
            meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
            self.note(f"generated {ents} and {insp} (seed {self.o.seed})")
        facts = meta["facts"]
        self.note(f"entities: {facts['mix']}")
        self.note(f"inspectors: {facts['departments']}")
        if meta.get("dropped"):
            self.note(
                "[yellow]note:[/] the registry does not accept the expertise "
                f"{'、'.join(meta['dropped'])} named by the rules (see /work/requests/demo.md): "
                "tasks that need them stay unstaffed with the reason `expertise`"
            )
        self.facts.county = {
            "region": county.REGION,
            "entities": facts["entities"],
            "inspectors": facts["inspectors"],
            "mix": facts["mix"],
            "departments": facts["departments"],
        }
        for kind, path, total in (
            ("entities", ents, facts["entities"]),
            ("inspectors", insp, facts["inspectors"]),
        ):
            got = self._import(kind, path, total)
            if got["rejected"]:
                raise DemoError(f"the registry rejected {got['rejected']} {kind} rows")
            state = "reusing: already in the registry" if not got["changed"] else "imported"
            self.note(f"{kind}: {state} — accepted {got['accepted']:,}, changed {got['changed']:,}")

    def _import(self, kind: str, path: Path, total: int) -> dict[str, Any]:
        from spotcheck.commands.registry import run_import

        api = self.api("registry", Role.REGISTRY_OWNER)
        with progress_bar(self.console) as progress:
            bar = progress.add_task(f"import {kind}", total=total)
            return run_import(
                api,
                kind,
                path,
                path.with_name(path.name + ".rejects.jsonl"),
                rows_per_chunk=10_000,
                on_chunk=lambda rows: progress.advance(bar, rows),
            )

    # -- 3 rules ----------------------------------------------------------------------------

    def rules_dir(self) -> Path:
        """The rule directory: the settings' (./rules), else the one shipped in the checkout."""
        d = self.settings.rules_dir
        return d if d.is_dir() else ROOT / "rules"

    def rules(self) -> None:
        """`rules check` and `rules test` locally, then activate (unless already active)."""
        self.step(3, "rules — check, test, activate")
        from services.planner.domain.casetests import parse_cases, run_cases
        from services.planner.domain.engine import RuleEngine
        from services.planner.domain.ruleset import check_files
        from services.planner.rulefiles import case_files, read_rule_dir

        directory = self.rules_dir()
        files = read_rule_dir(directory)
        ruleset, errors = check_files(files)
        if ruleset is None or errors:
            raise DemoError(f"rules check failed: {errors[0] if errors else 'no rule set'}")
        self.note(
            f"check: ok — {len(ruleset.items)} items, {len(ruleset.rules)} rules, "
            f"classes {'/'.join(ruleset.risk_classes)}, departments "
            f"{'/'.join(ruleset.departments)}"
        )
        cases, case_errors = parse_cases(case_files(files))
        engine = RuleEngine(ruleset)
        try:
            outcome = run_cases(cases, ruleset, engine.evaluate)
        finally:
            engine.close()
        failed = [r for r in outcome if not r.ok]
        if case_errors or failed or not outcome:
            first = case_errors[0] if case_errors else (failed[0].name if failed else "no cases")
            raise DemoError(f"rules test failed: {first}")
        self.note(f"test: {len(outcome)} cases passed")
        api = self.api("planner", Role.POLICY)
        try:
            active_version = api.get("/rules/active")["version"]
        except ApiError as exc:
            if exc.status != 409:  # 409: no rule set was ever activated
                raise
            active_version = None
        if active_version == ruleset.version:
            self.note(f"activate: reusing — version {ruleset.version[:16]} is already active")
        else:
            body = {"files": {p: b.decode("utf-8") for p, b in files.items()}}
            reply = api.post("/rules/activate", json=body)
            self.note(
                f"activate: {reply['version'][:16]} is active "
                f"(previous {str(reply.get('previous_version'))[:16]})"
            )
        self.facts.rules_version = ruleset.version

    # -- 4 plans ----------------------------------------------------------------------------

    def plans(self) -> None:
        """Submit the three sample plans (or reuse them) and show their strata."""
        import yaml

        from spotcheck.demo.display import plan_table

        self.step(4, "plans — three sample plans for 2026, one of them joint")
        for path in sorted(PLANS_DIR.glob("*.yaml")):
            body = json.loads(
                json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str)
            )
            plan_id = body["plan_id"]
            api = self.api("planner", Role.PLANNER, body.get("lead_department"))
            try:
                shown = api.get(f"/plans/{plan_id}")
                self.note(f"{plan_id}: reusing — already submitted ({shown['status']})")
            except ApiError as exc:
                if exc.status != 404:
                    raise
                reply = api.post("/plans", json=body)
                self.note(
                    f"{plan_id}: {reply['status']} — {reply['strata']} strata, "
                    f"{reply['excluded']} excluded"
                )
                shown = api.get(f"/plans/{plan_id}")
            if shown["status"] != "approved":
                reasons = "; ".join(f"{r['loc']}: {r['msg']}" for r in shown.get("reasons") or [])
                raise DemoError(f"plan {plan_id} was rejected: {reasons}")
            self.facts.plans.append(shown["approved"])
            self.console.print(plan_table(shown["approved"]))

    # -- 5 draws, 6 results -----------------------------------------------------------------

    def draws(self) -> None:
        """The ceremony of each plan, verified with tools/verify_draw.py."""
        from spotcheck.demo.ceremony import run_draw

        self.step(5, "draws — commitment, seed, selection, batches, teams, verification")
        for plan in self.facts.plans:
            self.facts.draws.append(run_draw(self, plan))

    def results(self) -> None:
        """Inspectors record results; the publisher delivers them; deadlines."""
        from spotcheck.demo.publish import run_results

        self.step(6, "results — recorded by the inspectors, delivered by the publisher")
        self.facts.results = run_results(self)

    # -- 7 summary --------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Gather the published results, deliveries and deadlines; print one summary."""
        from spotcheck.demo import summary

        self.step(7, "summary")
        publisher = self.api("publisher", Role.AUDITOR)
        public = publisher.get("/public/results.json")
        rows = public["results"] if isinstance(public, dict) else public
        report = summary.build(
            county=self.facts.county,
            rules_version=self.facts.rules_version,
            plans=self.facts.plans,
            draws=self.facts.draws,
            results=self.facts.results,
            public_results=rows,
            deliveries=publisher.get("/deliveries", params={"limit": 10_000}),
            deadlines=publisher.get("/deadlines"),
            urls={s: self.api(s).base for s in SERVICES},
        )
        audit = [self.api(s, Role.AUDITOR).get("/audit/verify") for s in SERVICES]
        report["audit"] = {a["service"]: {"ok": a["ok"], "entries": a["entries"]} for a in audit}
        summary.render(report, self.console)
        chains = ", ".join(f"{a['service']} {a['entries']}" for a in audit)
        ok = all(a["ok"] for a in audit)
        self.console.print(
            f"[bold]audit trail:[/] {'every chain verifies' if ok else 'BROKEN'} ({chains} entries)"
        )
        path = self.out / "summary.json"
        path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        self.console.print(f"summary as JSON: {path}")
        if not ok:
            raise DemoError("an audit chain does not verify: spotcheck audit verify")
        return report

    def run(self) -> dict[str, Any]:
        """Steps 1–7; the caller stops the stack (`stop_stack`) in any case."""
        self.start_stack()
        self.county()
        self.rules()
        self.plans()
        self.draws()
        self.results()
        return self.summary()


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("  [bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def today() -> date:
    """Today (a function so a test can see what the demo takes as today)."""
    return date.today()
