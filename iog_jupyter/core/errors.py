"""Domain errors raised by iog_jupyter.core; each names the HTTP status the handlers answer."""

from __future__ import annotations


class IogError(Exception):
    """Base class of every error iog_jupyter reports to a person.

    A subclass sets its class-wide ``reason`` and ``http_status`` in its class statement:
    ``class NotFoundError(IogError, reason="not_found", http_status=404)``.

    Attributes:
        message: What went wrong and what to do about it, in plain words.
        reason: A short machine-readable tag (``"ray_unavailable"``).
        http_status: The status the handlers answer with (500 for an error nobody mapped).
    """

    reason = "error"
    http_status = 500

    def __init_subclass__(cls, reason: str | None = None, http_status: int | None = None) -> None:
        super().__init_subclass__()
        if reason is not None:
            cls.reason = reason
        if http_status is not None:
            cls.http_status = http_status

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class ValidationError(IogError, reason="invalid", http_status=400):
    """The request was malformed or asked for something not allowed."""


class NotFoundError(IogError, reason="not_found", http_status=404):
    """The named thing does not exist."""


class ForbiddenError(IogError, reason="forbidden", http_status=403):
    """The request is understood but not allowed for this target."""


class ConflictError(IogError, reason="conflict", http_status=409):
    """The request conflicts with the current state."""


class RayUnavailableError(IogError, reason="ray_unavailable", http_status=503):
    """Ray could not be reached, or did not answer in time."""


class RayTokenRefusedError(RayUnavailableError, reason="ray_token_refused"):
    """Ray answered but refused the token (a wrong token, or somebody else's Ray)."""


class RayVersionMismatchError(RayUnavailableError, reason="ray_version_mismatch"):
    """Ray answered, but runs another Ray version than the one installed here."""


class QuotaExceededError(IogError, reason="quota_exceeded", http_status=429):
    """The user is over one of the server's quotas."""
