"""Newest-first pages of jobs with opaque cursors (shared by both backends)."""

from __future__ import annotations

from collections.abc import Iterable

from ..cursors import decode_position, encode_position
from ..errors import ValidationError
from ..wire import STATUSES, JobPage, JobRecord

#: The largest page a caller may ask for.
MAX_LIMIT = 500


def sort_key(job: JobRecord) -> tuple[int, str]:
    """Newest first: by start time, then by id (both descending)."""
    return (job.start_time_ms or 0, job.submission_id)


def encode_cursor(job: JobRecord) -> str:
    """An opaque cursor that resumes after ``job``."""
    return encode_position(job.start_time_ms or 0, job.submission_id)


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The position a cursor names.

    Raises:
        ValidationError: The cursor was not made by :func:`encode_cursor`.
    """
    start, submission_id = decode_position(cursor, (int, str))
    return start, submission_id


def check_list_args(statuses: Iterable[str] | None, limit: int) -> int:
    """Validate list arguments; returns ``limit`` clamped to 1 … :data:`MAX_LIMIT`.

    Raises:
        ValidationError: An unknown status or a non-integer limit.
    """
    for status in statuses or ():
        if status not in STATUSES:
            raise ValidationError(f"status {status[:32]!r} is not one of {', '.join(STATUSES)}.")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError("limit must be a whole number ≥ 1.")
    return min(limit, MAX_LIMIT)


def paginate(
    jobs: Iterable[JobRecord],
    statuses: frozenset[str] | None,
    limit: int,
    cursor: str | None,
) -> JobPage:
    """Filter, sort newest first and cut one page.

    Args:
        jobs: Every job.
        statuses: Keep only these statuses; all when None or empty.
        limit: Page size (validated by :func:`check_list_args`).
        cursor: Resume after this position.

    Returns:
        The page; ``total`` counts every job that passed the filter.
    """
    limit = check_list_args(statuses, limit)
    kept = [j for j in jobs if not statuses or j.status in statuses]
    kept.sort(key=sort_key, reverse=True)
    total = len(kept)
    if cursor:
        after = decode_cursor(cursor)
        kept = [j for j in kept if sort_key(j) < after]
    page = kept[:limit]
    next_cursor = encode_cursor(page[-1]) if len(kept) > limit else None
    return JobPage(jobs=page, next_cursor=next_cursor, total=total)
