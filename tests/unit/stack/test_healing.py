"""When `spotcheck up` starts a stopped part again, and when it gives up."""

from __future__ import annotations

from spotcheck.stack.healing import CRASH_LIMIT, CRASH_WINDOW_S, Restarts


def test_restarts_back_off_by_the_kits_rule() -> None:
    restarts = Restarts()
    delays = [restarts.crashed("registry", now=t) for t in (0.0, 1.0, 3.0, 6.0)]
    assert delays == [0.5, 1.0, 2.0, 4.0]


def test_the_fifth_crash_within_a_minute_gives_up() -> None:
    restarts = Restarts()
    for t in range(CRASH_LIMIT - 1):
        assert restarts.crashed("draw", now=float(t)) is not None
    assert restarts.crashed("draw", now=30.0) is None
    assert CRASH_LIMIT == 5 and CRASH_WINDOW_S == 60.0


def test_old_crashes_are_forgotten_and_parts_are_counted_apart() -> None:
    restarts = Restarts()
    for t in range(CRASH_LIMIT - 1):
        restarts.crashed("draw", now=float(t))
    assert restarts.crashed("planner", now=10.0) == 0.5  # another part: its own count
    # a minute later the old crashes no longer count: a first crash again
    assert restarts.crashed("draw", now=CRASH_WINDOW_S + 5.0) == 0.5
    assert restarts.recent("draw", now=CRASH_WINDOW_S + 5.0) == 1
