"""`spotcheck results …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Inspection results: submit", no_args_is_help=True)
