"""The faults of the cluster test, in turn, while work runs (tests/cluster, bench/scale.py).

kill -9 one copy of each service and of the relay (the supervisor of `spotcheck up` starts it
again), stop one NATS node of the cluster and start it again, restart PostgreSQL; after each,
wait until every copy is ready before the next.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from spotcheck.embedded import EmbeddedPostgres
from spotcheck.stack import SERVICES
from tests.cluster.nats_cluster import NatsCluster
from tests.waiting import wait_until

RELAY_MODULE = "services.publisher.relay"


@dataclass
class Faults:
    """The faults done so far, each with how long the stack took to heal from it."""

    done: list[tuple[str, float]] = field(default_factory=list)
    began: list[float] = field(default_factory=list)  # when each fault began (monotonic)
    error: BaseException | None = None
    finished: threading.Event = field(default_factory=threading.Event)


def _processes(var_dir: Path, module: str, port: int | None) -> list[int]:
    """Pids of the parts of this stack running `python -m module` (on `port`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if module.encode() not in argv or b"-m" not in argv:
            continue
        if f"SPOTCHECK_VAR_DIR={var_dir}".encode() not in env:
            continue
        if port is not None and not any(
            e.startswith(b"SPOTCHECK_") and e.endswith(f"_PORT={port}".encode()) for e in env
        ):
            continue
        found.append(int(entry.name))
    return found


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def all_ready(info: dict[str, Any]) -> bool:
    return all(_ready(c["url"]) for name in SERVICES for c in info["services"][name]["copies"])


def _kill_copy(var_dir: Path, info: dict[str, Any], service: str, copy: int) -> None:
    """kill -9 copy `copy` of `service` (or one relay), then wait until it is back."""
    if service == "publisher-relay":
        old = _processes(var_dir, RELAY_MODULE, None)
        assert len(old) == 2, f"two relays expected, found {old}"
        os.kill(old[copy - 1], signal.SIGKILL)
        wait_until(
            lambda: len(set(_processes(var_dir, RELAY_MODULE, None)) - set(old)) == 1,
            what="the killed relay started again",
            timeout=120,
        )
        return
    part = info["services"][service]["copies"][copy - 1]
    pids = _processes(var_dir, f"services.{service}", part["port"])
    assert len(pids) == 1, f"{part['part']}: one process expected, found {pids}"
    os.kill(pids[0], signal.SIGKILL)
    wait_until(
        lambda: (
            not _ready(part["url"])
            or _processes(var_dir, f"services.{service}", part["port"]) != pids
        ),
        what=f"{part['part']} gone",
        timeout=30,
    )
    wait_until(
        lambda: _ready(part["url"]), what=f"{part['part']} ready again after kill -9", timeout=180
    )


def break_things(
    faults: Faults,
    *,
    var_dir: Path,
    info: dict[str, Any],
    nats: NatsCluster,
    pg: EmbeddedPostgres,
) -> None:
    """Each fault in turn, waiting for the stack to heal before the next."""
    steps: list[tuple[str, Any]] = []
    for n, service in enumerate((*SERVICES, "publisher-relay")):
        copy = 1 + n % 2
        steps.append(
            (
                f"kill -9 {service} copy {copy}",
                lambda s=service, c=copy: _kill_copy(var_dir, info, s, c),
            )
        )

    def nats_node() -> None:
        nats.stop_node(1)
        time.sleep(3)  # the cycle runs on two nodes for a while (a fault's length, not a wait)
        nats.start_node(1)
        wait_until(lambda: all_ready(info), what="every copy ready with node 2 back", timeout=180)

    def postgres() -> None:
        pg.stop()
        time.sleep(2)  # PostgreSQL down for a while, then back (a fault's length)
        pg.start()
        wait_until(lambda: all_ready(info), what="every copy ready after PostgreSQL", timeout=180)

    steps += [("stop NATS node 2, start it again", nats_node), ("restart PostgreSQL", postgres)]
    try:
        for what, step in steps:
            time.sleep(1.5)  # let the cycle run between faults (spacing, not a wait)
            started = time.monotonic()
            faults.began.append(started)
            step()
            faults.done.append((what, time.monotonic() - started))
    except BaseException as exc:  # reported by the test thread
        faults.error = exc
    finally:
        faults.finished.set()
