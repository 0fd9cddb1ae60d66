"""Byte-offset pages of a log that never split a UTF-8 character (shared by both backends)."""

from __future__ import annotations

import os

from ..errors import ValidationError
from ..wire import LogPage

#: The largest page a caller may ask for.
MAX_PAGE_BYTES = 1024 * 1024


def check_page_args(offset: int, limit_bytes: int) -> int:
    """Validate a page request; returns ``limit_bytes`` clamped to 4 … :data:`MAX_PAGE_BYTES`.

    Raises:
        ValidationError: A negative offset or a limit below 1.
    """
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError("offset must be a whole number of bytes ≥ 0.")
    if isinstance(limit_bytes, bool) or not isinstance(limit_bytes, int) or limit_bytes < 1:
        raise ValidationError("limit_bytes must be a whole number ≥ 1.")
    # At least 4 bytes, so one UTF-8 character always fits and a reader always moves on.
    return max(4, min(limit_bytes, MAX_PAGE_BYTES))


def complete_utf8_prefix(chunk: bytes) -> int:
    """The length of the longest prefix of ``chunk`` that does not end inside a character.

    Only a truncated *final* sequence is cut; invalid bytes elsewhere are kept (they decode to
    U+FFFD). Returns ``len(chunk)`` when the chunk ends on a character boundary.
    """
    end = len(chunk)
    # Walk back over at most 3 continuation bytes to the lead byte of the last character.
    i = end - 1
    steps = 0
    while i >= 0 and steps < 3 and (chunk[i] & 0xC0) == 0x80:
        i -= 1
        steps += 1
    if i < 0:
        return end
    lead = chunk[i]  # the bytes its character needs (0: ASCII or a stray continuation byte)
    need = 4 if lead >= 0xF0 else 3 if lead >= 0xE0 else 2 if lead >= 0xC0 else 0
    return i if end - i < need else end


def page_from_bytes(
    submission_id: str, chunk: bytes, offset: int, at_end: bool, terminal: bool
) -> LogPage:
    """Build a page from ``chunk`` read at ``offset``, trimming a split final character.

    ``at_end``: ``chunk`` reaches the current end of the log; ``terminal``: the job had ended
    *before* the log was read (then that end is eof).
    """
    keep = complete_utf8_prefix(chunk)
    if keep == 0 and chunk and len(chunk) >= 4:
        keep = len(chunk)  # garbage, not a split character: pass it on as U+FFFD
    text = chunk[:keep].decode("utf-8", errors="replace")
    next_offset = offset + keep
    eof = terminal and at_end and keep == len(chunk)
    return LogPage(
        submission_id=submission_id, text=text, offset=offset, next_offset=next_offset, eof=eof
    )


def read_file_page(
    path: str, submission_id: str, offset: int, limit_bytes: int, terminal: bool
) -> LogPage:
    """A page of a log file (``limit_bytes`` already clamped); a missing file is an empty log.

    ``terminal``: the job had ended before this call (then the end of file is eof).
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(offset)
            chunk = handle.read(limit_bytes)
    except FileNotFoundError:
        size, chunk = 0, b""
    return page_from_bytes(submission_id, chunk, offset, offset + len(chunk) >= size, terminal)
