"""When `spotcheck up` restarts a part that stopped, and when it gives up: pure.

A part that exits while the stack runs (a service, the relay, NATS, PostgreSQL) is started
again after the kit's backoff (`services/kit/backoff.py`): 0.5 s after its first crash, then
1, 2, 4 s … up to 10 s, counting only the crashes of the last `window_s`. The `limit`-th crash
within that window means the part cannot run (a bad setting, a broken migration, a full disk):
the stack stops and says so rather than restarting it forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.kit.backoff import Backoff

RESTART_BACKOFF = Backoff(base_s=0.5, cap_s=10.0)
CRASH_LIMIT = 5
CRASH_WINDOW_S = 60.0


@dataclass
class Restarts:
    """The crashes of each part in the last `window_s` seconds."""

    backoff: Backoff = RESTART_BACKOFF
    limit: int = CRASH_LIMIT
    window_s: float = CRASH_WINDOW_S
    _crashes: dict[str, list[float]] = field(default_factory=dict)

    def crashed(self, part: str, now: float) -> float | None:
        """Record that `part` stopped at `now` (monotonic seconds): the delay before starting
        it again, or None when this is its `limit`-th crash within the window (give up)."""
        recent = [t for t in self._crashes.get(part, []) if now - t < self.window_s]
        recent.append(now)
        self._crashes[part] = recent
        if len(recent) >= self.limit:
            return None
        return self.backoff.delay(len(recent))

    def recent(self, part: str, now: float) -> int:
        """How many times `part` crashed within the window before `now`."""
        return sum(1 for t in self._crashes.get(part, []) if now - t < self.window_s)
