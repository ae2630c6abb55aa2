"""Use cases of the web service: accounts and sessions (its own data), and the inspection
steps it carries to the publisher for the signed-in person."""

from services.web.commands.accounts import (
    AccountCommands,
    PasswordSignInOff,
    SessionStarted,
    SignInRefused,
)
from services.web.commands.inspections import InspectionCommands, Submitted
from services.web.sealing import seal, token_digest, unseal

__all__ = [
    "AccountCommands",
    "InspectionCommands",
    "PasswordSignInOff",
    "SessionStarted",
    "SignInRefused",
    "Submitted",
    "seal",
    "token_digest",
    "unseal",
]
