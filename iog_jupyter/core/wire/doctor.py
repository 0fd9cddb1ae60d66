"""Doctor shapes: one finding, and the report of ``GET doctor`` and ``iog doctor``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, computed_field

from .base import WireModel

CheckStatus = Literal["ok", "warn", "fail"]
OK: CheckStatus = "ok"
WARN: CheckStatus = "warn"
FAIL: CheckStatus = "fail"


class Check(WireModel):
    """One doctor finding: a stable ``id``, ``ok``/``warn``/``fail``, what was found, the fix."""

    id: str
    status: CheckStatus
    message: str
    fix: str | None = None

    def __init__(self, id: str, status: CheckStatus, message: str, fix: str | None = None):
        super().__init__(id=id, status=status, message=message, fix=fix)


class DoctorReport(WireModel):
    """All checks; ``status`` is the worst of them."""

    checks: list[Check] = Field(default_factory=list)

    @computed_field
    def status(self) -> CheckStatus:
        """``fail`` if any check failed, else ``warn`` if any warned, else ``ok``."""
        statuses = {c.status for c in self.checks}
        return FAIL if FAIL in statuses else WARN if WARN in statuses else OK
