"""`spotcheck results …` commands."""

from __future__ import annotations

import json
import mimetypes
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import typer

from contracts.common import Role
from spotcheck.client import Api, call, fail, print_json

app = typer.Typer(
    help="Inspection results: your tasks, start a visit, submit, confirm a team member's result",
    no_args_is_help=True,
)

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
        return _inspector_api(inspector)
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


@app.command("cancel")
def cancel(
    task_id: str = typer.Argument(..., help="the task called off"),
    reason: str = typer.Option(
        ...,
        help="deregistered (注销), revoked (吊销、撤销), closed (停业、清算), "
        "moved_out (迁出) or other (with --note)",
    ),
    note: str = typer.Option("", help="what the reason is (required with --reason other)"),
    dept: str = typer.Option(..., help="as staff of this department (one of the task's)"),
) -> None:
    """Call a task off before its visit (取消任务): no visit, no result, not overdue."""
    api = _client(None, dept)
    got = call(lambda: api.post(f"/tasks/{task_id}/cancel", json={"reason": reason, "note": note}))
    typer.echo(f"{got['task_id']}: cancelled ({got['reason']}) by {got['cancelled_by']}")


@app.command("commission")
def commission(
    task_id: str = typer.Argument(..., help="the task one of whose items is commissioned"),
    item: str = typer.Option(..., help="the item's code"),
    body: str = typer.Option(..., help="the outside body's name (受托机构)"),
    qualification: str = typer.Option(..., help="its qualification number (CMA 资质认定证书编号)"),
    subject: str = typer.Option(..., help="the sample or the engagement (样品名称、批号…)"),
    on: str | None = typer.Option(None, help="commissioned on (YYYY-MM-DD; today by default)"),
    kind: str = typer.Option("test", help="test (委托检验检测) or audit (财务审计)"),
    inspector: str | None = typer.Option(None, help="as this inspector (on the task's team)"),
    dept: str | None = typer.Option(None, help="as staff of this department"),
) -> None:
    """Hand one item of a task to a qualified outside body (委托检验检测、财务审计); the item's
    result waits for its report. Prints the commission's id."""
    api = _client(inspector, dept)
    opening = {
        "item_code": item,
        "kind": kind,
        "body_name": body,
        "qualification_no": qualification,
        "subject": subject,
        "commissioned_on": on or date.today().isoformat(),
    }
    got = call(lambda: api.post(f"/tasks/{task_id}/commissions", json=opening))
    typer.echo(got["commission_id"])


@app.command("report")
def report(
    commission_id: str = typer.Argument(..., help="the commission (spotcheck results commission)"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="the body's report"),
    conclusion: str = typer.Option(..., help="conforming (合格) or nonconforming (不合格)"),
    on: str | None = typer.Option(None, help="the report's date (YYYY-MM-DD; today by default)"),
    note: str = typer.Option("", help="what the report found, in a line"),
    inspector: str | None = typer.Option(None, help="as this inspector (on the task's team)"),
    dept: str | None = typer.Option(None, help="as staff of this department"),
) -> None:
    """Record a commissioned body's report and its conclusion: the item's result may then be
    recorded, in a category the conclusion allows (printed)."""
    api = _client(inspector, dept)
    content = file.read_bytes()
    stored = call(lambda: api.post("/attachments", content=content))
    attachment = {
        "name": file.name,
        "sha256": stored["sha256"],
        "size": stored["size"],
        "content_type": mimetypes.guess_type(file.name)[0] or "application/octet-stream",
        "kind": "report",
    }
    body = {
        "report": attachment,
        "conclusion": conclusion,
        "reported_on": on or date.today().isoformat(),
        "note": note,
    }
    got = call(lambda: api.post(f"/commissions/{commission_id}/report", json=body))
    allowed = "、".join(got["allowed_categories"])
    typer.echo(f"{commission_id}: {got['conclusion']}; the item's result may be: {allowed}")


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
    drafts = [o for o in outcomes if o.get("draft")]
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
            elif o.get("draft"):
                d = o["draft"]
                typer.echo(
                    f"#{o['index']} {d['task_id']}: draft {d['draft_id']} awaits confirmation "
                    f"by {', '.join(d['awaiting'])} (spotcheck results confirm {d['task_id']})"
                )
            else:
                e = o["error"]
                reasons = "; ".join(d.get("msg", "") for d in e.get("details", [])) or e["message"]
                typer.echo(f"#{o['index']} {o.get('task_id')}: refused: {reasons}", file=sys.stderr)
        accepted = len(outcomes) - len(refused) - len(drafts)
        typer.echo(
            f"{accepted} accepted, {len(drafts)} awaiting confirmation, {len(refused)} refused"
        )
    if refused:
        raise typer.Exit(1)


def _inspector_api(inspector: str) -> Api:
    """The publisher's API as this inspector: the token names the department the roster gives
    them, as their sign-in would (an inspector's token without one is refused)."""
    if "SPOTCHECK_TOKEN" in os.environ:
        return Api("publisher", role=Role.INSPECTOR, sub=inspector)
    person = call(lambda: Api("registry", role=Role.AUDITOR).get(f"/inspectors/{inspector}"))
    return Api("publisher", role=Role.INSPECTOR, dept=person["department"], sub=inspector)


@app.command("tasks")
def tasks(
    inspector: str = typer.Option(..., help="your inspector id"),
    status: str | None = typer.Option(None, help="assigned, in_progress, awaiting_confirmation…"),
    q: str | None = typer.Option(None, help="part of the entity's name or the start of its USCC"),
    limit: int = typer.Option(100, help="at most this many (1..500)"),
    as_json: bool = typer.Option(False, "--json", help="print only JSON"),
) -> None:
    """Your tasks (掌上查): overdue first, then by due date."""
    params: dict[str, Any] = {"limit": limit}
    if status:
        params["status"] = status
    if q:
        params["q"] = q
    api = _inspector_api(inspector)
    cards = call(lambda: api.get("/tasks", params=params))
    if as_json:
        print_json(cards)
        return
    for c in cards:
        late = " OVERDUE" if c["overdue"] else ""
        typer.echo(
            f"{c['task_id']}  due {c['period_end']}  batch {c['batch']}  {c['status']}{late}  "
            f"{c['entity_name']} ({c['uscc']})"
        )
    typer.echo(f"{len(cards)} tasks")


@app.command("confirm")
def confirm(
    task_id: str = typer.Argument(..., help="the task whose draft result you confirm"),
    inspector: str = typer.Option(..., help="your inspector id (on the task's team)"),
    sha256: str | None = typer.Option(
        None, help="the content_sha256 you read (default: the draft's as shown now)"
    ),
) -> None:
    """Confirm a team member's draft result with your own sign-in (each member confirms)."""
    api = _inspector_api(inspector)
    task = call(lambda: api.get(f"/tasks/{task_id}"))
    draft = task.get("pending_draft")
    if not draft:
        fail(f"task {task_id} has no draft result awaiting confirmation")
    sub = draft["submission"] or {}
    for item in sub.get("items", []):
        problems = f" — {item['problems']}" if item.get("problems") else ""
        typer.echo(f"  {item['item_code']}: {item['category']}{problems}")
    body = {"draft_id": draft["draft_id"], "content_sha256": sha256 or draft["content_sha256"]}
    got = call(lambda: api.post(f"/tasks/{task_id}/draft/confirm", json=body))
    if got.get("result_id"):
        typer.echo(
            f"{task_id}: confirmed; accepted {got['result_id']} v{got['version']}, "
            f"due {got['due_date']}"
        )
    else:
        typer.echo(f"{task_id}: confirmed; still awaiting {', '.join(got['awaiting'])}")


@app.command("return")
def give_back(
    task_id: str = typer.Argument(..., help="the task whose draft result you send back"),
    inspector: str = typer.Option(..., help="your inspector id (on the task's team)"),
    reason: str = typer.Option(..., help="why (the submitter reads it)"),
) -> None:
    """Send a team member's draft result back, saying why; it can then be submitted again."""
    api = _inspector_api(inspector)
    task = call(lambda: api.get(f"/tasks/{task_id}"))
    draft = task.get("pending_draft")
    if not draft:
        fail(f"task {task_id} has no draft result awaiting confirmation")
    body = {"draft_id": draft["draft_id"], "reason": reason}
    call(lambda: api.post(f"/tasks/{task_id}/draft/return", json=body))
    typer.echo(f"{task_id}: draft {draft['draft_id']} returned")
