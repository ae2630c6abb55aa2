"""The envelope: the exact headers subscribers see, one type naming, one event-id scheme."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts import subjects
from contracts.events import EVENT_MODELS
from services.kit.envelope import (
    Incoming,
    event_id,
    event_ids,
    event_type,
    headers,
    new_event_id,
)
from services.kit.errors import PoisonMessage
from services.publisher.domain.delivery import Destination, idempotency_key

AT = datetime(2026, 11, 24, 9, 30, 5, 123456, tzinfo=UTC)


def test_headers_are_the_published_contract_in_order() -> None:
    subject = "spotcheck.v1.publisher.result.published.360202.scjg"
    got = headers(event_id="R-1:v1:stream", source="spotcheck-publisher", subject=subject, time=AT)
    assert list(got.items()) == [
        ("ce-specversion", "1.0"),
        ("ce-id", "R-1:v1:stream"),
        ("ce-source", "spotcheck-publisher"),
        ("ce-type", "spotcheck.v1.publisher.result.published"),
        ("ce-time", "2026-11-24T09:30:05.123456+00:00"),
        ("content-type", "application/json"),
        ("Nats-Msg-Id", "R-1:v1:stream"),
    ]


def test_event_type_of_every_event_and_its_qualified_forms() -> None:
    for service, name in EVENT_MODELS:
        plain = subjects.event(service, name)
        assert event_type(plain) == plain
        assert event_type(plain + ".360202.scjg") == plain
    # A longer name is not mistaken for a shorter one that prefixes it.
    assert event_type("spotcheck.v1.draw.task.assigned") == "spotcheck.v1.draw.task.assigned"
    # Subjects of no known event are their own type.
    for other in ("spotcheck.v1.audit.draw", "test.x.hello", "credit.v1.risk_class.updated"):
        assert event_type(other) == other


def test_one_event_id_scheme() -> None:
    assert event_id("plan.approved", "P-1") == "plan.approved:P-1"
    assert event_id("audit", "draw", 42) == "audit:draw:42"
    # The publisher's delivery keys, which subscribers store, are of the same scheme.
    assert idempotency_key("R-1", 2, Destination.STREAM) == event_id("R-1", "v2", "stream")
    for bad in ((), ("a", ""), ("a b",), ("a\nb",)):
        with pytest.raises(ValueError):
            event_id(*bad)
    assert new_event_id() != new_event_id()
    # Many at once (a draw's task events): the same ids, the same checks.
    assert event_ids("task.assigned", ["T-1", "T-2"]) == [
        event_id("task.assigned", "T-1"),
        event_id("task.assigned", "T-2"),
    ]
    with pytest.raises(ValueError):
        event_ids("task.assigned", ["T-1", ""])


def test_incoming_reads_the_envelope_and_refuses_a_bad_body() -> None:
    msg = Incoming(
        subject="s",
        data=b'{"x": 1}',
        headers={"Nats-Msg-Id": "k", "ce-type": "t"},
        num_delivered=1,
        stream_seq=1,
    )
    assert (msg.event_id, msg.event_type) == ("k", "t")
    assert Incoming("s", b"", {"ce-id": "c", "Nats-Msg-Id": "k"}, 1, 1).event_id == "c"
    with pytest.raises(PoisonMessage):
        msg.parse(EVENT_MODELS[("draw", "committed")])
