"""`spotcheck up / down / status`: the embedded default stack — NATS, PostgreSQL and the four
services.

- `supervisor.py` — `Stack`: starts the parts, waits until they are ready, watches them and
  stops them in reverse order (`spotcheck up`, `--detach`).
- `watcher.py` — `Watcher`, the restart loop the supervisor runs once the stack is ready.
- `processes.py` — which parts run (each service's copies), their ports, how each is started,
  whether a pid lives.
- `stackfile.py` — `var/stack.json`, what runs where (`spotcheck down`, the demo's reuse).
- `health.py` — `spotcheck status`: whether NATS, PostgreSQL and each service answer.
"""

from __future__ import annotations

from spotcheck.stack.health import collect_status, print_status
from spotcheck.stack.processes import SERVICES
from spotcheck.stack.stackfile import StackError, read_json, running_stack, stop_detached
from spotcheck.stack.supervisor import Stack

__all__ = [
    "SERVICES",
    "Stack",
    "StackError",
    "collect_status",
    "print_status",
    "read_json",
    "running_stack",
    "stop_detached",
]
