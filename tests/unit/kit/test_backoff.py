"""The one backoff: doubling, capped, optionally with equal jitter."""

from __future__ import annotations

import random

import pytest

from services.kit.backoff import Backoff


def test_doubles_and_caps_without_jitter() -> None:
    b = Backoff(base_s=0.5, cap_s=30.0)
    assert [b.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert b.delay(7) == 30.0 and b.delay(10_000) == 30.0  # no overflow for large attempts


def test_equal_jitter_stays_within_half_and_whole_step() -> None:
    b = Backoff(base_s=2.0, cap_s=60.0)
    assert b.delay(1, lambda: 0.0) == 1.0
    for attempt in range(1, 12):
        step = b.step(attempt)
        assert step / 2 <= b.delay(attempt, random.Random(attempt).random) < step


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Backoff(base_s=1.0, cap_s=2.0).delay(0)
    with pytest.raises(ValueError):
        Backoff(base_s=0.0, cap_s=1.0)
