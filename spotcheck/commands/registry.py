"""`spotcheck registry …` commands."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="两库: import, generate and inspect the entity directory and inspector roster",
    no_args_is_help=True,
)
