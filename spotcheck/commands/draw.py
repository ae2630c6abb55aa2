"""`spotcheck draw …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="The public draw: start, seed, verify, show", no_args_is_help=True)
