"""Delivery policy of the outbox: destinations, idempotency keys, backoff, dead letters.

Pure: the relay asks this module what to deliver, under which key, and what to do after a
failure; randomness comes in as a function so that tests (and replays) are deterministic.

Each accepted result version gets one outbox row per destination. A row is `pending` until a
destination confirms it (`delivered`) or it has failed `max_attempts` times or permanently
(`dead`). An operator may replay a dead row: it goes back to `pending` with its attempts reset,
under the same idempotency key, so a destination that did receive it after all sees a repeat
it recognises, never a second effect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from contracts.publisher import DeliveryState
from services.kit.backoff import Backoff
from services.kit.envelope import event_id
from services.kit.errors import Conflict


class Destination(StrEnum):
    """Where a result goes. Each is an adapter configured by URL or subject."""

    DISCLOSURE = "disclosure"  # national/provincial disclosure system, HTTP POST
    CREDIT = "credit"  # credit-risk system, spotcheck.v1.publisher.credit.feedback
    REFERRAL = "referral"  # case handling, spotcheck.v1.publisher.referral.created
    LICENSING = "licensing"  # registration/approval, spotcheck.v1.publisher.licensing.feedback
    STREAM = "stream"  # public stream spotcheck.v1.publisher.result.published.<region>.<dept>
    # One row per finding (item): spotcheck.v1.publisher.finding.<kind>, keyed by item too.
    LICENSING_FINDING = "licensing_finding"  # finding.licensing_feedback (准入审批环节反馈)
    JOINT_PUNISHMENT = "joint_punishment"  # finding.joint_punishment (联合惩戒)


def destinations_for(
    *, referral: bool, credit_feedback: bool, licensing_feedback: bool
) -> list[Destination]:
    """The destinations of one result version, in delivery order."""
    out = [Destination.DISCLOSURE, Destination.STREAM]
    if credit_feedback:
        out.append(Destination.CREDIT)
    if referral:
        out.append(Destination.REFERRAL)
    if licensing_feedback:
        out.append(Destination.LICENSING)
    return out


def idempotency_key(
    result_id: str, version: int, destination: Destination | str, *, item_code: str | None = None
) -> str:
    """The key one result version carries to one destination, on every attempt, forever
    (a finding's destinations: one per item, `item_code` appended).

    Used as the `Idempotency-Key` header over HTTP and as `Nats-Msg-Id` on JetStream, so a
    repeated delivery is recognised by the receiver. ASCII, no spaces.
    """
    parts = [result_id, f"v{version}", Destination(destination).value]
    return event_id(*parts) if item_code is None else event_id(*parts, item_code)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The kit's backoff (equal jitter), capped, and a limit on attempts."""

    base_seconds: float = 2.0
    cap_seconds: float = 900.0
    max_attempts: int = 12

    def delay(self, attempts: int, rand: Callable[[], float]) -> float:
        """Seconds to wait after the `attempts`-th failure (1-based).

        "Equal jitter" (services/kit/backoff.py): half of the exponential step is fixed, half
        random, so retries from many rows spread out but never come back immediately. `rand`
        returns [0, 1).
        """
        return Backoff(self.base_seconds, self.cap_seconds).delay(attempts, rand)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to do with an outbox row after an attempt."""

    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


def after_success(*, attempts: int) -> Outcome:
    """A destination confirmed the delivery."""
    return Outcome(DeliveryState.DELIVERED, attempts + 1, None, None)


def after_failure(
    *,
    attempts: int,
    error: str,
    permanent: bool,
    now: datetime,
    policy: RetryPolicy,
    rand: Callable[[], float],
) -> Outcome:
    """A delivery attempt failed; `attempts` counts the attempts before this one.

    A permanent failure (the destination refused the content itself) or the last allowed
    attempt makes the row a dead letter; otherwise it is retried after a backoff.
    """
    done = attempts + 1
    if permanent or done >= policy.max_attempts:
        return Outcome(DeliveryState.DEAD, done, None, error)
    wait = timedelta(seconds=policy.delay(done, rand))
    return Outcome(DeliveryState.PENDING, done, now + wait, error)


def replay(state: DeliveryState, *, now: datetime) -> Outcome:
    """An operator replays a dead letter: pending again, attempts reset, same key."""
    if state is not DeliveryState.DEAD:
        raise Conflict(
            f"only dead letters can be replayed; this delivery is {state.value}", code="not_dead"
        )
    return Outcome(DeliveryState.PENDING, 0, now, None)


def http_failure_is_permanent(status: int) -> bool:
    """Whether an HTTP answer means "never send this again" rather than "try later".

    4xx means the receiver refused the content; but 408 (timeout), 409 (a concurrent
    duplicate still being processed) and 429 (rate limit) are worth retrying.
    """
    return 400 <= status < 500 and status not in (408, 409, 425, 429)
