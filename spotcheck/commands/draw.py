"""`spotcheck draw …` commands: the public ceremony and its verification."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any

import typer

from contracts.common import Role
from spotcheck.client import Api, call, fail, print_json

app = typer.Typer(help="The public draw: start, seed, verify, show", no_args_is_help=True)


def _api(role: Role | None = Role.DRAW_OFFICER, *, sub: str | None = None) -> Api:
    """The draw's API (a draw selects and staffs within one request: a long timeout)."""
    return Api("draw", role=role, timeout=900.0, sub=sub)


@app.command()
def start(
    plan_id: str,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the draw's status as JSON")
    ] = False,
) -> None:
    """Freeze the approved plan's candidates and publish the commitment; prints the draw id."""
    reply = call(lambda: _api().post("/draws", json={"plan_id": plan_id}))
    if as_json:
        print_json(reply)
    else:
        print(reply["draw_id"])


@app.command()
def seed(
    draw_id: str,
    seed: Annotated[str | None, typer.Option("--seed", help="Dice digits or beacon value")] = None,
    source: Annotated[
        str, typer.Option(help="dice | beacon | parties | demo (where allowed)")
    ] = "dice",
    party: Annotated[str | None, typer.Option(help="parties: this party's id")] = None,
    secret: Annotated[str | None, typer.Option(help="parties: this party's secret")] = None,
    reveal: Annotated[
        bool, typer.Option(help="parties: reveal the secret (else register its SHA-256)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Give the seed (once, after the commitment); the draw then selects and staffs.

    With `--source parties`, each party first runs `--party ID --secret S` (registers only
    SHA-256(S)), and after all have registered, `--party ID --secret S --reveal`.
    """
    if source == "parties":
        if not party or not secret:
            fail("--source parties needs --party and --secret")
        if reveal:
            path = f"/draws/{draw_id}/parties/{party}/reveal"
            reply = call(lambda: _api().post(path, json={"secret": secret}))
        else:
            digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()
            body = {"party_id": party, "commitment_sha256": digest}
            reply = call(lambda: _api().post(f"/draws/{draw_id}/parties", json=body))
    else:
        if seed is None:
            fail("--seed is required for dice and beacon seeds")
        body = {"seed": seed, "source": source}
        reply = call(lambda: _api().post(f"/draws/{draw_id}/seed", json=body))
    if as_json:
        print_json(reply)
    else:
        print(
            f"{reply['draw_id']} {reply['state']}: {reply['tasks']} tasks, "
            f"{reply['unstaffed']} unstaffed"
        )


@app.command()
def redraw(
    draw_id: str,
    reason: Annotated[
        str | None, typer.Option(help="Ask for a redraw: the written reason (kept public)")
    ] = None,
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Confirm the redraw another officer asked for")
    ] = False,
    cancel: Annotated[bool, typer.Option("--cancel", help="Withdraw a pending redraw")] = False,
    officer: Annotated[
        str | None,
        typer.Option(
            help="Your name as draw officer (signs with the embedded key; with SPOTCHECK_TOKEN "
            "set, the token names you)"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A redraw takes two draw officers: one asks with `--reason`, another runs `--confirm`.

    Asking prints who asked and why; confirming supersedes the draw (kept, public) and prints
    the new draw's id. Refused once a task of the draw is started or has its result.
    """
    if sum((reason is not None, confirm, cancel)) != 1:
        fail("give exactly one of --reason TEXT, --confirm, --cancel")
    api = _api(sub=officer)
    if confirm:
        reply = call(lambda: api.post(f"/draws/{draw_id}/redraw/confirm"))
    elif cancel:
        reply = call(lambda: api.post(f"/draws/{draw_id}/redraw/cancel"))
    else:
        reply = call(lambda: api.post(f"/draws/{draw_id}/redraw", json={"reason": reason}))
    if as_json:
        print_json(reply)
    elif confirm:
        print(reply["draw_id"])
    elif cancel:
        print(f"{draw_id}: redraw withdrawn")
    else:
        pending = reply["redraw_pending"]
        print(
            f"{draw_id}: redraw asked for by {pending['requested_by']} "
            f"({pending['reason']}); a second draw officer confirms with "
            f"`spotcheck draw redraw {draw_id} --confirm`"
        )


@app.command()
def verify(draw_id: str) -> None:
    """Re-derive the draw through the service: prints OK or the first difference (exit 1)."""
    reply = call(lambda: _api(None).get(f"/draws/{draw_id}/verify"))
    if reply["ok"]:
        print(f"OK {draw_id}")
    else:
        print(f"DIFFERENCE: {reply['difference']}")
        raise typer.Exit(1)


@app.command(name="list")
def list_draws(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every draw: `[{"draw_id", "plan_id", "state"}, …]` with --json."""
    rows = call(lambda: _api(None).get("/draws"))
    if as_json:
        print_json(rows)
        return
    for r in rows:
        print(f"{r['draw_id']}\t{r['plan_id']}\t{r['state']}")


@app.command()
def show(draw_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The public record (DESIGN §6 format; --json prints it and nothing else)."""
    record = call(lambda: _api(None).get(f"/draws/{draw_id}/record"))
    if as_json:
        print_json(record)
        return
    print(
        f"{record['draw_id']} plan {record['plan_id']} seed {record['seed']} "
        f"({record['seed_source']}) commitment {record['commitment_sha256']}"
    )
    for s in record["strata"]:
        print(
            f"  {s['stratum_id']}\tn={s['n']}\tk={s['k']}\t{' '.join(s['selected'][:5])}"
            + (" …" if len(s["selected"]) > 5 else "")
        )


@app.command()
def candidates(
    draw_id: str,
    out: Annotated[Path, typer.Option("--out", help="Folder for <stratum_id>.txt files")],
) -> None:
    """Write each stratum's frozen list as `<stratum_id>.txt` (one USCC per line)."""
    api = _api(None)
    rows = call(lambda: api.get(f"/draws/{draw_id}/candidates"))
    out.mkdir(parents=True, exist_ok=True)
    for r in rows:
        resp = api.http.get(r["url"])
        if resp.status_code != 200:
            fail(f"{r['stratum_id']}: HTTP {resp.status_code}")
        body = resp.content
        if hashlib.sha256(body).hexdigest() != r["candidates_sha256"]:
            fail(f"{r['stratum_id']}: list does not match its committed hash")
        (out / f"{r['stratum_id']}.txt").write_bytes(body)
    print(f"{len(rows)} lists written to {out}")


@app.command()
def tasks(
    draw_id: str,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A draw's tasks with their teams, state and progress."""
    api = _api(None)
    rows: list[dict[str, Any]] = []
    while True:
        page = call(lambda: api.get(f"/draws/{draw_id}/tasks", params={"offset": len(rows)}))
        if not page:
            break
        rows.extend(page)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        t = r["task"]
        team = (
            ",".join(m["inspector_id"] for m in t["team"]) or f"UNSTAFFED {t['unstaffed_reason']}"
        )
        print(f"{t['task_id']}\tbatch {t['batch']}\t{r['state']}\t{r['progress']}\t{team}")


@app.command()
def ticket(
    draw_id: str, uscc: str, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """A company's ticket in each stratum it was in, and the stratum's cut-off."""
    reply = call(lambda: _api(None).get(f"/draws/{draw_id}/tickets/{uscc}"))
    if as_json:
        print_json(reply)
        return
    for s in reply["strata"]:
        mark = "SELECTED" if s["selected"] else "-"
        print(f"{s['stratum_id']}\t{s['ticket']}\tcut-off {s['cutoff_ticket']}\t{mark}")


_OFFICER_HELP = (
    "Your name as draw officer (signs with the embedded key; with SPOTCHECK_TOKEN set, the "
    "token names you)"
)


@app.command()
def restaff(
    task_id: str,
    inspector: Annotated[str, typer.Option("--inspector", help="The member to replace")],
    reason: Annotated[str, typer.Option(help="Why (kept in the public record), e.g. 病假")],
    officer: Annotated[str | None, typer.Option(help=_OFFICER_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Replace one member of an open task by the draw's seeded rules (换人); nothing else moves.

    Prints who left and who came, and the seed input that re-derives the pick
    (docs/draw-spec.md §7a). Refused when the task is not open, the inspector is not on its
    team, or no other inspector is eligible (the constraint is named).
    """
    body = {"inspector_id": inspector, "reason": reason}
    reply = call(lambda: _api(sub=officer).post(f"/tasks/{task_id}/restaff", json=body))
    if as_json:
        print_json(reply)
        return
    print(
        f"{task_id}: {reply['replaced']['inspector_id']} -> "
        f"{reply['replacement']['inspector_id']} ({reply['reason']}); restaffing "
        f"{reply['n']}, {len(reply['candidates'])} candidate(s), seed input "
        f"{reply['seed_input']!r}"
    )


@app.command(name="restaff-recused")
def restaff_recused(
    draw_id: str,
    officer: Annotated[str | None, typer.Option(help=_OFFICER_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Re-check the draw's open tasks against the roster's recusals now; replace each member
    recused for the task's entity (reason 回避). Exit 1 when a member could not be replaced."""
    reply = call(lambda: _api(sub=officer).post(f"/draws/{draw_id}/restaff-recused"))
    if as_json:
        print_json(reply)
    else:
        print(f"{draw_id}: {reply['checked']} open task(s) checked")
        for r in reply["restaffed"]:
            who = f"{r['replaced']['inspector_id']} -> {r['replacement']['inspector_id']}"
            print(f"  {r['task_id']}\t{who}\t{r['reason']}")
        for r in reply["refused"]:
            print(f"  {r['task_id']}\t{r['inspector_id']}\tNOT REPLACED: {r['reason']}")
    if reply["refused"]:
        raise typer.Exit(1)
