"""Delivery policy: destinations, idempotency keys, backoff with jitter, dead letters."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from contracts.publisher import DeliveryState
from services.kit.errors import Conflict
from services.publisher.domain.delivery import (
    Destination,
    RetryPolicy,
    after_failure,
    after_success,
    destinations_for,
    http_failure_is_permanent,
    idempotency_key,
    replay,
)

NOW = datetime(2026, 3, 10, 9, tzinfo=UTC)


def test_destinations_follow_the_flags() -> None:
    clean = destinations_for(referral=False, credit_feedback=True, licensing_feedback=False)
    assert clean == [Destination.DISCLOSURE, Destination.STREAM, Destination.CREDIT]
    everything = destinations_for(referral=True, credit_feedback=True, licensing_feedback=True)
    # A finding's destinations are per item (`payloads.finding_deliveries`), not per result.
    per_item = {Destination.LICENSING_FINDING, Destination.JOINT_PUNISHMENT}
    assert set(everything) == set(Destination) - per_item


def test_idempotency_key_is_per_version_and_destination() -> None:
    a = idempotency_key("R-1", 1, Destination.DISCLOSURE)
    assert a == "R-1:v1:disclosure" and a == idempotency_key("R-1", 1, "disclosure")
    finding = idempotency_key("R-1", 1, Destination.JOINT_PUNISHMENT, item_code="SCJG-001")
    assert finding == "R-1:v1:joint_punishment:SCJG-001"
    assert a != idempotency_key("R-1", 2, Destination.DISCLOSURE)
    assert a != idempotency_key("R-1", 1, Destination.CREDIT)
    with pytest.raises(ValueError):
        idempotency_key("R-1", 1, "fax")


def test_backoff_doubles_is_capped_and_jittered_within_bounds() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=60, max_attempts=10)
    assert policy.delay(1, lambda: 0.0) == 1.0  # half of 2 s
    assert policy.delay(1, lambda: 0.999999) == pytest.approx(2.0, abs=1e-5)
    assert policy.delay(3, lambda: 0.0) == 4.0  # half of 8 s
    assert policy.delay(20, lambda: 0.5) == 45.0  # capped at 60 s: 30 + 15
    for attempt in range(1, 12):
        step = min(60, 2 * 2 ** (attempt - 1))
        assert step / 2 <= policy.delay(attempt, random.Random(attempt).random) < step


def test_backoff_is_deterministic_given_the_random_source() -> None:
    policy = RetryPolicy()
    a = [policy.delay(n, random.Random(7).random) for n in range(1, 8)]
    b = [policy.delay(n, random.Random(7).random) for n in range(1, 8)]
    assert a == b


def test_failures_retry_then_die_after_max_attempts() -> None:
    policy = RetryPolicy(base_seconds=1, cap_seconds=10, max_attempts=3)
    first = after_failure(
        attempts=0, error="timeout", permanent=False, now=NOW, policy=policy, rand=lambda: 0.0
    )
    assert first.state is DeliveryState.PENDING and first.attempts == 1
    assert first.next_attempt_at == NOW + timedelta(seconds=0.5)
    second = after_failure(
        attempts=1, error="503", permanent=False, now=NOW, policy=policy, rand=lambda: 0.0
    )
    assert second.state is DeliveryState.PENDING and second.next_attempt_at == NOW + timedelta(
        1 / 86400
    )
    third = after_failure(
        attempts=2, error="503", permanent=False, now=NOW, policy=policy, rand=lambda: 0.0
    )
    assert third.state is DeliveryState.DEAD and third.attempts == 3 and third.last_error == "503"


def test_a_permanent_failure_is_a_dead_letter_at_once() -> None:
    out = after_failure(
        attempts=0,
        error="422 bad body",
        permanent=True,
        now=NOW,
        policy=RetryPolicy(),
        rand=lambda: 0.0,
    )
    assert out.state is DeliveryState.DEAD and out.next_attempt_at is None


def test_success_and_replay() -> None:
    assert after_success(attempts=2).state is DeliveryState.DELIVERED
    again = replay(DeliveryState.DEAD, now=NOW)
    assert again.state is DeliveryState.PENDING and again.attempts == 0
    assert again.next_attempt_at == NOW
    for state in (DeliveryState.PENDING, DeliveryState.DELIVERED):
        with pytest.raises(Conflict):
            replay(state, now=NOW)


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        (400, True),
        (404, True),
        (422, True),
        (408, False),
        (409, False),
        (429, False),
        (500, False),
        (503, False),
    ],
)
def test_which_http_failures_are_permanent(status: int, permanent: bool) -> None:
    assert http_failure_is_permanent(status) is permanent
