"""The e2e fixtures: one real stack started with `spotcheck up` as a subprocess (embedded NATS
and PostgreSQL on free ports, a temporary SPOTCHECK_VAR_DIR), shared by the e2e tests, stopped
with `spotcheck down`; and `cli()` to run `spotcheck …` as a user does. The stack itself is
`tests/stack.py`, which the browser tests use too."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import ROOT, SERVICES, Running, cli, new_workdir, stack_env, started_stack

__all__ = [
    "DEMO_ARGS",
    "ENTITIES",
    "INSPECTORS",
    "ROOT",
    "SERVICES",
    "Running",
    "cli",
    "stack_env",
]

# The county the e2e tests use: smaller than `make run`'s, same generator.
ENTITIES, INSPECTORS = 3000, 40
DEMO_ARGS = ("demo", "--no-serve", "--entities", str(ENTITIES), "--inspectors", str(INSPECTORS))


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A fresh folder for a stack of the test's own."""
    tmp = new_workdir()
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def stack() -> Iterator[Running]:
    """`spotcheck up` in a fresh folder; stopped by `spotcheck down` at the end."""
    with started_stack() as running:
        yield running
