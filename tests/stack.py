"""A real stack for the tests that drive it as a user does (`tests/e2e/`, `tests/browser/`):
`spotcheck up` as a subprocess in a fresh folder (embedded NATS and PostgreSQL, every service on
a free port, a temporary SPOTCHECK_VAR_DIR), stopped with `spotcheck down`; and `cli()` to run
`spotcheck …` against it.

The services are `spotcheck.stack.SERVICES`, the list `spotcheck up` starts: a service added
there (with its default port in `services/kit/settings.py`) gets a free port here and its URL in
`Running.urls` without any change to this module.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spotcheck.embedded import free_port
from spotcheck.stack import SERVICES

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Running:
    """A stack started with `spotcheck up` as a subprocess."""

    env: dict[str, str]
    cwd: Path
    urls: dict[str, str]


def stack_env(tmp: Path) -> dict[str, str]:
    """Environment of a stack in `tmp/var` with free service ports and the embedded servers."""
    env = dict(os.environ)
    env["SPOTCHECK_VAR_DIR"] = str(tmp / "var")
    for name in SERVICES:
        env[f"SPOTCHECK_{name.upper()}_PORT"] = str(free_port())
    for name in ("SPOTCHECK_NATS_URL", "SPOTCHECK_DATABASE_URL", "SPOTCHECK_TOKEN"):
        env.pop(name, None)
    for name in SERVICES:
        env.pop(f"SPOTCHECK_{name.upper()}_URL", None)
    return env


def new_workdir(prefix: str = "spotcheck-e2e-") -> Path:
    """A folder the embedded PostgreSQL can use: run as root it switches to a user of its own,
    which cannot enter pytest's private (0700) temporary folders."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    tmp.chmod(0o755)
    return tmp


def cli(s: Running, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `spotcheck ARGS` as the user would, in the stack's folder."""
    return subprocess.run(
        [sys.executable, "-m", "spotcheck", *args],
        env=s.env,
        cwd=s.cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _wait_for_stack(var: Path, proc: subprocess.Popen[bytes], timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = var.parent / "up.log"
            text = log.read_text(errors="replace") if log.exists() else ""
            raise AssertionError(f"spotcheck up exited early: {text[-2000:]}")
        if (var / "stack.json").exists():
            return json.loads((var / "stack.json").read_text())
        time.sleep(0.3)
    raise AssertionError("the stack did not start")


def _tails(logs: Path) -> str:
    """The last lines of every log, to say why a stack did not stop."""
    out = []
    for path in sorted(logs.glob("*.log")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[-4:]
        out.append(f"--- {path.name}\n" + "\n".join(line[:300] for line in lines))
    return "\n".join(out)


@contextmanager
def started_stack(
    prefix: str = "spotcheck-e2e-",
    *,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    workdir: Path | None = None,
) -> Iterator[Running]:
    """`spotcheck up ARGS` in a fresh folder (or `workdir`) until the block ends, then
    `spotcheck down`, which must stop everything (waited for with a bound, not timed: how long
    a stop takes is not this test's claim). `env` is added to the stack's environment. The
    folder is removed after a clean stop, else kept (its `up.log` and `var/logs/` say why)."""
    tmp = workdir or new_workdir(prefix)
    stack_vars = stack_env(tmp)
    stack_vars.update(env or {})
    env = stack_vars
    log = (tmp / "up.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "spotcheck", "up", *args],
        env=env,
        cwd=tmp,
        stdout=log,
        stderr=log,
    )
    stopped = False
    try:
        info = _wait_for_stack(tmp / "var", proc)
        urls = {name: info["services"][name]["url"] for name in SERVICES}
        running = Running(env=env, cwd=tmp, urls=urls)
        yield running
        down = cli(running, "down", timeout=180)
        assert down.returncode == 0, down.stderr + _tails(tmp / "var" / "logs")
        proc.wait(90)
        assert proc.returncode == 0
        assert not (tmp / "var" / "stack.json").exists()
        stopped = True
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(90)
        log.close()
        if stopped and workdir is None:  # else keep the folder and its logs to look at
            shutil.rmtree(tmp, ignore_errors=True)
