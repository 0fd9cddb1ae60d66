"""Domain errors raised by iog_jupyter.core; each names the HTTP status the handlers answer."""

from __future__ import annotations


class IogError(Exception):
    """Base class of every error iog_jupyter reports to a person.

    Attributes:
        message: What went wrong and what to do about it, in plain words.
        reason: A short machine-readable tag (``"ray_unavailable"``).
        http_status: The status the handlers answer with (500 for an error nobody mapped).
    """

    reason = "error"
    http_status = 500

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class ValidationError(IogError):
    """The request was malformed or asked for something not allowed."""

    reason = "invalid"
    http_status = 400


class NotFoundError(IogError):
    """The named thing does not exist."""

    reason = "not_found"
    http_status = 404


class ForbiddenError(IogError):
    """The request is understood but not allowed for this target."""

    reason = "forbidden"
    http_status = 403


class ConflictError(IogError):
    """The request conflicts with the current state."""

    reason = "conflict"
    http_status = 409


class RayUnavailableError(IogError):
    """Ray could not be reached, or did not answer in time."""

    reason = "ray_unavailable"
    http_status = 503


class QuotaExceededError(IogError):
    """The user is over one of the server's quotas."""

    reason = "quota_exceeded"
    http_status = 429
