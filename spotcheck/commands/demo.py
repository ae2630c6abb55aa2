"""`spotcheck demo`: the main job end to end (what `make run` runs).

Starts the stack (or uses the one already running from this folder), builds the sample county
昌江区 (360202), activates the shipped rules, submits three sample plans, runs their draws and
verifies them, records results as the inspectors would, lets the publisher deliver them, and
prints one summary; then serves until Ctrl-C (or exits with `--no-serve`).
"""

from __future__ import annotations

import json
import signal
import traceback
from typing import Annotated, Any

import typer


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def demo(
    entities: Annotated[int, typer.Option(help="Entities of the sample county", min=100)] = 30_000,
    inspectors: Annotated[
        int, typer.Option(help="Inspectors across the three departments", min=12)
    ] = 80,
    results: Annotated[
        int, typer.Option(help="Percent of staffed tasks whose result is recorded", min=0, max=100)
    ] = 60,
    serve: Annotated[
        bool,
        typer.Option(help="Keep serving after the summary until Ctrl-C (--no-serve: exit)"),
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout (progress: stderr)")
    ] = False,
) -> None:
    """Run the whole cycle on the embedded default: county, rules, plans, draws, results."""
    from rich.console import Console

    from services.kit.settings import load_settings
    from spotcheck.demo import runner
    from spotcheck.demo.common import Demo, Options

    console = Console(stderr=as_json)
    if not console.is_terminal:  # a log file or pipe: wide enough for the tables
        console = Console(stderr=as_json, width=160)
    settings = load_settings()
    options = Options(
        entities=entities, inspectors=inspectors, results_per_mille=results * 10, serve=serve
    )
    run = Demo(options=options, settings=settings, console=console)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        report = runner.run(run)
        if as_json:
            typer.echo(json.dumps(report, ensure_ascii=False))
        if not serve:
            return
        if run.stack is None:
            console.print(
                "the stack was already running before the demo: it keeps running "
                "(stop it where it was started, or `spotcheck down`)"
            )
            return
        console.print("[bold green]serving[/] — open the pages above; Ctrl-C stops everything")
        run.stack.catch_signals()
        run.stack.serve()
        if run.stack.failure:  # a part kept crashing: the stack gave up on it
            from spotcheck.stack import StackError

            raise StackError(run.stack.failure)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None
    except Exception as exc:  # one line for the user, the traceback in the log
        _log(settings.var_dir, traceback.format_exc())
        where = f"step {run.current}: " if run.current else ""
        message = str(exc) if _expected(exc) else f"{type(exc).__name__}: {exc}"
        typer.echo(f"spotcheck demo: {where}{message}", err=True)
        raise typer.Exit(1) from None
    finally:
        run.stop_stack()
        signal.signal(signal.SIGTERM, previous)
    console.print("stopped cleanly")


def _expected(exc: Exception) -> bool:
    import httpx

    from spotcheck.client import ApiError
    from spotcheck.demo.common import DemoError
    from spotcheck.stack import StackError

    return isinstance(exc, DemoError | StackError | ApiError | httpx.HTTPError | OSError)


def _log(var_dir: Any, text: str) -> None:
    try:
        (var_dir / "logs").mkdir(parents=True, exist_ok=True)
        with (var_dir / "logs" / "demo.log").open("a", encoding="utf-8") as f:
            f.write(text + "\n")
    except OSError:
        pass
