"""`spotcheck triggered …` commands: triggered inspections (触发检查) of one entity.

One draw officer opens a task with its trigger, evidence, items and the second officer who
approves it; that officer approves and the team is drawn. Anyone re-derives the team
(`spotcheck triggered verify`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from contracts.common import Role
from contracts.triggered import TRIGGER_LABELS, Trigger
from services.draw.domain.triggered import nonce_commitment, rederive_team
from spotcheck.client import Api, call, print_json

app = typer.Typer(
    help="Triggered inspections (触发检查): open, approve, show, verify", no_args_is_help=True
)

_OFFICER = typer.Option(
    help="Your name as draw officer (signs with the embedded key; with SPOTCHECK_TOKEN set, "
    "the token names you)"
)


def _api(role: Role | None = Role.DRAW_OFFICER, *, sub: str | None = None) -> Api:
    return Api("draw", role=role, sub=sub)


def _line(t: dict[str, Any]) -> str:
    team = ",".join(m["inspector_id"] for m in t["team"])
    if t["state"] == "unstaffed":
        team = f"UNSTAFFED {t['unstaffed_reason']}"
    return (
        f"{t['task_id']}\t{t['state']}\t{t['trigger_label']}\t{t['uscc']}\t{t['entity_name']}"
        f"\t{team}"
    )


@app.command(name="open")
def open_task(
    uscc: str,
    trigger: Annotated[
        Trigger,
        typer.Option(
            help="; ".join(f"{code} {label}" for code, label in TRIGGER_LABELS.items()),
            case_sensitive=False,
        ),
    ],
    evidence: Annotated[
        str, typer.Option(help="The evidence reference: complaint no., alert id, document no.")
    ],
    item: Annotated[
        list[str], typer.Option("--item", help="An item code of the active catalogue (repeat)")
    ],
    department: Annotated[str, typer.Option(help="The lead department (one of the items')")],
    start: Annotated[str, typer.Option(help="First day of the period, YYYY-MM-DD")],
    end: Annotated[str, typer.Option(help="Last day of the period, YYYY-MM-DD")],
    approver: Annotated[str, typer.Option(help="The second draw officer who approves it")],
    officer: Annotated[str | None, _OFFICER] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Open a triggered check of one entity; prints its id and the seed's commitment."""
    body = {
        "uscc": uscc,
        "trigger": trigger.value,
        "evidence_ref": evidence,
        "items": item,
        "department": department,
        "period_start": date.fromisoformat(start).isoformat(),
        "period_end": date.fromisoformat(end).isoformat(),
        "approver": approver,
    }
    reply = call(lambda: _api(sub=officer).post("/triggered", json=body))
    if as_json:
        print_json(reply)
        return
    print(reply["task_id"])
    print(
        f"awaiting approval by {reply['approver']}: "
        f"`spotcheck triggered approve {reply['task_id']}`; "
        f"seed commitment {reply['nonce_sha256']}",
        flush=True,
    )


@app.command()
def approve(
    task_id: str,
    officer: Annotated[str | None, _OFFICER] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Approve as the named approving officer: the team is drawn with the committed seed."""
    reply = call(lambda: _api(sub=officer).post(f"/triggered/{task_id}/approve"))
    if as_json:
        print_json(reply)
    else:
        print(_line(reply))


@app.command(name="list")
def list_tasks(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Triggered tasks, newest first (public)."""
    rows = call(lambda: _api(None).get("/triggered"))
    if as_json:
        print_json(rows)
        return
    for r in rows:
        print(_line(r))


@app.command()
def show(task_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One triggered task (public: without its evidence reference)."""
    reply = call(lambda: _api(None).get(f"/triggered/{task_id}"))
    if as_json:
        print_json(reply)
    else:
        print(_line(reply))


@app.command()
def verify(task_id: str) -> None:
    """Re-derive the team from the published seed and eligible inspectors: OK or DIFFERENCE."""
    t = call(lambda: _api(None).get(f"/triggered/{task_id}"))
    if t["seed"] is None:
        print(f"{task_id}: not approved yet; seed commitment {t['nonce_sha256']}")
        raise typer.Exit(1)
    if nonce_commitment(t["seed"]) != t["nonce_sha256"]:
        print("DIFFERENCE: the seed does not hash to the commitment published at opening")
        raise typer.Exit(1)
    eligible = [(e["inspector_id"], e["department"]) for e in t["eligible"]]
    team = rederive_team(t["seed"], task_id, t["departments"], eligible)
    got = tuple(m["inspector_id"] for m in t["team"])
    if team != got:
        print(f"DIFFERENCE: team {','.join(got)} but the seed gives {','.join(team)}")
        raise typer.Exit(1)
    print(f"OK {task_id}")
