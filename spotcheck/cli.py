"""The `spotcheck` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from contracts.common import DEPARTMENT_ROLES, Role
from spotcheck.commands import (
    demo,
    draw,
    national,
    plan,
    platforms,
    publisher,
    registry,
    results,
    rules,
    triggered,
    users,
)

app = typer.Typer(
    help="spotcheck — 双随机、一公开: random entities, random inspectors, public results.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(registry.app, name="registry")
app.add_typer(rules.app, name="rules")
app.add_typer(plan.app, name="plan")
app.add_typer(draw.app, name="draw")
app.add_typer(triggered.app, name="triggered")
app.add_typer(publisher.app, name="publisher")
app.add_typer(results.app, name="results")
app.add_typer(platforms.app, name="platforms")
app.add_typer(users.app, name="user")
app.add_typer(national.app, name="national")
app.command("demo")(demo.demo)
audit_app = typer.Typer(help="The audit trail (全过程留痕)", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

SERVICES = ("registry", "planner", "draw", "publisher", "web")


@app.command()
def up(
    nats_url: Annotated[
        str | None,
        typer.Option(help="Use this NATS instead of starting one", envvar="SPOTCHECK_NATS_URL"),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="Use this PostgreSQL instead of starting one", envvar="SPOTCHECK_DATABASE_URL"
        ),
    ] = None,
    var_dir: Annotated[Path, typer.Option(help="Data folder", envvar="SPOTCHECK_VAR_DIR")] = Path(
        "var"
    ),
    detach: Annotated[
        bool, typer.Option(help="Return once every service is ready (stop: spotcheck down)")
    ] = False,
    copies: Annotated[
        int,
        typer.Option(
            help="Copies of each service and of the relay (each on its own port)",
            envvar="SPOTCHECK_COPIES",
            min=1,
            max=9,
        ),
    ] = 1,
) -> None:
    """Start NATS, PostgreSQL, the four services and the web; wait until all are ready."""
    from spotcheck.stack import Stack, StackError

    stack = Stack(var_dir=var_dir, nats_url=nats_url, database_url=database_url, copies=copies)
    try:
        stack.run(detach=detach)
    except StackError as exc:
        typer.echo(f"spotcheck up: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def down(
    var_dir: Annotated[Path, typer.Option(envvar="SPOTCHECK_VAR_DIR")] = Path("var"),
) -> None:
    """Stop a stack started with `spotcheck up --detach` in this folder."""
    from spotcheck.stack import StackError, stop_detached

    try:
        stop_detached(var_dir)
    except StackError as exc:
        typer.echo(f"spotcheck down: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Health of each part of the stack."""
    from spotcheck.stack import collect_status, print_status

    report = collect_status()
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_status(report)
    if not all(part["ok"] for part in report["parts"]):
        raise typer.Exit(1)


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="Role carried by the token")],
    dept: Annotated[str | None, typer.Option(help="Department (planners, inspectors)")] = None,
    sub: Annotated[str, typer.Option(help="Who the token is for")] = "cli",
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds")] = 12 * 3600,
) -> None:
    """Print a bearer token signed with the embedded key (./var/jwt.key)."""
    from services.kit.auth import issue_token, load_or_create_key
    from services.kit.settings import load_settings

    if role in DEPARTMENT_ROLES and not dept:
        typer.echo(
            f"a {role.value}'s token must name a department: give --dept (e.g. --dept SCJG)",
            err=True,
        )
        raise typer.Exit(2)
    settings = load_settings()
    if settings.jwt_jwks_url:
        typer.echo("tokens come from your OIDC provider (SPOTCHECK_JWT_JWKS_URL is set)", err=True)
        raise typer.Exit(1)
    key = load_or_create_key(settings.key_file())
    typer.echo(issue_token(key, role=role, dept=dept, sub=sub, ttl_s=ttl))


@audit_app.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Re-walk every service's audit chain against its copy on the AUDIT stream; name the
    first entry altered, rewritten or missing."""
    from spotcheck.client import Api, ApiError

    reports = []
    failed = False
    for service in SERVICES:
        try:
            reports.append(Api(service, role=Role.AUDITOR).get("/audit/verify"))
        except ApiError as exc:
            reports.append({"service": service, "ok": False, "reason": str(exc)})
    for rep in reports:
        failed |= not rep.get("ok")
    if as_json:
        typer.echo(json.dumps(reports, ensure_ascii=False, indent=2))
    else:
        for rep in reports:
            if rep.get("ok"):
                head = rep.get("head")
                typer.echo(
                    f"{rep['service']:<10} ok       {rep.get('entries', 0)} entries, "
                    f"{rep.get('anchored', 0)} matched on the AUDIT stream"
                    + (f" (head {head})" if head is not None else "")
                )
            elif "broken_at" in rep:
                typer.echo(
                    f"{rep['service']:<10} BROKEN   at entry {rep['broken_at']}: {rep['reason']}"
                )
            else:
                typer.echo(f"{rep['service']:<10} ERROR    {rep.get('reason')}")
    if failed:
        raise typer.Exit(1)


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
