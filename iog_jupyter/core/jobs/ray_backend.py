"""Jobs through Ray's job manager: ``JobSubmissionClient`` on the loopback dashboard, with token.

Deleted jobs stay deleted (DESIGN §5): on Ray 2.60 a job deleted right after it ended can be
written back as FAILED ~1.5 s later, when its supervisor's death is recorded. ``delete()`` waits
until ``settle_s`` after the job's end and deletes it again if it came back; deleted ids are also
kept as tombstones in Ray's KV store (``tombstones``, ``tombstone_ttl_s``), so every Jupyter
server on the cluster hides them and re-deletes them when Ray writes them back later. A new
submit with the same id lifts the tombstone. ``list()`` is served from an index of Ray's job
table (``ray_table``); Ray's errors are mapped to iog's by ``ray_client``; driver logs are
found by ``driver_logs``.

Jobs submitted here are also kept in a :class:`~.journal.JobJournal` (when one is given), so
they outlive a head restart (which makes Ray forget every job).

Stopping a job whose supervisor actor was never placed (it waits for resources the cluster does
not have) is done by :func:`_ray_compat.stop_unstarted_job`: Ray's own ``stop_job`` cannot reach
such a job, which would stay PENDING for Ray's 15-minute start timeout.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from .. import _ray_compat
from ..cluster import PoolConfig, build_snapshot, fetch_cluster_status
from ..connection import RayConnection
from ..errors import ConflictError, IogError, NotFoundError, RayUnavailableError, ValidationError
from ..wire import ClusterSnapshot, JobPage, JobRecord, LogPage
from .base import OWNER_KEY, REQUEST_KEY, JobBackend, JobSubmission, check_deletable, no_job
from .driver_logs import DriverLogs
from .journal import JobJournal
from .logfiles import check_page_args, page_from_bytes
from .placement import explain_pending, job_bundle, pool_placement
from .ray_client import RayJobClient, job_record, ray_words
from .ray_table import JobTable
from .tombstones import Tombstones
from .validation import redact_runtime_env

log = logging.getLogger(__name__)
_UNSTARTED_STOP_MESSAGE = (
    "Stopped before it started: it was still waiting for the resources it asked for."
)


class RayJobsBackend(JobBackend):
    """Ray's job manager behind the :class:`JobBackend` contract.

    Args:
        conn: The connection to the head node (dashboard URL and token).
        pool_config: How pools are named, for ``pool`` placement and ``pending_reason``.
        settle_s: How long after a job's end ``delete()`` watches for Ray writing it back.
        tombstone_ttl_s: How long deleted ids stay hidden and re-deleted if they reappear.
        snapshot_source: The server monitor's latest cluster snapshot, used for ``pool``
            placement and ``pending_reason`` when younger than ``snapshot_max_age_s`` (polls of
            a PENDING job then cost no extra GCS call); None fetches one each time.
        snapshot_max_age_s: How old a snapshot from ``snapshot_source`` may be.
        tombstone_refresh_s: How often the tombstones other servers wrote are read again.
        journal: Where the jobs submitted through this backend are recorded durably.
        table_refresh_s: How often ``list()`` reads the whole id list of Ray's job table (jobs
            submitted elsewhere show within this; jobs that have not ended are read each time).
    """

    name = "ray"

    def __init__(
        self,
        conn: RayConnection,
        pool_config: PoolConfig | None = None,
        settle_s: float = 4.0,
        tombstone_ttl_s: float = 600.0,
        snapshot_source: Callable[[], ClusterSnapshot | None] | None = None,
        snapshot_max_age_s: float = 5.0,
        tombstone_refresh_s: float = 2.0,
        journal: JobJournal | None = None,
        table_refresh_s: float = 1.0,
    ) -> None:
        self.conn = conn
        self.journal = journal
        self.snapshot_source = snapshot_source
        self.snapshot_max_age_s = snapshot_max_age_s
        self.pool_config = pool_config or PoolConfig()
        self.settle_s = settle_s
        self._call = RayJobClient(conn)
        self._tombstones = Tombstones(conn, tombstone_ttl_s, tombstone_refresh_s)
        self._table = JobTable(conn, self._tombstones, journal, self._rebury, table_refresh_s)
        self._logs = DriverLogs(conn, journal)

    def _snapshot(self) -> ClusterSnapshot:
        latest = self.snapshot_source() if self.snapshot_source is not None else None
        if (
            latest is not None
            and time.time() - latest.timestamp_ms / 1000 <= self.snapshot_max_age_s
        ):
            return latest
        return build_snapshot(fetch_cluster_status(self.conn), pool_config=self.pool_config)

    def _explain(self, records: list[JobRecord]) -> None:
        pending = [r for r in records if r.status == "PENDING"]
        if not pending:
            return
        try:
            snapshot = self._snapshot()
        except RayUnavailableError as err:
            log.debug("No pending reason: %s", err.message)
            return
        prefix = self.pool_config.resource_prefix
        for record in pending:
            resources = record.entrypoint_resources
            own = {k: v for k, v in resources.items() if not (prefix and k.startswith(prefix))}
            cpus, gpus = record.entrypoint_num_cpus, record.entrypoint_num_gpus
            bundle = job_bundle(cpus, gpus, record.entrypoint_memory, own)
            record.pending_reason = explain_pending(snapshot, bundle, record.pool)

    def _rebury(self, submission_id: str, ended: bool) -> None:
        """Ray wrote a deleted job back: delete it again (once it has ``ended``)."""
        if not ended:
            return
        log.info("Ray wrote deleted job %s back; deleting it again", submission_id)
        try:
            self._call(lambda c: c.delete_job(submission_id))
        except IogError as err:  # NotFoundError included: gone already
            log.debug("Re-delete of %s: %s", submission_id, err.message)

    # -- the contract ---------------------------------------------------------------------

    def submit(self, submission: JobSubmission) -> str:
        """Start a job on Ray (see :meth:`JobBackend.submit`); a pool with no node is refused."""
        placement: dict[str, Any] = {}  # a label selector, or the pool's resource
        if submission.pool:
            placement = pool_placement(
                self._snapshot(),
                self.pool_config,
                submission.pool,
                _ray_compat.capabilities().job_label_selector,
            )
        resources = {**submission.entrypoint_resources, **placement.pop("entrypoint_resources", {})}
        request = {
            "num_cpus": submission.entrypoint_num_cpus,
            "num_gpus": submission.entrypoint_num_gpus,
            "memory": submission.entrypoint_memory,
            "resources": submission.entrypoint_resources,
        }
        metadata = {**submission.metadata, REQUEST_KEY: json.dumps(request, separators=(",", ":"))}
        sid = submission.submission_id
        self._tombstones.unbury(sid)
        try:
            submitted = self._call(
                lambda c: c.submit_job(
                    entrypoint=submission.entrypoint,
                    submission_id=sid,
                    runtime_env=submission.runtime_env or None,
                    metadata=metadata,
                    entrypoint_num_cpus=submission.entrypoint_num_cpus,
                    entrypoint_num_gpus=submission.entrypoint_num_gpus,
                    entrypoint_memory=submission.entrypoint_memory,
                    entrypoint_resources=resources or None,
                    **placement,
                )
            )
        except ConflictError:
            raise ConflictError(f"A job with submission_id {sid!r} already exists.") from None
        except (ValueError, TypeError) as err:  # Ray's client-side runtime_env checks
            raise ValidationError(f"Ray refused the job: {ray_words(str(err))}") from None
        if self.journal is not None:  # the submission's own fields, as Ray will report them
            fields = dataclasses.asdict(submission)
            fields.update(
                submission_id=submitted,
                status="PENDING",
                owner=submission.metadata.get(OWNER_KEY),
                runtime_env=redact_runtime_env(submission.runtime_env),
                start_time_ms=int(time.time() * 1000),
                backend=self.name,
            )
            self.journal.observe(JobRecord(**fields))
        self._table.submitted(submitted)
        return submitted

    def _info(self, submission_id: str) -> Any:
        info = self._call(lambda c: c.get_job_info(submission_id))
        if submission_id in self._tombstones:
            self._rebury(submission_id, info is not None and info.status.is_terminal())
            raise no_job(submission_id)
        return info

    def _journaled(self, submission_id: str) -> JobRecord:
        """The journal's record of a job Ray does not know (marked lost when it was unfinished).

        Raises:
            NotFoundError: The journal has no such job either.
        """
        journal, record = self.journal, None
        if journal is not None and submission_id in journal:
            journal.lost(set(journal.ids()) - {submission_id})  # only this one may be lost
            record = journal.get(submission_id)
        if record is None:
            raise no_job(submission_id)
        return record

    def get(self, submission_id: str) -> JobRecord:
        """One job (see :meth:`JobBackend.get`); from the journal when Ray lost it."""
        try:
            record = job_record(self._info(submission_id), self.name)
        except NotFoundError:
            return self._journaled(submission_id)
        if self.journal is not None and submission_id in self.journal:
            self.journal.observe(record)
        self._explain([record])
        return record

    def list(
        self, statuses: frozenset[str] | None = None, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        """A page of submitted jobs, newest first (plain drivers, not submissions, left out).

        Served from an index of Ray's job table (``ray_table``), so a page costs the same at 100
        jobs and at 10,000. List records carry no ``driver_pid`` (``get`` has it).
        """
        stale = self._table.sync()
        page = self._table.page(statuses, limit, cursor)
        self._explain(page.jobs)
        if stale:
            self._table.refresh_in_background()
        return page

    def stop(self, submission_id: str) -> bool:
        """Ask Ray to stop the job; False when it had already ended.

        A PENDING job whose supervisor was never placed is stopped at once (module docstring).
        """
        try:
            info = self._info(submission_id)
        except NotFoundError:
            self._journaled(submission_id)
            return False  # Ray lost it: nothing of it runs under Ray any more
        if info.status.is_terminal():
            return False
        if info.status.value == "PENDING":
            conn = self.conn
            conn.prepare_ray_client()
            try:
                message, timeout_s = _UNSTARTED_STOP_MESSAGE, conn.request_timeout_s
                if _ray_compat.stop_unstarted_job(conn.address, submission_id, message, timeout_s):
                    return True
            except Exception as err:  # noqa: BLE001 - fall back to Ray's own stop below
                log.warning("Stopping unstarted job %s: %s", submission_id, err)
        self._call(lambda c: c.stop_job(submission_id))
        return True

    def delete(self, submission_id: str) -> None:
        """Delete a terminal job and its driver log, for good (see the module docstring)."""
        try:
            info = self._info(submission_id)
        except NotFoundError:
            self._journaled(submission_id)  # ended or lost: deletable
            self._logs.forget(submission_id)
            return
        check_deletable(submission_id, info.status.value)
        path = self.log_path(submission_id)
        self._call(lambda c: c.delete_job(submission_id))
        self._tombstones.bury(submission_id)
        settle_until = (info.end_time or 0) / 1000 + self.settle_s
        while time.time() < settle_until:
            time.sleep(0.25)
            try:
                again = self._call(lambda c: c.get_job_info(submission_id))
            except NotFoundError:
                continue
            self._rebury(submission_id, again is not None and again.status.is_terminal())
        self._logs.forget(submission_id, path)

    def log_path(self, submission_id: str) -> str | None:
        """The driver log on this machine, if it is here (see ``driver_logs``)."""
        return self._logs.path(submission_id)

    def read_logs(self, submission_id: str, offset: int = 0, limit_bytes: int = 65536) -> LogPage:
        """A byte-offset page of the driver log: the local file, else Ray's log API."""
        limit_bytes = check_page_args(offset, limit_bytes)
        try:
            terminal = self._info(submission_id).status.is_terminal()
        except NotFoundError:
            self._journaled(submission_id)
            page = self.follow_page(submission_id, offset, limit_bytes, True)
            if page is None:
                raise NotFoundError(
                    f"Ray lost job {submission_id[:64]!r} with its head, and its log is not on "
                    "this machine."
                ) from None
            return page
        page = self.follow_page(submission_id, offset, limit_bytes, terminal)
        if page is not None:
            return page
        data = self._call(lambda c: c.get_job_logs(submission_id)).encode()
        chunk = data[offset : offset + limit_bytes]
        return page_from_bytes(
            submission_id, chunk, offset, offset + len(chunk) >= len(data), terminal
        )

    def close(self) -> None:
        """Drop the client and close the journal (the connection is the caller's to close)."""
        self._call.reset()
        if self.journal is not None:
            self.journal.close()
