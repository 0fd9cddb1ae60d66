"""The time window of a usage report: ISO-8601, epoch milliseconds, or a duration back from now."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ..errors import ValidationError

_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
#: The latest time accepted (the end of year 9999, UTC).
MAX_MS = 253_402_300_799_999
#: The window when ``since`` is not given: the last 24 hours.
DEFAULT_WINDOW_MS = 24 * 3_600_000
#: The forms a time may take, as error messages name them.
FORMS = (
    "an ISO-8601 time (2026-12-01T09:00Z), epoch milliseconds, or a duration back from now "
    "(30m, 24h, 7d)"
)


def parse_time(value: str | None, name: str, now_ms: int, default_ms: int) -> int:
    """``value`` as epoch milliseconds (``default_ms`` when empty), from 1970 to 9999.

    Raises:
        ValidationError: ``value`` is none of the accepted forms, or out of that range
            (reason ``bad_<name>``).
    """
    text = (value or "").strip()
    if not text:
        return default_ms
    bad = ValidationError(f"Bad {name} {text[:40]!r}: give {FORMS}.", reason=f"bad_{name}")
    match = _DURATION_RE.match(text)
    try:
        if text.isdigit():
            result = int(text)
        elif match:
            result = now_ms - int(float(match[1]) * _UNIT_S[match[2].lower()] * 1000)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            result = int(moment.timestamp() * 1000)
    except (ValueError, OverflowError):
        raise bad from None
    if not 0 <= result <= MAX_MS:
        raise bad
    return result


def parse_window(since: str | None, until: str | None, now_ms: int) -> tuple[int, int]:
    """``(since_ms, until_ms)``: default the last 24 h to now.

    Raises:
        ValidationError: A bad value, or ``since`` not before ``until``.
    """
    until_ms = parse_time(until, "until", now_ms, now_ms)
    since_ms = parse_time(since, "since", now_ms, until_ms - DEFAULT_WINDOW_MS)
    if since_ms >= until_ms:
        raise ValidationError(
            f"The window is empty: since ({since}) is not before until ({until or 'now'}); "
            "give an earlier since or a later until.",
            reason="bad_window",
        )
    return since_ms, until_ms
