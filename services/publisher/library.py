"""The publisher's deadline calculation and result categories as a library.

`spotcheck publisher due-date` answers offline, and the demo's summary sorts published results
into on time / at risk / late: both count working days with exactly the code the publisher
stamps due dates with, through this module and nothing else of the publisher. It only gathers
the pure domain (`domain/deadlines.py`, `domain/workdays.py`, `domain/categories.py`); it never
touches the publisher's wiring, store or messages.
"""

from __future__ import annotations

from services.publisher.domain.categories import load_categories
from services.publisher.domain.deadlines import (
    AT_RISK_WORKING_DAYS,
    Due,
    due_date,
    is_working_day,
    publication_due,
)
from services.publisher.domain.workdays import Workdays

__all__ = [
    "AT_RISK_WORKING_DAYS",
    "Due",
    "Workdays",
    "due_date",
    "is_working_day",
    "load_categories",
    "publication_due",
]
