"""n per stratum from the registry: the one rpc both plan submission and simulation make."""

from __future__ import annotations

import asyncio

from contracts import subjects
from contracts.registry import StatsReply
from services.kit.bus import Bus
from services.kit.errors import TemporaryError
from services.planner.domain.counts import count_queries, stratum_counts
from services.planner.domain.resolve import Planned


async def registry_counts(*, bus: Bus, planned: list[Planned], timeout_s: float) -> dict[str, int]:
    """n per stratum from the registry's `rpc.stats`: one request per distinct item scope.

    A plan is resolved with these n or not at all: when the registry does not answer, the
    caller gets a `TemporaryError` (503) and may retry once it runs.
    """
    queries = count_queries(planned)
    answers = await asyncio.gather(
        *(
            bus.request(subjects.rpc("registry", "stats"), q.request, StatsReply, timeout=timeout_s)
            for q in queries
        ),
        return_exceptions=True,
    )
    for answer in answers:
        if isinstance(answer, TemporaryError):
            raise TemporaryError(
                "the plan needs the registry's entity counts per stratum and the registry"
                f" did not answer ({answer.message}): the registry must be running"
                " (nothing was stored; try again once it is)"
            ) from answer
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return stratum_counts(queries, [a.groups for a in answers if isinstance(a, StatsReply)])
