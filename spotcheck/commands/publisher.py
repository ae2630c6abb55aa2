"""`spotcheck publisher …` commands."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from urllib.parse import quote

import typer

from contracts.common import Role
from services.kit.settings import load_settings
from spotcheck.client import Api, call, fail, print_json

app = typer.Typer(
    help="Deliveries, dead letters, deadlines, follow-up (referrals, re-checks)",
    no_args_is_help=True,
)


@app.command("due-date")
def due_date_cmd(
    check_date: str = typer.Argument(..., metavar="YYYY-MM-DD"),
    rules: Path | None = typer.Option(
        None, "--rules", help="Rule directory whose holidays/ to count with (default: rules_dir)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print only JSON"),
) -> None:
    """The last day to publish a result checked on CHECK_DATE (prints only the ISO date).

    Working days come from the rule directory's holiday files over the package's data, as in
    the publisher. A date that counts days of a year with no published holidays is still
    answered, provisionally (weekends and statutory holidays only): a note on stderr says so.
    """
    from services.planner.library import holiday_schedules, read_rule_dir
    from services.publisher.library import Workdays, publication_due

    try:
        day = date.fromisoformat(check_date)
    except ValueError:
        typer.echo(f"not a date: {check_date!r} (expected YYYY-MM-DD)", err=True)
        raise typer.Exit(1) from None
    directory = rules or load_settings().rules_dir
    try:
        files = read_rule_dir(directory)
    except (OSError, ValueError) as exc:
        typer.echo(f"{exc}: counting with the package's holiday data only", err=True)
        files = {}
    schedules, errors = holiday_schedules(files)
    if errors:
        for err in errors:
            typer.echo(str(err), err=True)
            if err.reason_zh:
                typer.echo(f"    {err.reason_zh}", err=True)
        fail(f"{len(errors)} error(s) in the holiday files of {directory}")
    workdays = Workdays.build(schedules)
    due = publication_due(day, workdays=workdays)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "check_date": day.isoformat(),
                    "due_date": due.day.isoformat(),
                    "provisional": due.provisional,
                }
            )
        )
        return
    typer.echo(due.day.isoformat())
    if due.provisional:
        years = sorted(
            {y for y in range(day.year, due.day.year + 1) if y not in workdays.published_years}
        )
        typer.echo(
            f"provisional: no holiday schedule of {', '.join(map(str, years))} yet (neither in "
            f"{directory}/holidays/ nor in the package's data); counted with weekends and the "
            "statutory holidays only",
            err=True,
        )


@app.command("dead-letters")
def dead_letters(
    limit: int = typer.Option(100, help="at most this many"),
    as_json: bool = typer.Option(False, "--json", help="print only JSON"),
) -> None:
    """Deliveries that failed for good; replay them with `spotcheck publisher replay ID`."""
    api = Api("publisher", role=Role.OPERATOR)
    rows = call(lambda: api.get("/deliveries", params={"state": "dead", "limit": limit}))
    if as_json:
        print_json(rows)
        return
    for d in rows:
        typer.echo(
            f"{d['id']}\t{d['idempotency_key']}\t{d['attempts']} attempts\t"
            f"{d.get('last_error') or ''}"
        )
    typer.echo(f"{len(rows)} dead letter(s)")


@app.command("replay")
def replay(delivery_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Queue a dead letter again, under the same idempotency key."""
    api = Api("publisher", role=Role.OPERATOR)
    d = call(lambda: api.post(f"/deliveries/{delivery_id}/replay"))
    typer.echo(f"{d['id']} {d['idempotency_key']}: {d['state']}")


@app.command("receipts")
def receipts(
    refused: bool = typer.Option(False, "--refused", help="only those the planner refused"),
    limit: int = typer.Option(100, help="at most this many"),
    as_json: bool = typer.Option(False, "--json", help="print only JSON"),
) -> None:
    """The 监督平台's receipts of plans as read (newest first): applied, or refused with why."""
    api = Api("publisher", role=Role.OPERATOR)
    params: dict[str, str | int] = {"limit": limit}
    if refused:
        params["state"] = "refused"
    rows = call(lambda: api.get("/platforms/receipts", params=params))
    if as_json:
        print_json(rows)
        return
    for r in rows:
        why = f"\t{r['reason']}" if r.get("reason") else ""
        typer.echo(
            f"{r['platform']}/{r['ack_id']}\t{r['plan_id']}\t{r['kind']} {r['acknowledged_on']}"
            f"\t{r['state']}\t{r['source']}:{r['line']}{why}"
        )
    typer.echo(f"{len(rows)} receipt(s)")


@app.command("overdue")
def overdue(as_json: bool = typer.Option(False, "--json", help="print only JSON")) -> None:
    """Results not yet public that are at risk (≤ 5 working days left) or overdue."""
    api = Api("publisher", role=Role.OPERATOR)
    rows = call(lambda: api.get("/deadlines"))
    if as_json:
        print_json(rows)
        return
    for r in rows:
        typer.echo(
            f"{r['state']}\t{r['result_id']} v{r['version']}\t{r['uscc']}\t"
            f"checked {r['check_date']}\tdue {r['due_date']}"
            f"{' (provisional)' if r.get('provisional') else ''}\t"
            f"{r['working_days_left']} working day(s) left"
        )
    provisional = sum(bool(r.get("provisional")) for r in rows)
    typer.echo(
        f"{sum(r['state'] == 'overdue' for r in rows)} overdue, "
        f"{sum(r['state'] == 'at_risk' for r in rows)} at risk"
        + (
            f"; {provisional} provisional due date(s): their year's holidays are not published"
            " yet (weekends and statutory holidays only)"
            if provisional
            else ""
        )
    )


# ---- follow-up after a finding (后续处置) -----------------------------------------------------


@app.command("rectifications")
def rectifications(
    overdue: bool = typer.Option(False, "--overdue", help="only deadlines passed, no re-check"),
    dept: str | None = typer.Option(None, "--dept", help="as this department's staff"),
    limit: int = typer.Option(100, help="at most this many"),
    as_json: bool = typer.Option(False, "--json", help="print only JSON"),
) -> None:
    """Orders to correct (责令整改) by deadline, with their re-checks (复查)."""
    api = (
        Api("publisher", role=Role.PLANNER, dept=dept, sub=f"cli-{dept}")
        if dept
        else Api("publisher", role=Role.OPERATOR)
    )
    params: dict[str, object] = {"limit": limit, "overdue": "true" if overdue else "false"}
    rows = call(lambda: api.get("/rectifications", params=params))
    if as_json:
        print_json(rows)
        return
    for r in rows:
        check = r.get("check")
        state = (
            "overdue"
            if r["overdue"]
            else "open"
            if check is None
            else ("rectified" if check["rectified"] else "not rectified")
        )
        typer.echo(
            f"{state}\t{r['result_id']} v{r['version']}\t{r['uscc']}\t"
            f"rectify by {r['rectify_by']}\t{r['rectification']}"
        )
    typer.echo(f"{sum(r['overdue'] for r in rows)} overdue of {len(rows)} order(s)")


@app.command("recheck")
def recheck(
    result_id: str = typer.Argument(..., metavar="RESULT_ID"),
    checked_on: str = typer.Option(..., "--checked-on", metavar="YYYY-MM-DD"),
    rectified: bool = typer.Option(..., "--rectified/--not-rectified"),
    note: str = typer.Option("", "--note", help="what the re-check saw"),
    recheck_task: str | None = typer.Option(None, "--recheck-task", help="the 复查 task's id"),
    dept: str = typer.Option(..., "--dept", help="as this department's staff"),
) -> None:
    """Record the re-check of a result's order to correct (责令整改 复查)."""
    api = Api("publisher", role=Role.PLANNER, dept=dept, sub=f"cli-{dept}")
    body = {
        "checked_on": checked_on,
        "rectified": rectified,
        "note": note,
        "recheck_task_id": recheck_task,
    }
    r = call(lambda: api.post(f"/results/{quote(result_id, safe='')}/rectification", json=body))
    typer.echo(
        f"{r['result_id']} v{r['version']}: "
        f"{'rectified' if r['rectified'] else 'not rectified'} on {r['checked_on']}"
    )


@app.command("referral-ack")
def referral_ack(
    referral_id: str = typer.Argument(..., metavar="REFERRAL_ID"),
    receiver: str = typer.Option(..., "--receiver", help="the receiving body"),
    case_number: str = typer.Option(..., "--case-number"),
    received_at: str = typer.Option(..., "--received-at", metavar="ISO-DATETIME"),
) -> None:
    """As the receiving body of a referral (移送): the case was taken (已受理)."""
    api = Api("publisher", role=Role.AGENCY, sub="cli-agency")
    body = {"receiver": receiver, "case_number": case_number, "received_at": received_at}
    path = f"/referrals/{quote(referral_id, safe='')}/acknowledgement"
    r = call(lambda: api.post(path, json=body))
    typer.echo(f"{r['referral_id']}: {r['status']} (case {r['case_number']})")


@app.command("referral-outcome")
def referral_outcome(
    referral_id: str = typer.Argument(..., metavar="REFERRAL_ID"),
    outcome: str = typer.Option(..., "--outcome"),
    decided_at: str = typer.Option(..., "--decided-at", metavar="YYYY-MM-DD"),
    penalty: str | None = typer.Option(None, "--penalty"),
) -> None:
    """As the receiving body of a referral: how its case ended (办结)."""
    api = Api("publisher", role=Role.AGENCY, sub="cli-agency")
    body = {"outcome": outcome, "decided_at": decided_at, "penalty": penalty}
    path = f"/referrals/{quote(referral_id, safe='')}/outcome"
    r = call(lambda: api.post(path, json=body))
    typer.echo(f"{r['referral_id']}: {r['status']} ({r['outcome']})")
