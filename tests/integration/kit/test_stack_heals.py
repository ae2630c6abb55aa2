"""`spotcheck up` keeps the stack whole: a part killed with SIGKILL comes back on the same port
(NATS too, so every client reconnects to the same address), only a part that keeps crashing
stops the stack — saying which and why — and a restarted stack takes its old NATS port."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil

from spotcheck.embedded import port_taken
from tests.stack import Running, new_workdir, stack_env, started_stack

# Bounds, not delays: on a loaded machine (the suite beside other suites) a stack can take
# well over a minute to start, as tests/stack.py allows.
WAIT_S = 180.0


def _wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    """Poll `check` until it returns something true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.2)
    return found


def _stack_info(cwd: Path) -> dict[str, Any]:
    return dict(json.loads((cwd / "var" / "stack.json").read_text()))


def _part(supervisor: int, marker: str) -> psutil.Process | None:
    """The live child of the supervisor whose command line contains `marker`."""
    for p in psutil.Process(supervisor).children(recursive=True):
        try:
            if marker in " ".join(p.cmdline()) and p.status() != psutil.STATUS_ZOMBIE:
                return p
        except psutil.NoSuchProcess:
            continue
    return None


def _ready(url: str, **checks: bool) -> bool:
    try:
        r = httpx.get(url + "/readyz", timeout=2)
    except httpx.HTTPError:
        return False
    return r.status_code == 200 and all(r.json()["checks"][k] == v for k, v in checks.items())


def _up_log(s: Running) -> str:
    return (s.cwd / "up.log").read_text(encoding="utf-8", errors="replace")


def _flat(text: str) -> str:
    """Rich wraps long console lines: compare without the line breaks."""
    return " ".join(text.split())


def test_a_killed_service_and_a_killed_nats_come_back_on_their_ports() -> None:
    with started_stack("spotcheck-heals-") as s:
        info = _stack_info(s.cwd)
        supervisor = info["pid"]
        nats_url = info["nats_url"]
        registry = _part(supervisor, "services.registry")
        nats_server = _part(supervisor, "nats-server")
        assert registry is not None and nats_server is not None

        registry.send_signal(signal.SIGKILL)
        back = _wait_for(
            "a new registry process",
            lambda: (p := _part(supervisor, "services.registry")) and p.pid != registry.pid and p,
        )
        _wait_for("the registry ready on its port", lambda: _ready(s.urls["registry"]))
        assert _stack_info(s.cwd)["services"]["registry"]["url"] == s.urls["registry"]
        assert _part(supervisor, "nats-server").pid == nats_server.pid  # NATS untouched
        assert _stack_info(s.cwd)["nats_url"] == nats_url
        said = _flat(_up_log(s))
        assert "registry stopped (signal 9); starting it again in 0.5 s" in said
        _wait_for(
            "the console saying it is back", lambda: "registry is ready again" in _flat(_up_log(s))
        )
        own_log = (s.cwd / "var" / "logs" / "registry.log").read_text()
        assert '"service": "spotcheck-up"' in own_log and "registry stopped (signal 9)" in own_log

        nats_server.send_signal(signal.SIGKILL)
        _wait_for(
            "a new nats-server",
            lambda: (p := _part(supervisor, "nats-server")) and p.pid != nats_server.pid,
        )
        assert _stack_info(s.cwd)["nats_url"] == nats_url
        port = int(nats_url.rsplit(":", 1)[1])
        _wait_for("NATS listening where it was", lambda: port_taken(port))
        # every service reconnects to the same address
        for name, url in s.urls.items():
            _wait_for(f"{name} connected to NATS again", lambda url=url: _ready(url, nats=True))
        assert back.is_running()  # the registry was not restarted for it


@contextmanager
def _up(tmp: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp / "up.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "spotcheck", "up"], env=env, cwd=tmp, stdout=log, stderr=log
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(90)
        log.close()


def test_a_part_that_keeps_crashing_stops_the_stack_saying_which() -> None:
    tmp = new_workdir("spotcheck-crashes-")
    env = stack_env(tmp)
    var = tmp / "var"
    with _up(tmp, env) as proc:
        _wait_for("the stack", lambda: (var / "stack.json").exists())
        supervisor = _stack_info(tmp)["pid"]
        children = psutil.Process(supervisor).children(recursive=True)
        killed: set[int] = set()
        while proc.poll() is None:
            relay = _wait_for(
                "the relay (again)",
                lambda: (
                    proc.poll() is not None
                    or (
                        (p := _part(supervisor, "services.publisher.relay"))
                        and p.pid not in killed
                        and p
                    )
                ),
            )
            if relay is True:
                break
            killed.add(relay.pid)
            relay.send_signal(signal.SIGKILL)
        proc.wait(90)
    assert proc.returncode == 1
    said = _flat((tmp / "up.log").read_text(encoding="utf-8", errors="replace"))
    assert len(killed) == 5
    assert (
        "publisher-relay stopped 5 times within 60 s (last: signal 9); stopping the stack" in said
    )
    assert f"The end of {var / 'logs' / 'publisher-relay.log'}:" in said
    assert "spotcheck up: publisher-relay stopped 5 times" in said  # the one line it exits with
    assert not (var / "stack.json").exists()
    _wait_for(
        "every part stopped",
        lambda: not [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE],
        timeout=10,
    )
    shutil.rmtree(tmp, ignore_errors=True)


def test_a_restarted_stack_takes_its_old_nats_port() -> None:
    tmp = new_workdir("spotcheck-ports-")
    env = stack_env(tmp)
    var = tmp / "var"
    urls = []
    passwords = []
    blocker = socket.socket()
    try:
        # The first start finds 4222 taken (by us, or by anyone) and takes another port …
        try:
            blocker.bind(("127.0.0.1", 4222))
            blocker.listen()
        except OSError:
            pass  # taken already
        with _up(tmp, env) as proc:
            _wait_for("the stack", lambda: (var / "stack.json").exists())
            urls.append(_stack_info(tmp)["nats_url"])
            passwords.append((var / "secrets" / "nats" / "registry.password").read_text())
            proc.send_signal(signal.SIGINT)
            proc.wait(90)
            assert proc.returncode == 0
    finally:
        blocker.close()  # … then 4222 is free again: the second start still takes the old port
    with _up(tmp, env) as proc:
        _wait_for("the stack again", lambda: (var / "stack.json").exists())
        urls.append(_stack_info(tmp)["nats_url"])
        passwords.append((var / "secrets" / "nats" / "registry.password").read_text())
        for url in _stack_info(tmp)["services"].values():
            assert _ready(url["url"])
    assert urls[0] != "nats://127.0.0.1:4222" and urls[1] == urls[0]
    assert passwords[1] == passwords[0]  # the same users, the same passwords
    assert json.loads((var / "ports.json").read_text())["nats"] == int(urls[0].rsplit(":", 1)[1])
    shutil.rmtree(tmp, ignore_errors=True)
