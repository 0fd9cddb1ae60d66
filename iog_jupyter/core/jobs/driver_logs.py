"""Where Ray's job driver logs are on this machine: ``<session_dir>/logs/job-driver-<id>.log``.

The head's session dir is asked of the GCS again now and then (a restarted head has a new one);
while unknown, at most once a second, so a follower polling a log never probes a down head each
time. A journaled job's log is found where it was last seen, also after a head restart.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from .. import _ray_compat
from ..connection import RayConnection
from ..errors import RayUnavailableError
from .journal import JobJournal

log = logging.getLogger(__name__)


class DriverLogs:
    """The driver log files of the jobs on one head, remembered in ``journal`` when given."""

    def __init__(self, conn: RayConnection, journal: JobJournal | None) -> None:
        self.conn = conn
        self.journal = journal
        self._session_dir: str | None = None
        self._session_dir_read = -float("inf")

    def _local_session_dir(self) -> str | None:
        now = time.monotonic()
        if now - self._session_dir_read > (10.0 if self._session_dir else 1.0):
            self._session_dir, self._session_dir_read = None, now
            self.conn.probe()
            self.conn.prepare_ray_client()
            try:
                found = _ray_compat.head_session_dir(self.conn.address, self.conn.request_timeout_s)
            except Exception as err:  # noqa: BLE001 - Ray raises RpcError, ConnectionError, ...
                log.debug("Head session dir unknown: %s", type(err).__name__)
                return None
            if found and os.path.isdir(os.path.join(found, "logs")):
                self._session_dir = found
        return self._session_dir

    def path(self, submission_id: str) -> str | None:
        """The job's driver log on this machine, if it is here."""
        journal = self.journal
        try:
            session_dir = self._local_session_dir()
        except RayUnavailableError:
            session_dir = None
        if session_dir:
            path = os.path.join(session_dir, "logs", f"job-driver-{submission_id}.log")
            if os.path.exists(path):
                if journal is not None and submission_id in journal:
                    journal.remember_log(submission_id, path)
                return path
        kept = journal.log_path(submission_id) if journal is not None else None
        return kept if kept and os.path.exists(kept) else None

    def forget(self, submission_id: str, path: str | None = None) -> None:
        """Drop the journal's record of a job and its driver log file (``path``, or found)."""
        path = path or self.path(submission_id)
        if self.journal is not None:
            self.journal.forget(submission_id)
        try:
            if path:
                Path(path).unlink(missing_ok=True)
        except OSError as err:
            log.warning("Could not remove the log of job %s: %s", submission_id, err.strerror)
