"""`spotcheck publisher …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Deliveries, dead letters, deadlines", no_args_is_help=True)
