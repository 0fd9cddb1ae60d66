"""Newest-first pages of jobs with opaque cursors (shared by both backends)."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable

from ..cursors import decode_position, encode_position
from ..errors import ValidationError
from ..wire import STATUSES, TERMINAL_STATUSES, JobPage, JobRecord

#: The largest page a caller may ask for.
MAX_LIMIT = 500


def sort_key(job: JobRecord) -> tuple[int, str]:
    """Newest first: by start time, then by id (both descending)."""
    return (job.start_time_ms or 0, job.submission_id)


def encode_cursor(job: JobRecord) -> str:
    """An opaque cursor that resumes after ``job``."""
    return encode_position(job.start_time_ms or 0, job.submission_id)


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The position a cursor names; ``ValidationError`` if :func:`encode_cursor` did not make it."""
    return decode_position(cursor, (int, str))


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


class JobIndex:
    """Jobs kept sorted newest first, with counts per status: a page costs O(log n + page).

    Not thread-safe: its owner holds a lock around it.
    """

    def __init__(self) -> None:
        self._keys: list[tuple[int, str]] = []  # ascending sort keys
        self._jobs: dict[str, JobRecord] = {}
        self._counts: Counter[str] = Counter()
        self._unfinished: set[str] = set()

    def __contains__(self, submission_id: str) -> bool:
        return submission_id in self._jobs

    def ids(self) -> list[str]:
        """Every indexed id."""
        return list(self._jobs)

    def unfinished(self) -> set[str]:
        """The ids of jobs that have not ended."""
        return set(self._unfinished)

    def put(self, job: JobRecord) -> None:
        """Add or replace a job's record."""
        self.drop(job.submission_id)
        self._jobs[job.submission_id] = job
        self._counts[job.status] += 1
        if job.status not in TERMINAL_STATUSES:
            self._unfinished.add(job.submission_id)
        bisect.insort(self._keys, sort_key(job))

    def drop(self, submission_id: str) -> None:
        """Remove a job (no-op when absent)."""
        old = self._jobs.pop(submission_id, None)
        if old is None:
            return
        self._counts[old.status] -= 1
        self._unfinished.discard(submission_id)
        key = sort_key(old)
        i = bisect.bisect_left(self._keys, key)
        if i < len(self._keys) and self._keys[i] == key:
            del self._keys[i]

    def page(self, statuses: frozenset[str] | None, limit: int, cursor: str | None) -> JobPage:
        """One page, newest first; ``total`` counts every job that passed the filter."""
        limit = check_list_args(statuses, limit)
        end = len(self._keys)
        if cursor:
            end = bisect.bisect_left(self._keys, decode_cursor(cursor))
        kept: list[JobRecord] = []
        for i in range(end - 1, -1, -1):
            job = self._jobs[self._keys[i][1]]
            if not statuses or job.status in statuses:
                kept.append(job)
                if len(kept) > limit:
                    break
        total = sum(self._counts[s] for s in statuses) if statuses else len(self._jobs)
        page = kept[:limit]
        next_cursor = encode_cursor(page[-1]) if len(kept) > limit else None
        return JobPage(jobs=page, next_cursor=next_cursor, total=total)
