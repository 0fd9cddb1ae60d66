"""Byte-offset pages of a log that never split a UTF-8 character (shared by both backends)."""

from __future__ import annotations

import codecs
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


def page_from_bytes(
    submission_id: str, chunk: bytes, offset: int, at_end: bool, terminal: bool
) -> LogPage:
    """Build a page from ``chunk`` read at ``offset``, leaving a split final character out.

    Only a truncated *final* sequence (at most 3 bytes) waits for the next page; invalid bytes
    decode to U+FFFD. ``at_end``: ``chunk`` reaches the current end of the log; ``terminal``:
    the job had ended *before* the log was read (then that end is eof, and all is decoded).
    """
    eof = terminal and at_end
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    text = decoder.decode(chunk, eof)
    keep = len(chunk) - len(decoder.getstate()[0])
    return LogPage(
        submission_id=submission_id, text=text, offset=offset, next_offset=offset + keep, eof=eof
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
