"""The envelope of every event (DESIGN §4): CloudEvents 1.0 attributes in NATS headers, JSON body.

Headers are built here and read here, nowhere else: the bus, the outbox relay, the audit
publisher and the publisher's delivery relay all publish with `headers(...)`, and every
consumer gets the attributes through `Incoming`. Other agencies build their subscribers from
these headers (docs/subscribing.md), so names, order and formats are a public contract:

    ce-specversion: 1.0            ce-type: <subject without qualifiers>
    ce-id: <event id>              ce-time: <ISO 8601, UTC>
    ce-source: <producer>          content-type: application/json
    Nats-Msg-Id: <event id>        (JetStream drops a repeat within its dedup window)

Event ids follow one scheme, `event_id(...)`: the parts that identify the fact, joined by
`:` — so the same fact always carries the same id — or `new_event_id()` when nothing does.
No I/O here (the NATS message type is only named for typing).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from contracts import subjects
from services.kit.errors import PoisonMessage

if TYPE_CHECKING:
    from nats.aio.msg import Msg

M = TypeVar("M", bound=BaseModel)

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
ID_SEPARATOR = ":"


def dumps(model: BaseModel) -> bytes:
    """JSON bytes of a contract, Chinese kept as UTF-8 (not \\u escapes)."""
    return model.model_dump_json().encode("utf-8")


def loads(data: bytes) -> Any:
    """Parse JSON bytes."""
    return json.loads(data)


def event_id(*parts: str | int) -> str:
    """The id of the event that records one fact: what identifies the fact, joined by `:`.

    E.g. `event_id("plan.approved", plan_id)` → `plan.approved:P2026-01`; the publisher's
    delivery of result version 2 to the stream is `R-1:v2:stream`. The same fact always gets
    the same id, so a repeat (a handler re-run, a relay restarted between publishing and
    recording) is dropped by JetStream (`Nats-Msg-Id`) and recognised by subscribers (`ce-id`).
    """
    texts = [p if isinstance(p, str) else str(p) for p in parts]
    _check_parts(texts)
    return ID_SEPARATOR.join(texts)


def event_ids(name: str, keys: Sequence[str]) -> list[str]:
    """`event_id(name, key)` for each of many keys, in one pass (a province draw queues 250k
    `task.assigned` events: a call per key would cost it most of a second)."""
    _check_parts([name, *keys])
    prefix = name + ID_SEPARATOR
    return [prefix + key for key in keys]


def _check_parts(parts: Sequence[str]) -> None:
    # Ids travel as header values: nothing empty, no spaces or control characters.
    joined = "".join(parts)
    if not parts or "" in parts or " " in joined or not joined.isprintable():
        raise ValueError(f"an event id needs non-empty parts without spaces: {parts[:4]!r}")


def new_event_id() -> str:
    """A fresh random id, for an event no stable key identifies (a one-off publish)."""
    return str(uuid.uuid4())


_NAMES_LONGEST_FIRST = {
    service: sorted(names, key=len, reverse=True) for service, names in subjects.EVENTS.items()
}


@lru_cache(maxsize=8192)
def event_type(subject: str) -> str:
    """The CloudEvents type: the event's subject without its qualifiers.

    `spotcheck.v1.publisher.result.published.360202.scjg` is of type
    `spotcheck.v1.publisher.result.published`. A subject that names no known event (a test's,
    another system's) is its own type. Cached: a relay asks for the same few subjects again
    and again.
    """
    parts = subject.split(".")
    if len(parts) >= 4 and parts[2] in _NAMES_LONGEST_FIRST:
        rest = ".".join(parts[3:])
        for name in _NAMES_LONGEST_FIRST[parts[2]]:
            if rest == name or rest.startswith(name + "."):
                return f"{parts[0]}.{parts[1]}.{parts[2]}.{name}"
    return subject


def headers(
    *, event_id: str, source: str, subject: str, time: datetime | None = None
) -> dict[str, str]:
    """The headers of one event on `subject` (the order is the one subscribers have seen)."""
    return {
        "ce-specversion": SPECVERSION,
        "ce-id": event_id,
        "ce-source": source,
        "ce-type": event_type(subject),
        "ce-time": (time or datetime.now(UTC)).isoformat(),
        "content-type": CONTENT_TYPE,
        "Nats-Msg-Id": event_id,
    }


@dataclass(frozen=True)
class Incoming:
    """A message handed to a consumer's handler, with its envelope read."""

    subject: str
    data: bytes
    headers: dict[str, str]
    num_delivered: int
    stream_seq: int

    @classmethod
    def from_msg(cls, msg: Msg) -> Incoming:
        """Read a JetStream message (its delivery count and stream sequence from the ack
        metadata)."""
        meta = msg.metadata
        return cls(
            subject=msg.subject,
            data=msg.data,
            headers=dict(msg.headers or {}),
            num_delivered=int(meta.num_delivered or 1),
            stream_seq=int(meta.sequence.stream or 0),
        )

    @property
    def event_id(self) -> str:
        """The CloudEvents id (also the JetStream dedup id)."""
        return self.headers.get("ce-id") or self.headers.get("Nats-Msg-Id") or ""

    @property
    def event_type(self) -> str:
        """The CloudEvents type."""
        return self.headers.get("ce-type", "")

    def parse(self, model: type[M]) -> M:
        """Validate the body as `model`; a bad body is a poison message."""
        try:
            return model.model_validate_json(self.data)
        except ValidationError as exc:
            raise PoisonMessage(f"body is not a valid {model.__name__}: {exc}") from exc
