"""Domain errors: raised by domain and service code, translated at the edges.

HTTP maps them to one JSON error shape with the status below; NATS handlers map
`TemporaryError` to a delayed nak and every other `DomainError` to a terminated message.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A failure the caller can understand and act on."""

    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: list[dict[str, Any]] = details or []


class Invalid(DomainError):
    """The input is malformed or breaks a rule; nothing was changed."""

    status = 422
    code = "invalid"


class NotFound(DomainError):
    """The thing asked for does not exist."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state (already done, wrong state)."""

    status = 409
    code = "conflict"


class Unauthorized(DomainError):
    """No valid credentials were given."""

    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    """Valid credentials, but the role may not do this."""

    status = 403
    code = "forbidden"


class TooLarge(DomainError):
    """The body or attachment is larger than allowed."""

    status = 413
    code = "too_large"


class UnsupportedMediaType(DomainError):
    """The body is not of the media type the route reads (JSON, a form)."""

    status = 415
    code = "unsupported_media_type"


class TemporaryError(DomainError):
    """A dependency is down or busy; the same request may succeed later."""

    status = 503
    code = "unavailable"


class PoisonMessage(DomainError):
    """A message that can never be handled: it is terminated, not redelivered."""

    code = "poison"
