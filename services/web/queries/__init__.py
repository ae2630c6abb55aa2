"""Reads of the web service: its own sessions and accounts, and the pages' views composed
from the four services."""

from services.web.queries.people import WebQueries
from services.web.queries.tasks import TaskCardView, TaskReads

__all__ = ["TaskCardView", "TaskReads", "WebQueries"]
