"""`spotcheck national …`: the national stream (全国汇聚) that provinces' result events flow into.

Run by the national operator against the national NATS (deploy/nats/national.conf), never
against a province's: `accounts` writes the national server's accounts for the provinces that
join, `sources` creates or updates NATIONAL_RESULTS to source exactly those provinces, `status`
shows how far behind each province is. spotcheck/national.py says what flows and why.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from spotcheck import national
from spotcheck.client import fail, print_json

app = typer.Typer(
    help="The national stream: provinces' result events, each stored once (全国汇聚)",
    no_args_is_help=True,
)

T = TypeVar("T")

Provinces = Annotated[
    list[str],
    typer.Option(
        "--province",
        help="A province's code = its JetStream domain and leaf user (repeat: --province gd "
        "--province zj)",
    ),
]
Url = Annotated[
    str,
    typer.Option(
        help="The national NATS (no password in it)", envvar="SPOTCHECK_NATIONAL_NATS_URL"
    ),
]
User = Annotated[str, typer.Option(help="Its admin user", envvar="SPOTCHECK_NATIONAL_USER")]
PasswordFile = Annotated[
    Path,
    typer.Option(
        help="A file holding the admin's password", envvar="SPOTCHECK_NATIONAL_PASSWORD_FILE"
    ),
]


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(work())
    except national.NationalError as exc:
        fail(f"spotcheck national: {exc}")


def _password(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        fail(f"spotcheck national: cannot read the password file {path}: {exc.strerror}")


@app.command("accounts")
def accounts(
    province: Provinces,
    output: Annotated[
        Path | None, typer.Option(help="Write here (default: print)", dir_okay=False)
    ] = None,
) -> None:
    """The national server's accounts file (national-accounts.conf beside national.conf): an
    admin, a reader and one leaf user per province, each limited to what it must do."""
    try:
        text = national.accounts_conf(province)
    except national.NationalError as exc:
        fail(f"spotcheck national accounts: {exc}")
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output} for {', '.join(province)}; restart or reload the national NATS")


@app.command("sources")
def sources(
    province: Provinces,
    nats_url: Url = "nats://127.0.0.1:4222",
    user: User = "admin",
    password_file: PasswordFile = Path("national-admin.password"),
    replicas: Annotated[
        int | None,
        typer.Option(min=1, max=5, help="Replicas (3 on a cluster); default: keep (1 at first)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create NATIONAL_RESULTS, or bring its sources to exactly these provinces (idempotent).

    Every province is asked first; if one does not answer, nothing is changed."""
    password = _password(password_file)

    async def work() -> national.Applied:
        nc = await national.connect(nats_url, user=user, password=password)
        try:
            return await national.ensure_stream(nc, province, replicas=replicas)
        finally:
            await nc.close()

    applied = _run(work)
    if as_json:
        print_json(applied.__dict__)
        return
    line = f"{national.NATIONAL_STREAM} {applied.action}: {', '.join(applied.provinces)}"
    if applied.action == "updated":
        line += (
            f" (added: {', '.join(applied.added) or '-'}; "
            f"removed: {', '.join(applied.removed) or '-'})"
        )
    typer.echo(line)


@app.command("status")
def status(
    nats_url: Url = "nats://127.0.0.1:4222",
    user: User = "admin",
    password_file: PasswordFile = Path("national-admin.password"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Messages in the national stream and, per province, how many are not yet stored here
    (lag) and when the province was last heard from."""
    password = _password(password_file)

    async def work() -> tuple[int, list[national.SourceState]]:
        nc = await national.connect(nats_url, user=user, password=password)
        try:
            return await national.status(nc)
        finally:
            await nc.close()

    messages, states = _run(work)
    if as_json:
        typer.echo(
            json.dumps({"messages": messages, "sources": [s.__dict__ for s in states]}, indent=2)
        )
        return
    typer.echo(f"{national.NATIONAL_STREAM}: {messages} result events")
    for s in states:
        heard = "never" if s.active_s is None else f"{s.active_s:.1f} s ago"
        typer.echo(
            f"  {s.province:<8} lag {s.lag:<6} last heard {heard}"
            + (f"  ERROR {s.error}" if s.error else "")
        )
