"""`spotcheck rules …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Policy rule files: check, test, simulate, activate", no_args_is_help=True)
