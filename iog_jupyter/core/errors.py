"""Domain errors raised by iog_jupyter.core; the handlers map each to one HTTP status."""

from __future__ import annotations


class IogError(Exception):
    """Base class of every error iog_jupyter reports to a person.

    Attributes:
        message: What went wrong and what to do about it, in plain words.
        reason: A short machine-readable tag (``"ray_unavailable"``).
    """

    reason = "error"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class ValidationError(IogError):
    """The request was malformed or asked for something not allowed (HTTP 400)."""

    reason = "invalid"


class NotFoundError(IogError):
    """The named thing does not exist (HTTP 404)."""

    reason = "not_found"


class ForbiddenError(IogError):
    """The request is understood but not allowed for this target (HTTP 403)."""

    reason = "forbidden"


class ConflictError(IogError):
    """The request conflicts with the current state (HTTP 409)."""

    reason = "conflict"


class RayUnavailableError(IogError):
    """Ray could not be reached, or did not answer in time (HTTP 503)."""

    reason = "ray_unavailable"


class QuotaExceededError(IogError):
    """The user is over one of the server's quotas (HTTP 429)."""

    reason = "quota_exceeded"
