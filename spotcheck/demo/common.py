"""What every step of `spotcheck demo` shares: the run (`Demo`), its options and facts, and the
small helpers the steps print and wait with.

The steps (`prepare`, `ceremony`, `publish`, `summary`) import this module and nothing of each
other; `runner` imports the steps and runs them in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from contracts.common import Role
from services.kit.backoff import Backoff
from services.kit.settings import Settings
from spotcheck.client import Api, ApiError
from spotcheck.demo import county
from spotcheck.stack import Stack

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
STEPS = 8


class DemoError(RuntimeError):
    """A step failed; the message is the one line the user sees."""


@dataclass
class Options:
    """What `spotcheck demo` was asked to do."""

    entities: int = 30_000
    inspectors: int = 80
    seed: int = county.SEED
    results_per_mille: int = 600
    serve: bool = True


@dataclass
class Facts:
    """What the steps learnt, for the summary."""

    county: dict[str, Any] = field(default_factory=dict)
    rules_version: str = ""
    plans: list[dict[str, Any]] = field(default_factory=list)
    draws: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, int] = field(default_factory=dict)
    triggered: dict[str, Any] = field(default_factory=dict)


# Waiting for a service to learn of something (an event still on its way): the kit's backoff,
# from a quarter second up to two, so a quick arrival is seen at once and a slow one is not
# polled for nothing.
RETRY_BACKOFF = Backoff(base_s=0.25, cap_s=2.0)


def retry(fn: Callable[[], T], *, until: float, again: Callable[[ApiError], bool]) -> T:
    """Call `fn` until it does not raise an `ApiError` that `again` accepts, for `until` s."""
    deadline = time.monotonic() + until
    attempt = 0
    while True:
        try:
            return fn()
        except ApiError as exc:
            if not again(exc) or time.monotonic() > deadline:
                raise
        attempt += 1
        time.sleep(min(RETRY_BACKOFF.delay(attempt), max(0.0, deadline - time.monotonic())))


class Demo:
    """One run of the demo cycle: what it was asked, what it learnt, where it prints."""

    def __init__(self, *, options: Options, settings: Settings, console: Console) -> None:
        self.o = options
        self.settings = settings
        self.console = console
        self.stack: Stack | None = None
        self.facts = Facts()
        self.out = settings.var_dir / "demo"
        self.current = ""

    def step(self, n: int, title: str) -> None:
        """Print the heading of step `n`."""
        self.current = f"{n} ({title.split(' — ')[0]})"
        self.console.rule(f"[bold cyan]{n}/{STEPS} {title}")

    def api(
        self,
        service: str,
        role: Role | None = None,
        dept: str | None = None,
        sub: str | None = None,
    ) -> Api:
        """A client of `service` with a token for `role` (`sub`: a named person)."""
        return Api(service, role=role, dept=dept, settings=self.settings, timeout=900.0, sub=sub)

    def note(self, text: str) -> None:
        """A line of progress under the current step."""
        self.console.print(f"  {text}")

    def rules_dir(self) -> Path:
        """The rule directory: the settings' (./rules), else the one shipped in the checkout."""
        d = self.settings.rules_dir
        return d if d.is_dir() else ROOT / "rules"

    def stop_stack(self) -> None:
        """Stop the stack if this run started it."""
        if self.stack is not None:
            with self.console.status("stopping the stack…"):
                self.stack.stop()
            self.stack = None


def fetch_tasks(demo: Demo, draw_id: str) -> list[dict[str, Any]]:
    """Every task of a draw (with its state), page by page."""
    api = demo.api("draw")
    rows: list[dict[str, Any]] = []
    while True:
        page = api.get(f"/draws/{draw_id}/tasks", params={"offset": len(rows), "limit": 5000})
        if not page:
            return rows
        rows.extend(page)


def progress_bar(console: Console) -> Progress:
    """The bar a step shows while it sends many requests (gone when done)."""
    return Progress(
        TextColumn("  [bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def today() -> date:
    """Today (a function so a test can see what the demo takes as today)."""
    return date.today()
