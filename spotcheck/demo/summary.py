"""The demo's one summary: numbers gathered from the services' answers, and their display.

`build` is pure (answers in, one JSON-able dict out) so the end-to-end test can compare the same
numbers with what it reads back itself; `render` prints it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from services.publisher.library import AT_RISK_WORKING_DAYS, due_date, is_working_day

OFFICER_ROLES = (
    ("planner-scjg", "planner of 市场监管: 抽查计划"),
    ("draw-officer", "draw officer: 公开抽取"),
    ("draw-officer-2", "second draw officer: confirms a redraw"),
    ("policy", "policy staff: 规则管理"),
    ("auditor", "auditor: reads plans and draws"),
)
# The public site (一公开) of the web service: what citizens and companies open.
PUBLIC_SITE = (
    ("home 首页 (search 查企业)", "/"),
    ("抽查事项清单 item list", "/items"),
    ("计划公告 plans", "/plans"),
    ("任务公告 tasks", "/tasks"),
    ("结果公告 results", "/results"),
    ("抽取记录 draws (验证 in the browser)", "/draws"),
)
# The publisher's own notices and open data (machines read these).
PUBLIC_PAGES = (
    ("抽查事项清单 item list", "/public/items"),
    ("计划公告 plans", "/public/plans"),
    ("任务公告 tasks", "/public/tasks"),
    ("结果公告 results", "/public/results"),
    ("open data JSON", "/public/results.json"),
    ("open data CSV", "/public/results.csv"),
    ("Atom feed", "/public/feed.atom"),
)


def constraint_of(reason: str | None) -> str:
    """The failing constraint of an unstaffed task (`"expertise: …"` → `expertise`)."""
    return (reason or "unknown").split(":", 1)[0].strip()


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (negative when `end` < `start`)."""
    if end < start:
        return -working_days_between(end, start)
    n = 0
    day = start
    while day < end:
        day = date.fromordinal(day.toordinal() + 1)
        if is_working_day(day):
            n += 1
    return n


def publication_timing(check: date, published: date) -> str:
    """`late` (after the 20th working day), `at_risk` (in its last 5 working days) or `on_time`."""
    due = due_date(check)
    if published > due:
        return "late"
    if working_days_between(published, due) <= AT_RISK_WORKING_DAYS:
        return "at_risk"
    return "on_time"


def build(
    *,
    county: Mapping[str, Any],
    rules_version: str,
    plans: Sequence[Mapping[str, Any]],
    draws: Sequence[Mapping[str, Any]],
    results: Mapping[str, int],
    public_results: Iterable[Mapping[str, Any]],
    deliveries: Iterable[Mapping[str, Any]],
    deadlines: Iterable[Mapping[str, Any]],
    urls: Mapping[str, str],
) -> dict[str, Any]:
    """The summary from the county facts, the approved plans, the draws (each with `record`,
    `tasks` rows of `GET /draws/{id}/tasks` and `verified`), the result counts of this run, the
    published results (open data JSON), the publisher's deliveries and deadline list."""
    risk_of: dict[str, str | None] = {}
    strata = excluded = 0
    for p in plans:
        strata += len(p["strata"])
        excluded += len(p.get("excluded", []))
        for s in p["strata"]:
            risk_of[s["stratum_id"]] = s.get("risk_class")
    sampled: Counter[str] = Counter()
    candidates: Counter[str] = Counter()
    for d in draws:
        for s in d["record"]["strata"]:
            cls = risk_of.get(s["stratum_id"]) or "-"
            sampled[cls] += s["k"]
            candidates[cls] += s["n"]
    rows = [r for d in draws for r in d["tasks"]]
    live = [r for r in rows if r["state"] in ("assigned", "unstaffed")]
    staffed = [r for r in live if r["task"]["team"]]
    joint = [r for r in live if r["task"].get("joint")]
    unstaffed = Counter(
        constraint_of(r["task"].get("unstaffed_reason")) for r in live if not r["task"]["team"]
    )
    team_sizes = [len(r["task"]["team"]) for r in staffed]
    inspectors_used = {m["inspector_id"] for r in staffed for m in r["task"]["team"]}
    task_ids = {r["task"]["task_id"] for r in rows}
    published = [r for r in public_results if r["task_id"] in task_ids]
    timing: Counter[str] = Counter(
        publication_timing(
            date.fromisoformat(r["check_date"]),
            datetime.fromisoformat(r["published_at"]).date(),
        )
        for r in published
    )
    by_destination: Counter[str] = Counter()
    dead = 0
    for d in deliveries:
        if d["state"] == "delivered":
            by_destination[d["destination"]] += 1
        elif d["state"] == "dead":
            dead += 1
    now: Counter[str] = Counter(str(x["state"]) for x in deadlines)
    return {
        "county": dict(county),
        "rules_version": rules_version,
        "plans": len(plans),
        "strata": strata,
        "strata_excluded": excluded,
        "candidates_per_class": dict(sorted(candidates.items())),
        "sampled_per_class": dict(sorted(sampled.items())),
        "sampled": sum(sampled.values()),
        "draws": [
            {"draw_id": d["record"]["draw_id"], "plan_id": d["record"]["plan_id"]}
            | {"verified": bool(d["verified"]), "tasks": len(d["tasks"])}
            for d in draws
        ],
        "tasks": len(live),
        "tasks_merged": len(rows) - len(live),
        "joint_tasks": len(joint),
        "joint_share_bp": (len(joint) * 10000 // len(live)) if live else 0,
        "batches": max((r["task"]["batch"] for r in live), default=0),
        "staffed": len(staffed),
        "teams_mean_size": round(sum(team_sizes) / len(team_sizes), 2) if team_sizes else 0,
        "inspectors_on_teams": len(inspectors_used),
        "unstaffed": sum(unstaffed.values()),
        "unstaffed_reasons": dict(unstaffed.most_common()),
        "results": dict(results),
        "published": len(published),
        "violations": sum(1 for r in published if r.get("violation")),
        "deliveries": dict(sorted(by_destination.items())),
        "referrals": by_destination.get("referral", 0),
        "dead_letters": dead,
        "published_late": timing.get("late", 0),
        "published_at_risk": timing.get("at_risk", 0),
        "unpublished_at_risk": now.get("at_risk", 0),
        "unpublished_overdue": now.get("overdue", 0),
        "urls": dict(urls),
    }


def _pct(bp: int) -> str:
    return f"{bp / 100:.1f}%"


def render(s: Mapping[str, Any], console: Console) -> None:
    """Print the summary as one table, then the addresses."""
    c = s["county"]
    t = Table(title="spotcheck demo — 昌江区 (360202) 2026", show_header=False, expand=False)
    t.add_column("what", style="bold")
    t.add_column("figure")
    t.add_row("entities 市场主体", f"{c['entities']:,}  ({c.get('mix', '')})")
    t.add_row("inspectors 检查人员", f"{c['inspectors']}  ({c.get('departments', '')})")
    t.add_row("rules 规则集", s["rules_version"][:16])
    t.add_row(
        "plans / strata",
        f"{s['plans']} plans, {s['strata']} strata drawn, {s['strata_excluded']} excluded by rules",
    )
    t.add_row(
        "drawn per risk class",
        "  ".join(f"{k} {v:,}" for k, v in s["sampled_per_class"].items())
        + f"  (total {s['sampled']:,} selections in {s['strata']} strata)",
    )
    t.add_row(
        "draws verified",
        "  ".join(
            f"{d['plan_id']} {'verified ✓' if d['verified'] else 'NOT VERIFIED'}"
            for d in s["draws"]
        ),
    )
    t.add_row(
        "tasks 抽查任务",
        f"{s['tasks']:,} (+{s['tasks_merged']} merged into another plan's visit), "
        f"{s['batches']} batch(es)",
    )
    t.add_row(
        "joint share 联合抽查", f"{s['joint_tasks']:,} joint tasks = {_pct(s['joint_share_bp'])}"
    )
    t.add_row(
        "teams 检查组",
        f"{s['staffed']:,} staffed, mean {s['teams_mean_size']} inspectors, "
        f"{s['inspectors_on_teams']} inspectors used",
    )
    reasons = ", ".join(f"{k} {v}" for k, v in s["unstaffed_reasons"].items()) or "-"
    t.add_row("unstaffed 未能派员", f"{s['unstaffed']:,}  ({reasons})")
    r = s["results"]
    t.add_row(
        "results 检查结果",
        f"{r.get('submitted', 0):,} submitted now (confirmed by each team member: "
        f"{r.get('confirmations', 0):,} confirmations), {r.get('skipped', 0):,} already there, "
        f"{r.get('refused', 0):,} refused",
    )
    t.add_row("published 结果公示", f"{s['published']:,} ({s['violations']:,} with violations)")
    t.add_row(
        "deliveries",
        ", ".join(f"{k} {v:,}" for k, v in s["deliveries"].items())
        + f"; dead letters {s['dead_letters']}",
    )
    t.add_row("referrals 移送", f"{s['referrals']:,}")
    t.add_row(
        "deadline (20 working days)",
        f"published late {s['published_late']}, published at risk {s['published_at_risk']}; "
        f"not yet public: at risk {s['unpublished_at_risk']}, "
        f"overdue {s['unpublished_overdue']}",
    )
    console.print(t)
    u = s["urls"]
    console.print("[bold]public site (一公开) — no login, on a phone too:[/]")
    for label, path in PUBLIC_SITE:
        console.print(f"  {label:<28} {u['web']}{path}")
    for d in s["draws"]:
        console.print(f"  {'draw ' + d['draw_id']:<28} {u['web']}/draws/{d['draw_id']}")
    console.print("[bold]publisher's notices and open data (公示):[/]")
    for label, path in PUBLIC_PAGES:
        console.print(f"  {label:<28} {u['publisher']}{path}")
    people = s.get("accounts") or {}
    console.print(
        "[bold]掌上查 — the inspector's phone app (open it on a phone or a narrow window):[/]"
    )
    console.print(f"  {'address':<28} {u['web']}/m/")
    who = people.get("inspector") or {}
    if who:
        console.print(
            f"  {'sign in as':<28} {who['username']} / {people['password']}  "
            f"({who['name']}, {who['open_tasks']} open tasks)"
        )
    if people.get("officers"):
        console.print("[bold]工作台 — the officers' console (plans, the draw, rules):[/]")
        console.print(f"  {'address':<28} {u['web']}/console/")
        for username, role in OFFICER_ROLES:
            if username in people["officers"]:
                console.print(f"  {'sign in as':<28} {username} / {people['password']}  ({role})")
    console.print("[bold]API docs:[/]")
    for name in ("registry", "planner", "draw", "publisher"):
        console.print(f"  {name:<28} {u[name]}/docs")
