"""`spotcheck rules …` commands: check, test (local), simulate and activate (the planner)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from contracts.common import Role
from spotcheck.client import Api, call, fail, print_json

app = typer.Typer(help="Policy rule files: check, test, simulate, activate", no_args_is_help=True)

DirArg = Annotated[Path | None, typer.Argument(help="Rule directory (default: settings rules_dir)")]


def _dir(directory: Path | None) -> Path:
    if directory is not None:
        return directory
    from services.kit.settings import load_settings

    return load_settings().rules_dir


def _read(directory: Path) -> dict[str, bytes]:
    from services.planner.library import read_rule_dir

    try:
        return read_rule_dir(directory)
    except (OSError, ValueError) as exc:
        fail(str(exc))


def _print_errors(errors: list[Any]) -> None:
    """Each error as `file:line: [rule] reason`, its Chinese reason indented on the next line."""
    for err in errors:
        print(str(err), file=sys.stderr)
        if err.reason_zh:
            print(f"    {err.reason_zh}", file=sys.stderr)


@app.command()
def check(directory: DirArg = None) -> None:
    """Check schema and meaning; every error as `file:line: [rule] reason`, then the reason in
    Chinese on the next line; exit 1 on errors."""
    from services.planner.library import check_files

    files = _read(_dir(directory))
    ruleset, errors = check_files(files)
    if errors or ruleset is None:
        _print_errors(errors)
        fail(
            f"{len(errors)} error(s); the rule set is refused"
            f" — 规则集未通过检查，共 {len(errors)} 处错误"
        )
    years = "/".join(str(h.year) for h in ruleset.holidays) or "none (package data only)"
    print(
        f"ok: {len(ruleset.items)} items, {len(ruleset.rules)} rules, "
        f"classes {'/'.join(ruleset.risk_classes)}, holidays {years}; version {ruleset.version}"
    )


@app.command("test")
def test_(directory: DirArg = None) -> None:
    """Run the cases of `tests/*.yaml` and print a table; exit 1 on any failure."""
    from services.planner.library import check_files, run_rule_tests

    files = _read(_dir(directory))
    ruleset, errors = check_files(files)
    if ruleset is None:
        _print_errors(errors)
        fail("the rule set does not pass `spotcheck rules check`")
    results, case_errors = run_rule_tests(files, ruleset)
    _print_errors(case_errors)
    if not results and not case_errors:
        fail("no cases in tests/*.yaml")
    table = Table(title=f"rules/tests — version {ruleset.version[:12]}")
    for col in ("", "case", "where", "expected", "got", "why"):
        table.add_column(col)
    for r in results:
        table.add_row(
            "✓" if r.ok else "✗",
            r.name,
            f"{r.file}:{r.line}",
            r.expected,
            r.got,
            "\n".join(filter(None, ["; ".join(r.failures), "；".join(r.failures_zh)])),
        )
    Console(width=200).print(table)
    failed = sum(not r.ok for r in results) + len(case_errors)
    print(f"{len(results) - sum(not r.ok for r in results)} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


def _files_body(directory: Path) -> dict[str, Any]:
    files = _read(directory)
    try:
        return {"files": {p: b.decode("utf-8") for p, b in files.items()}}
    except UnicodeDecodeError as exc:
        fail(f"a rule file is not UTF-8: {exc}")


def _api(role: Role) -> Api:
    """The planner's API with a token for `role`."""
    return Api("planner", role=role)


@app.command()
def activate(
    directory: DirArg = None, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Send the directory to the planner: checked, then active for the next plan (no restart)."""
    body = _files_body(_dir(directory))
    reply = call(lambda: _api(Role.POLICY).post("/rules/activate", json=body))
    if as_json:
        print_json(reply)
        return
    prev = reply.get("previous_version") or "-"
    print(f"active: {reply['version']} (previous {prev})")


def _bp(bp: int | None) -> str:
    return "-" if bp is None else f"{bp}bp"


def _k(k: int | None, excluded: str | None) -> str:
    if k is None:
        return "-"
    return f"{k} (不抽取)" if excluded else str(k)


@app.command()
def simulate(
    plan: Annotated[Path, typer.Option("--plan", help="Plan YAML")],
    rules: Annotated[Path | None, typer.Option("--rules", help="Candidate rule directory")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Per stratum: n (registry stats) and k under the active and the candidate rules."""
    import yaml

    body: dict[str, Any] = {"plan": yaml.safe_load(plan.read_text(encoding="utf-8"))}
    body["plan"] = json.loads(json.dumps(body["plan"], default=str))
    body.update(_files_body(_dir(rules)))
    reply = call(lambda: _api(Role.POLICY).post("/rules/simulate", json=body))
    if as_json:
        print_json(reply)
        return
    table = Table(
        title=f"active {str(reply['active_version'])[:12]} → "
        f"candidate {reply['candidate_version'][:12]}"
    )
    for col in (
        "stratum",
        "n",
        "bp (active)",
        "k (active)",
        "bp (candidate)",
        "k (candidate)",
        "Δk",
    ):
        table.add_column(col)
    for row in reply["strata"]:
        table.add_row(
            row["stratum_id"],
            str(row["n"]),
            _bp(row["active_bp"]),
            _k(row["active_k"], row.get("active_excluded")),
            _bp(row["candidate_bp"]),
            _k(row["candidate_k"], row.get("candidate_excluded")),
            f"{row['delta_k']:+d}" if row["delta_k"] is not None else "-",
        )
    Console(width=200).print(table)
    print(f"total k: active {reply['active_total_k']}, candidate {reply['candidate_total_k']}")


@app.command("import-catalogue")
def import_catalogue(
    file: Annotated[Path, typer.Argument(help="The catalogue export of 互联网+监管 (CSV or JSON)")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or json (default: from the file)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import the supervision items exported from 互联网+监管 as a proposed rule change: a
    candidate rule set whose item files are edited to match (check, simulate and activate it
    as any rule change). CSV in UTF-8 or GB18030, or JSON. A bad row is refused with
    `file:line: field: reason` and nothing is created."""
    if fmt not in (None, "csv", "json"):
        fail("--format is csv or json")
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc}")
    params: dict[str, str] = {"name": file.name}
    if fmt:
        params["format"] = fmt
    kind = "application/json" if (fmt or file.suffix.lower().lstrip(".")) == "json" else "text/csv"
    reply = call(
        lambda: _api(Role.POLICY).post(
            "/rules/catalogue-imports",
            params=params,
            content=data,
            headers={"Content-Type": kind},
        )
    )
    if as_json:
        print_json(reply)
        return
    diff = reply["diff"]
    for entry in diff["added"]:
        print(f"+ {entry['code']} {entry['name']} ({entry['department']}) → {entry['file']}")
    for entry in diff["changed"]:
        for f in entry["fields"]:
            print(f"~ {entry['code']} {f['field']}: {f['old']} → {f['new']}")
    for entry in diff["withdrawn"]:
        print(f"- {entry['code']} {entry['name']} ({entry['file']}:{entry['line']})")
    counts = (
        f"{len(diff['added'])} added, {len(diff['changed'])} changed,"
        f" {len(diff['withdrawn'])} withdrawn, {diff['unchanged']} unchanged"
    )
    if reply.get("repeated"):
        print(f"import {reply['import_id']}: this export was imported already ({counts})")
    elif reply["candidate_id"] is None:
        print(f"import {reply['import_id']}: the export agrees with the active items ({counts})")
    else:
        print(
            f"import {reply['import_id']}: {counts}; candidate {reply['candidate_id']}"
            " — check, simulate and activate it in the console (规则管理) or with the API"
        )
