"""The stored holiday calendar built into `Workdays`, once per rule-set version.

Shared by the commands (due dates stamped on accepted results, an activation's changed days)
and the queries (deadline reports): building a calendar is the costly part, reading the one
stored row is not, so every use reads the row and this cache answers the build.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts.holidays import HolidaySchedule
from services.publisher import store
from services.publisher.domain.workdays import Workdays, default_workdays

KEPT = 8
"""Built calendars kept: activations are rare, so the last few are enough."""


class WorkdaysCache:
    """`Workdays` of stored calendars, built once per rules version."""

    def __init__(self) -> None:
        self._built: dict[str, Workdays] = {}

    def of(self, stored: store.StoredCalendar) -> Workdays:
        """The working days of a stored calendar (the default before any activation)."""
        if stored.rules_version is None:
            return default_workdays()
        return self.build(
            stored.rules_version,
            [HolidaySchedule.model_validate(s) for s in stored.schedules],
        )

    def build(self, version: str, schedules: Sequence[HolidaySchedule]) -> Workdays:
        """The working days of a rules version's holiday schedules (built on first use)."""
        built = self._built.get(version)
        if built is None:
            if len(self._built) >= KEPT:
                self._built.clear()
            built = self._built[version] = Workdays.build(schedules)
        return built
