"""Structured logs: one JSON object per line, with the service name and request id.

The one logging setup of every spotcheck process: each service (services/kit/service.py
`main`), the publisher's relay process, and the worker processes a service starts (pass
`worker_initializer()` to the process pool) call `setup_logging` once at start; no other module
configures logging, they only log to `logging.getLogger("spotcheck.<area>")`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line; extra fields given as `extra={"fields": {...}}`."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            out["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class LogSetup:
    """How a process set up its logs (handed to its worker processes)."""

    service: str
    level: str = "INFO"
    json_lines: bool = True


_current: LogSetup | None = None


def setup_logging(service: str, *, level: str = "INFO", json_lines: bool = True) -> None:
    """Route every log record to stderr, as JSON lines unless `json_lines` is false."""
    global _current
    _current = LogSetup(service=service, level=level, json_lines=json_lines)
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def worker_initializer() -> tuple[Callable[[LogSetup | None], None], tuple[Any, ...]]:
    """`initializer` and `initargs` for a process pool, so its workers log as this process.

    A spawned worker starts with logging unconfigured: without this, its warnings would reach
    stderr as bare text, outside the JSON lines of its service.
    """
    return _init_worker, (_current,)


def _init_worker(setup: LogSetup | None) -> None:
    if setup is not None:
        setup_logging(setup.service, level=setup.level, json_lines=setup.json_lines)
