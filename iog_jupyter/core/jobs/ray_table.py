"""An index of Ray's job table, so a page of jobs costs the same at 100 jobs and at 10,000.

Read from the GCS KV store where Ray's job manager keeps it (``_ray_compat``; not the
dashboard's list, which returns every job each time): each sync asks Ray only for the jobs that
have not ended, and the whole id list at most every ``refresh_s``, in the background.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .. import _ray_compat
from ..connection import RayConnection
from ..errors import IogError, RayUnavailableError
from ..wire import TERMINAL_STATUSES, JobPage
from .journal import JobJournal
from .paging import JobIndex
from .ray_client import job_record
from .tombstones import Tombstones

log = logging.getLogger(__name__)


class JobTable:
    """Ray's job table as last read, merged with the journal, ``tombstones`` left out.

    ``rebury(id, ended)`` is called for a deleted job Ray wrote back.
    """

    def __init__(
        self,
        conn: RayConnection,
        tombstones: Tombstones,
        journal: JobJournal | None,
        rebury: Callable[[str, bool], None],
        refresh_s: float,
    ) -> None:
        self.conn = conn
        self.tombstones = tombstones
        self.journal = journal
        self.rebury = rebury
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._index = JobIndex()
        self._submitted: set[str] = set()  # ids submitted here, not yet read back
        self._read = -float("inf")  # monotonic time of the last full read
        self._refreshing = False

    def submitted(self, submission_id: str) -> None:
        """Read this job on the next sync, before the next full read finds it."""
        with self._lock:
            self._submitted.add(submission_id)

    def page(self, statuses: frozenset[str] | None, limit: int, cursor: str | None) -> JobPage:
        """A page of the index (copies of its records)."""
        with self._lock:
            page = self._index.page(statuses, limit, cursor)
        page.jobs = [job.model_copy() for job in page.jobs]
        return page

    def sync(self) -> bool:
        """Update the index from Ray's job table and the journal; whether the id list is due.

        The jobs that have not ended are read on every call. The whole id list (jobs submitted
        elsewhere, or deleted) is read on the first call, then, when older than ``refresh_s``,
        by :meth:`refresh_in_background` after the page is cut, so no page waits for it.
        """
        if self._read == -float("inf"):
            self._merge(full=True)
            return False
        self._merge(full=False)
        return time.monotonic() - self._read >= self.refresh_s

    def refresh_in_background(self) -> None:
        """Read the whole id list on a thread (at most one at a time)."""
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True

        def run() -> None:
            try:
                self._merge(full=True)
            except IogError as err:
                log.debug("Job table refresh: %s", err.message)
            finally:
                with self._lock:
                    self._refreshing = False

        threading.Thread(target=run, name="iog-job-table", daemon=True).start()

    def _merge(self, full: bool) -> None:
        """Read Ray's table (all ids when ``full``, else the unfinished jobs) into the index."""
        now = time.monotonic()
        with self._lock:
            index = self._index
            unfinished = index.unfinished() | self._submitted
            known = set(index.ids())
        self.conn.prepare_ray_client()
        address, timeout_s = self.conn.address, self.conn.request_timeout_s
        try:
            if full:
                ids, infos = _ray_compat.submission_job_infos(
                    address, timeout_s, known - unfinished
                )
            else:
                ids, infos = None, _ray_compat.job_infos(address, timeout_s, sorted(unfinished))
        except Exception as err:  # noqa: BLE001 - Ray raises RpcError, GetTimeoutError, ...
            self.conn.reset()
            raise RayUnavailableError(
                f"Ray's job table did not answer ({type(err).__name__}); retry when Ray is back."
            ) from None
        tombstones = self.tombstones.load()
        records = [job_record(info, "ray", sid) for sid, info in infos.items()]
        journal = self.journal
        with self._lock:
            if full:
                self._read = now
            for record in records:
                sid = record.submission_id
                self._submitted.discard(sid)
                # A full read only adds jobs: the per-call reads keep known ones current.
                if sid not in tombstones and not (full and sid in index):
                    index.put(record)
            if ids is not None:
                for sid in known - set(ids):
                    if journal is None or sid not in journal:
                        index.drop(sid)
            for sid in tombstones:
                index.drop(sid)
        for record in records:
            if record.submission_id in tombstones:
                self.rebury(record.submission_id, record.status in TERMINAL_STATUSES)
            elif journal is not None and record.submission_id in journal:
                journal.observe(record)
        if journal is not None and ids is not None:
            kept = [r for r in journal.lost(set(ids)) if r.submission_id not in tombstones]
            with self._lock:
                for record in kept:
                    index.put(record)
