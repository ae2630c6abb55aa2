"""How long to wait before trying again: the one backoff of spotcheck, pure.

Every retry in the project waits by this rule: a redelivery after a handler's temporary failure
(`bus`), a relay loop after its database or NATS went away (`relay`), a result delivery that a
destination refused for now (`publisher.domain.delivery`), the demo waiting for a service to
learn of a plan. The step doubles from `base_s` up to `cap_s`; with a random source it is
"equal jitter" — half of the step fixed, half random — so that many retriers spread out but
none comes back at once. Randomness comes in as a function, so tests and replays are exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# 2 ** 64 times any base is past every cap; a larger exponent would only risk OverflowError.
_MAX_DOUBLINGS = 64


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff, capped: `min(cap_s, base_s * 2 ** (attempt - 1))` seconds."""

    base_s: float
    cap_s: float

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s <= 0:
            raise ValueError(f"backoff needs positive seconds, got {self.base_s}, {self.cap_s}")

    def step(self, attempt: int) -> float:
        """The full step after the `attempt`-th failure (1-based), without jitter."""
        if attempt < 1:
            raise ValueError("attempts are 1-based")
        return float(min(self.cap_s, self.base_s * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS)))

    def delay(self, attempt: int, rand: Callable[[], float] | None = None) -> float:
        """Seconds to wait after the `attempt`-th failure (1-based).

        Without `rand`, the step itself (deterministic). With `rand` (returning [0, 1)), equal
        jitter: `step / 2 + step / 2 * rand()`.
        """
        step = self.step(attempt)
        if rand is None:
            return step
        return step / 2 + step / 2 * rand()
