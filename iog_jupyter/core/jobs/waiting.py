"""Wait until jobs end: one loop for the CLI's ``iog jobs wait`` and Python's ``jobs.wait``.

:func:`wait_for_jobs` works on any :class:`~.service.JobsAPI` (a :class:`~.service.JobService`
here, or ``IogClient.jobs`` through a server). It reads every job once before waiting, so an
unknown id fails at once with the not-found message; then it polls only the jobs still running,
and hands each to ``on_end`` as it ends. While Ray or the server is unavailable (from the first
read on) it waits, as a log follow does (``IogClient.follow``), for up to ``outage_s``.
:func:`wait_exit_status` turns the outcome into an exit status.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import IogError, RayUnavailableError
from ..wire import JobRecord
from .service import JobsAPI

log = logging.getLogger(__name__)

#: Seconds between two looks at the jobs still running.
WAIT_POLL_S = 1.0
#: How long a wait rides out an unavailable Ray or server before the error is raised.
OUTAGE_S = 600.0
#: Exit status when every job SUCCEEDED.
WAIT_OK = 0
#: Exit status when any job FAILED.
WAIT_FAILED = 1
#: Exit status when none FAILED but some were STOPPED (3 already means "unreachable").
WAIT_STOPPED = 5
#: Exit status when the wait timed out (as coreutils ``timeout``).
WAIT_TIMED_OUT = 124


class JobsWaitTimeout(IogError, TimeoutError, reason="wait_timeout", http_status=504):
    """Some jobs were still running when the wait's timeout ran out.

    Attributes:
        records: The last record of every job waited for, in the order asked.
        running: Those of ``records`` that had not ended.
    """

    def __init__(self, records: list[JobRecord], timeout_s: float) -> None:
        self.records = records
        self.running = [r for r in records if not r.is_terminal]
        still = ", ".join(f"{r.submission_id} ({r.status})" for r in self.running)
        super().__init__(f"Still running after {timeout_s:g} s: {still}. They run on.")


def run_time_s(record: JobRecord) -> float | None:
    """Seconds the job ran (start to end), or None when Ray gave no start or end time."""
    if record.start_time_ms is None or record.end_time_ms is None:
        return None
    return max(0.0, (record.end_time_ms - record.start_time_ms) / 1000)


def wait_for_jobs(
    api: JobsAPI,
    submission_ids: Iterable[str],
    timeout_s: float | None = None,
    on_end: Callable[[JobRecord], Any] | None = None,
    poll_s: float = WAIT_POLL_S,
    outage_s: float = OUTAGE_S,
) -> list[JobRecord]:
    """Block until every job has ended (SUCCEEDED, FAILED or STOPPED).

    Nothing is stopped: not on a timeout, not on Ctrl-C (``KeyboardInterrupt`` is raised as is).

    Args:
        api: Jobs here (``JobService``) or on a server (``IogClient.jobs``).
        submission_ids: The jobs to wait for (a repeated id is waited for once).
        timeout_s: Give up after this many seconds; None waits as long as it takes.
        on_end: Called once with each job's final record as it ends (at once for a job that
            had ended already), in the order they end.
        poll_s: Seconds between two looks at the jobs still running.
        outage_s: How long to wait through an unavailable Ray or server.

    Returns:
        The final record of each job, in the order asked.

    Raises:
        NotFoundError: An id names no job (``IogClientError`` with status 404 through a
            server); raised before any waiting.
        JobsWaitTimeout: ``timeout_s`` ran out first; its ``running`` says which jobs run on.
        RayUnavailableError: Ray (``IogClientError`` of kind ``unavailable``: the server) did
            not answer for longer than ``outage_s``.

    Example:
        >>> records = wait_for_jobs(service, ["prep", "train"], timeout_s=3600)  # doctest: +SKIP
        >>> wait_exit_status(records)  # doctest: +SKIP
        0
    """
    ids = list(dict.fromkeys(submission_ids))
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    records: dict[str, JobRecord] = {}
    running = set(ids)
    outage: Exception | None = None
    outage_since = 0.0
    while True:
        try:  # the first pass reads every job: an unknown id fails there, before any wait
            for sid in [s for s in ids if s in running]:
                records[sid] = api.get(sid)
            outage = None
        except Exception as err:  # only an outage is waited through; the rest is raised
            # Core's RayUnavailableError, or IogClientError of kind "unavailable" (the server).
            if (
                not isinstance(err, RayUnavailableError)
                and getattr(err, "kind", "") != "unavailable"
            ):
                raise
            if outage is None:
                outage_since = time.monotonic()
                said = getattr(err, "message", "") or type(err).__name__
                log.warning("%s Waiting for it to answer (Ctrl-C to stop).", said)
            elif time.monotonic() - outage_since > outage_s:
                raise
            outage = err
        for sid in ids:
            if sid in running and sid in records and records[sid].is_terminal:
                running.discard(sid)
                if on_end is not None:
                    on_end(records[sid])
        if not running:
            break
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            if outage is not None and len(records) < len(ids):
                raise outage  # no job was read yet: nothing to report but the outage
            raise JobsWaitTimeout([records[sid] for sid in ids], timeout_s or 0.0)
        time.sleep(poll_s if deadline is None else max(0.0, min(poll_s, deadline - now)))
    return [records[sid] for sid in ids]


def wait_exit_status(records: Iterable[JobRecord]) -> int:
    """The exit status of a wait: 0 all SUCCEEDED, 1 any FAILED, 5 none failed but some STOPPED.

    A job that has not ended (a wait that timed out) makes it 124, as coreutils ``timeout``.
    """
    statuses = {r.status for r in records}
    if not statuses <= {"SUCCEEDED", "FAILED", "STOPPED"}:
        return WAIT_TIMED_OUT
    if "FAILED" in statuses:
        return WAIT_FAILED
    return WAIT_STOPPED if "STOPPED" in statuses else WAIT_OK
