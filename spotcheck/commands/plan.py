"""`spotcheck plan …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Annual sampling plans: submit and show", no_args_is_help=True)
