"""`spotcheck publisher …` commands."""

from __future__ import annotations

import json
from datetime import date

import typer

from contracts.common import Role
from services.kit.errors import Invalid
from spotcheck.client import Api, ApiError

app = typer.Typer(help="Deliveries, dead letters, deadlines", no_args_is_help=True)


def _fail(exc: Exception) -> None:
    typer.echo(str(exc), err=True)
    raise typer.Exit(1) from exc


@app.command("due-date")
def due_date_cmd(check_date: str = typer.Argument(..., metavar="YYYY-MM-DD")) -> None:
    """The last day to publish a result checked on CHECK_DATE (prints only the ISO date)."""
    from services.publisher.domain.deadlines import due_date

    try:
        day = date.fromisoformat(check_date)
    except ValueError:
        typer.echo(f"not a date: {check_date!r} (expected YYYY-MM-DD)", err=True)
        raise typer.Exit(1) from None
    try:
        typer.echo(due_date(day).isoformat())
    except Invalid as exc:
        _fail(exc)


@app.command("dead-letters")
def dead_letters(
    limit: int = typer.Option(100, help="at most this many"),
    as_json: bool = typer.Option(False, "--json", help="print only JSON"),
) -> None:
    """Deliveries that failed for good; replay them with `spotcheck publisher replay ID`."""
    try:
        rows = Api("publisher", role=Role.OPERATOR).get(
            "/deliveries", params={"state": "dead", "limit": limit}
        )
    except ApiError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
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
    try:
        d = Api("publisher", role=Role.OPERATOR).post(f"/deliveries/{delivery_id}/replay")
    except ApiError as exc:
        _fail(exc)
        return
    typer.echo(f"{d['id']} {d['idempotency_key']}: {d['state']}")


@app.command("overdue")
def overdue(as_json: bool = typer.Option(False, "--json", help="print only JSON")) -> None:
    """Results not yet public that are at risk (≤ 5 working days left) or overdue."""
    try:
        rows = Api("publisher", role=Role.OPERATOR).get("/deadlines")
    except ApiError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(
            f"{r['state']}\t{r['result_id']} v{r['version']}\t{r['uscc']}\t"
            f"checked {r['check_date']}\tdue {r['due_date']}\t"
            f"{r['working_days_left']} working day(s) left"
        )
    typer.echo(
        f"{sum(r['state'] == 'overdue' for r in rows)} overdue, "
        f"{sum(r['state'] == 'at_risk' for r in rows)} at risk"
    )
