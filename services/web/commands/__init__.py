"""Use cases of the web service: accounts and sessions (its own data), and the inspection
steps it carries to the publisher for the signed-in person."""

from services.web.commands.accounts import (
    AccountCommands,
    SessionStarted,
    SignInRefused,
    token_digest,
)
from services.web.commands.inspections import InspectionCommands, Submitted

__all__ = [
    "AccountCommands",
    "InspectionCommands",
    "SessionStarted",
    "SignInRefused",
    "Submitted",
    "token_digest",
]
