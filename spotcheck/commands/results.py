"""`spotcheck results …` commands."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer

from contracts.common import Role
from spotcheck.client import Api, call, fail, print_json

app = typer.Typer(help="Inspection results: start a visit, submit", no_args_is_help=True)

BATCH = 500


def _read(path: Path) -> list[dict[str, Any]]:
    """A JSON list of results, one JSON object, or JSON Lines."""
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.strip()
    if stripped.startswith("["):
        data = json.loads(stripped)
        return [dict(x) for x in data]
    if stripped.startswith("{") and "\n{" not in stripped:
        return [json.loads(stripped)]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _client(inspector: str | None, dept: str | None) -> Api:
    """The publisher's API as this inspector, as staff of this department, or as the token in
    SPOTCHECK_TOKEN."""
    if not inspector and not dept and "SPOTCHECK_TOKEN" not in os.environ:
        fail("give --inspector ID or --dept DEPT (or SPOTCHECK_TOKEN)")
    if inspector:
        return Api("publisher", role=Role.INSPECTOR, sub=inspector)
    # SPOTCHECK_TOKEN, when set, stands in for the token of whichever role is asked for here.
    return Api("publisher", role=Role.PLANNER, dept=dept, sub=f"cli-{dept}")


@app.command("start")
def start(
    task_id: str = typer.Argument(..., help="the task whose visit begins"),
    inspector: str | None = typer.Option(None, help="as this inspector (on the task's team)"),
    dept: str | None = typer.Option(None, help="as staff of this department"),
) -> None:
    """Mark a task's visit begun (开始检查); no later plan's visit is merged into it any more."""
    api = _client(inspector, dept)
    got = call(lambda: api.post(f"/tasks/{task_id}/start"))
    typer.echo(f"{got['task_id']}: started by {got['started_by']} at {got['started_at']}")


@app.command("submit")
def submit(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON, or JSON Lines"),
    inspector: str | None = typer.Option(None, help="submit as this inspector (on each team)"),
    dept: str | None = typer.Option(None, help="submit as staff of this department"),
    as_json: bool = typer.Option(False, "--json", help="print only JSON"),
) -> None:
    """Submit results in batches; each is accepted whole or refused with every reason."""
    api = _client(inspector, dept)
    try:
        results = _read(file)
    except (OSError, ValueError) as exc:
        fail(f"cannot read {file}: {exc}")
    outcomes: list[dict[str, Any]] = []
    for start in range(0, len(results), BATCH):
        batch = results[start : start + BATCH]
        part = call(lambda: api.post("/results/batch", json=batch))  # noqa: B023 (called at once)
        for o in part:
            o["index"] += start
        outcomes += part
    refused = [o for o in outcomes if o.get("error")]
    if as_json:
        print_json(outcomes)
    else:
        for o in outcomes:
            if o.get("accepted"):
                a = o["accepted"]
                typer.echo(
                    f"#{o['index']} {a['task_id']}: accepted {a['result_id']} "
                    f"v{a['version']}, due {a['due_date']}"
                )
            else:
                e = o["error"]
                reasons = "; ".join(d.get("msg", "") for d in e.get("details", [])) or e["message"]
                typer.echo(f"#{o['index']} {o.get('task_id')}: refused: {reasons}", file=sys.stderr)
        typer.echo(f"{len(outcomes) - len(refused)} accepted, {len(refused)} refused")
    if refused:
        raise typer.Exit(1)
