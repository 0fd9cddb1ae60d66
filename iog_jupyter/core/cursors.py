"""Opaque page cursors: a position (a few JSON values) as URL-safe base64, checked on return."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .errors import ValidationError


def encode_position(*fields: Any) -> str:
    """An opaque cursor naming the position ``fields`` (JSON values)."""
    raw = json.dumps(list(fields), separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_position(cursor: str, types: tuple[type, ...], reason: str | None = None) -> tuple:
    """The position a cursor from :func:`encode_position` names, one value per type in ``types``.

    Raises:
        ValidationError: The cursor was not made by :func:`encode_position` with these types.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        fields = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(fields, list) or len(fields) != len(types):
            raise ValueError
        if not all(isinstance(v, t) for v, t in zip(fields, types, strict=True)):
            raise ValueError
        return tuple(fields)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationError(
            "cursor is not valid; pass the next_cursor of the previous page, or omit it.",
            reason=reason,
        ) from None
