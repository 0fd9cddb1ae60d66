"""Per-user job quotas (off by default): jobs pending or running at once, submissions per minute.

A refused request raises :class:`~iog_jupyter.core.errors.QuotaExceededError` (HTTP 429) with
the limit, what the user has now, and what to do; nothing is recorded for a refused request.
A limit of 0 means "no limit". (The third quota, open log websockets per user, is
``IogJupyterApp.log_tail_max_clients_per_user``, enforced by the log-tail handler.)
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import QuotaExceededError

#: The statuses a job counts against ``max_active_jobs`` in.
ACTIVE_STATUSES = frozenset({"PENDING", "RUNNING"})


@dataclass(frozen=True)
class QuotaLimits:
    """The limits, per Jupyter user; 0 disables one.

    Attributes:
        max_active_jobs: PENDING or RUNNING jobs a user may have at once.
        max_submits_per_minute: Submissions a user may make in any 60 s window.
    """

    max_active_jobs: int = 0
    max_submits_per_minute: int = 0


class Quotas:
    """Counts per user and refuses what goes over ``limits`` (thread-safe).

    ``clock`` gives monotonic seconds (a parameter so the window can be tested without sleeping).
    """

    WINDOW_S = 60.0

    def __init__(self, limits: QuotaLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._submits: dict[str, deque[float]] = defaultdict(deque)

    def check_submit(self, user: str, active_jobs: Callable[[], int]) -> None:
        """Refuse a submission over either job quota; else count it in the rate window.

        ``active_jobs`` counts the user's PENDING/RUNNING jobs (called only when limited).

        Raises:
            QuotaExceededError: Too many active jobs, or too many submissions this minute.
        """
        limits = self.limits
        if limits.max_active_jobs:
            active = active_jobs()
            if active >= limits.max_active_jobs:
                raise QuotaExceededError(
                    f"You have {active} jobs pending or running; the limit is "
                    f"{limits.max_active_jobs} per user. Wait for one to end or stop one."
                )
        if not limits.max_submits_per_minute:
            return
        with self._lock:
            now = self._clock()
            window = self._submits[user]
            while window and now - window[0] >= self.WINDOW_S:
                window.popleft()
            if len(window) >= limits.max_submits_per_minute:
                wait_s = self.WINDOW_S - (now - window[0])
                raise QuotaExceededError(
                    f"You submitted {len(window)} jobs in the last minute; the limit is "
                    f"{limits.max_submits_per_minute}. Try again in {wait_s:.0f} s."
                )
            window.append(now)


def count_active_jobs(backend: Any, owner: str, page_size: int = 200) -> int:
    """How many of ``owner``'s jobs are PENDING or RUNNING (walks the backend's pages)."""
    count, cursor = 0, None
    while True:
        page = backend.list(statuses=ACTIVE_STATUSES, limit=page_size, cursor=cursor)
        count += sum(1 for job in page.jobs if job.owner == owner)
        cursor = page.next_cursor
        if cursor is None:
            return count
