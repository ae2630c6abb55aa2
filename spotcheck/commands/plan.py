"""`spotcheck plan …` commands: submit a plan YAML, show a plan."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from contracts.common import Role
from spotcheck.client import Api, call, fail, print_json

app = typer.Typer(help="Annual sampling plans: submit and show", no_args_is_help=True)


def _api(dept: str | None) -> Api:
    """The planner's API as a planner of `dept`, or (no department: only to read) as an
    auditor, who reads every plan."""
    if dept is None:
        return Api("planner", role=Role.AUDITOR)
    return Api("planner", role=Role.PLANNER, dept=dept)


def _pct(bp: int) -> str:
    whole, frac = divmod(bp, 100)
    return f"{whole}%" if not frac else f"{whole}.{frac:02d}".rstrip("0") + "%"


def _size(s: dict[str, Any]) -> str:
    """A stratum's ratio ("5%"), or its count and the cap the draw applies ("30 户 ≤5%")."""
    if s.get("bp") is not None:
        return _pct(s["bp"])
    cap = f" ≤{_pct(s['count_cap_bp'])}" if s.get("count_cap_bp") is not None else ""
    return f"{s.get('count')} 户{cap}"


def _num(value: int | None) -> str:
    """An estimate, or "-" for plans resolved before the registry's counts were asked."""
    return "-" if value is None else str(value)


@app.command()
def submit(
    path: Annotated[Path, typer.Argument(help="Plan YAML")],
    dept: Annotated[
        str | None, typer.Option(help="Submitting department (one of the plan's departments)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Submit a plan as a planner of --dept; a refused plan prints every reason and exits 1."""
    import yaml

    if not dept and "SPOTCHECK_TOKEN" not in os.environ:
        fail("give --dept DEPT: the department submitting the plan (one of its departments)")
    try:
        body = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
    except (OSError, yaml.YAMLError) as exc:
        fail(f"{path}: {exc}")
    reply = call(lambda: _api(dept).post("/plans", json=body))
    if as_json:
        print_json(reply)
        return
    flags = f" flags: {', '.join(reply['flags'])}" if reply.get("flags") else ""
    print(
        f"{reply['plan_id']} {reply['status']}: {reply['strata']} strata, "
        f"{reply['excluded']} excluded, rules {reply['rules_version'][:12]}{flags}"
    )


@app.command()
def show(
    plan_id: str,
    dept: Annotated[
        str | None,
        typer.Option(help="Read as a planner of this department (a rejected plan: its own)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The approved plan as the event")] = False,
) -> None:
    """Strata and their explanations as a table (`--json`: the plan.approved event)."""
    plan = call(lambda: _api(dept).get(f"/plans/{plan_id}"))
    if as_json:
        print_json(plan["approved"] if plan["status"] == "approved" else plan)
        return
    if plan["status"] != "approved":
        print(f"{plan_id} rejected:")
        for r in plan.get("reasons") or []:
            print(f"  {r['loc']}: {r['msg']}")
        raise typer.Exit(1)
    ev = plan["approved"]
    print(
        f"{plan_id} {ev['title']} — rules {ev['rules_version'][:12]}, "
        f"flags: {', '.join(plan['flags']) or '-'}, joint strata {ev['joint_strata']}"
    )
    table = Table(show_lines=True)
    for col in ("stratum", "items", "n", "ratio / count", "k", "methods", "why"):
        table.add_column(col)
    for s in ev["strata"]:
        table.add_row(
            s["stratum_id"],
            ",".join(s["item_codes"]),
            _num(s.get("n_estimate")),
            _size(s),
            _num(s.get("k_estimate")),
            ",".join(s["methods"]),
            "\n".join(s["explanation"]),
        )
    for e in ev.get("excluded", []):
        table.add_row(
            e["stratum_id"],
            ",".join(e["item_codes"]),
            "-",
            "-",
            "0",
            "-",
            "\n".join([*e["explanation"], f"不抽取：{e['reason']}"]),
        )
    Console(width=200).print(table)
    if all(s.get("k_estimate") is not None for s in ev["strata"]):
        total = sum(s["k_estimate"] for s in ev["strata"])
        print(f"total k {total} (n and k: the registry's counts at submission)")
