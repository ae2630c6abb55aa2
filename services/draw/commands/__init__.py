"""The draw's use cases that change state, one module per group:

- `ceremony.py`: start, seed, commit-reveal, resume, redraw (two officers);
- `freeze.py`: exclusions, the registry's freeze, the commitment;
- `selection.py`: after the seed, selection, tasks, teams, the record and the events;
- `progress.py`: approved plans and task progress from other services' events;
- `restaffing.py`: replacing one member of one open task (换人), and recusals found later.
- `triggered.py`: triggered tasks (触发检查): open, approve, staff.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.draw.commands.ceremony import Ceremony
from services.draw.commands.freeze import Freezer
from services.draw.commands.progress import Intake
from services.draw.commands.restaffing import Restaffing
from services.draw.commands.selection import Selection
from services.draw.commands.triggered import Triggered

__all__ = [
    "Ceremony",
    "DrawCommands",
    "Freezer",
    "Intake",
    "Restaffing",
    "Selection",
    "Triggered",
]


@dataclass(frozen=True)
class DrawCommands:
    """The draw's command objects, as app.py builds them."""

    ceremony: Ceremony
    freezer: Freezer
    selection: Selection
    intake: Intake
    restaffing: Restaffing
    triggered: Triggered
