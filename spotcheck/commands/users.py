"""`spotcheck user …`: the people who may sign in to the web service (administrators only)."""

from __future__ import annotations

from typing import Annotated

import typer

from contracts.common import Role
from spotcheck.client import Api, call, print_json

app = typer.Typer(help="Accounts of the web service (掌上查, console)", no_args_is_help=True)


def _api() -> Api:
    return Api("web", role=Role.OPERATOR)


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Sign-in name (letters, digits, . _ -)")],
    name: Annotated[str, typer.Option("--name", help="The person's name, as shown")],
    role: Annotated[Role, typer.Option(help="What they do")],
    dept: Annotated[str | None, typer.Option(help="Department (planners, inspectors)")] = None,
    inspector: Annotated[
        str | None, typer.Option(help="Roster id (inspectors: their account is tied to it)")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(help="First password; default: a random one, changed at first sign-in"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Add an account."""
    body = {
        "username": username,
        "display_name": name,
        "role": role.value,
        "department": dept,
        "inspector_id": inspector,
        "password": password,
    }
    added = call(lambda: _api().post("/admin/users", json=body))
    if as_json:
        print_json(added)
    elif added.get("initial_password"):
        typer.echo(
            f"added {username}; first password (shown once, to be changed at first sign-in): "
            f"{added['initial_password']}"
        )
    else:
        typer.echo(f"added {username}")


@app.command("list")
def list_(
    role: Annotated[Role | None, typer.Option(help="Only this role")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List accounts."""
    rows = call(lambda: _api().get("/admin/users", params={"role": role.value} if role else {}))
    if as_json:
        print_json(rows)
        return
    for a in rows:
        state = "disabled" if a["disabled"] else ("locked" if a["locked_until"] else "active")
        typer.echo(
            f"{a['username']:<20} {a['role']:<13} {a['department'] or '-':<6} "
            f"{a['inspector_id'] or '-':<12} {state:<9} {a['display_name']}"
        )


@app.command("disable")
def disable(
    username: str,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail)")],
) -> None:
    """Disable an account and end its sessions."""
    call(lambda: _api().post(f"/admin/users/{username}/disable", json={"reason": reason}))
    typer.echo(f"disabled {username}")


@app.command("enable")
def enable(username: str) -> None:
    """Enable a disabled account again."""
    call(lambda: _api().post(f"/admin/users/{username}/enable"))
    typer.echo(f"enabled {username}")


@app.command("reset-password")
def reset_password(username: str) -> None:
    """Give an account a new random password (to be changed at next sign-in); ends its
    sessions and lifts a lockout."""
    reply = call(lambda: _api().post(f"/admin/users/{username}/reset-password"))
    typer.echo(f"new password for {username} (shown once): {reply['password']}")
