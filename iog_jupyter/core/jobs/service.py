"""The one job service: submit, list, get, stop, delete and follow jobs, composed once.

:class:`JobService` puts in front of a :class:`~.base.JobBackend` what every surface needs:
validation and quotas before a submit, id checks, and :class:`LogFollower`, a live follow of a
log from a byte offset. The REST handlers, the log websocket, the widgets, the CLI's local mode
and :class:`~iog_jupyter.core.stages.Stage` all call it.

:class:`JobsAPI` is the small protocol both ``JobService`` (jobs in this process) and
``IogClient.jobs`` (jobs through a Jupyter server) satisfy, so :func:`follow_logs`, the
follow-to-the-end composition, serves every surface in both modes.
"""

from __future__ import annotations

import getpass
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import IogError, RayUnavailableError, ValidationError
from ..security.quotas import count_active_jobs
from ..wire import STATUSES, JobPage, JobRecord, LogPage
from .base import OWNER_KEY, JobBackend, JobSubmission
from .logfiles import check_page_args
from .validation import check_submission_id, validate_submission

if TYPE_CHECKING:
    from ..cluster import PoolConfig
    from ..connection import RayConnection
    from ..security.quotas import Quotas
    from .packages import PackageStore

#: How often a follower at the end of the log asks whether the job has ended.
STATUS_INTERVAL_S = 0.25
#: How often a follower without a cheap read (``follow_page``) asks for a new page.
PAGE_POLL_INTERVAL_S = 0.25


def parse_statuses(raw: str | None) -> frozenset[str] | None:
    """The statuses of a ``status=RUNNING,PENDING`` filter (None for no filter).

    Raises:
        ValidationError: A status Ray does not have.
    """
    wanted = {part.strip().upper() for part in (raw or "").split(",") if part.strip()}
    unknown = sorted(wanted - set(STATUSES))
    if unknown:
        raise ValidationError(
            f"Unknown job status {unknown[0][:40]!r}; use one or more of "
            f"{', '.join(STATUSES)} (comma-separated)."
        )
    return frozenset(wanted) or None


class JobsAPI(Protocol):
    """What a surface does with jobs: here (:class:`JobService`) or on a server (``.jobs``).

    Through a server it is ``IogClient.jobs``, and errors are ``IogClientError``, not ``IogError``.
    """

    def submit(self, body: dict[str, Any]) -> str:
        """Validate and submit a ``POST jobs`` body; returns the submission id."""

    def list(
        self, statuses: frozenset[str] | None = None, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        """A page of jobs, newest first."""

    def get(self, submission_id: str) -> JobRecord:
        """One job."""

    def stop(self, submission_id: str) -> bool:
        """Ask the job to stop; False when it had already ended."""

    def delete(self, submission_id: str) -> None:
        """Delete an ended job's record and log."""

    def logs(self, submission_id: str, offset: int = 0, limit_bytes: int | None = None) -> LogPage:
        """A byte-offset page of the log."""

    def follow(
        self, submission_id: str, offset: int = 0, stop: threading.Event | None = None
    ) -> Iterator[LogPage]:
        """The log's new bytes from ``offset``, page by page, until the job has ended (or stop)."""

    def close(self) -> None:
        """Release what the API holds."""


class LogFollower:
    """One live follow of a job's log from a byte offset; its caller does the waiting.

    :meth:`step` does one blocking round and says what came of it, so a thread (sleeping
    between rounds) and the websocket handler (awaiting between rounds) share this logic. Pages
    are contiguous from ``offset``: a follower started at a page's ``next_offset`` resumes with
    no loss and no duplicate. The backend's cheap :meth:`~.base.JobBackend.follow_page` (a local
    log file) is read every ``log_poll_s``; without it, :meth:`~.base.JobBackend.read_logs` is
    polled every :data:`PAGE_POLL_INTERVAL_S`.

    Attributes:
        offset: The next byte to read.
        record: The job's final record, once it has ended and its whole log was read.
    """

    def __init__(self, jobs: JobService, submission_id: str, offset: int = 0) -> None:
        check_page_args(offset, jobs.log_chunk_bytes)
        self.jobs, self.offset = jobs, offset
        self.submission_id = check_submission_id(submission_id)
        self.record: JobRecord | None = None
        self._cheap = True  # follow_page answered last time
        self._last_page = self._last_status = float("-inf")

    def step(self) -> LogPage | float | None:
        """One round (blocking): a page of new bytes, else seconds to wait, else None at the end.

        Raises:
            NotFoundError: The job is gone (deleted while followed).
        """
        backend, sid, now = self.jobs.backend, self.submission_id, time.monotonic()
        chunk, ended = self.jobs.log_chunk_bytes, self.record is not None
        due = ended or now - self._last_page >= PAGE_POLL_INTERVAL_S
        page = None
        if self._cheap or due:
            page = backend.follow_page(sid, self.offset, chunk, ended)
            self._cheap = page is not None
        if page is None and due:
            self._last_page = now
            page = backend.read_logs(sid, self.offset, chunk)
        if page is not None and page.next_offset > self.offset:
            self.offset = page.next_offset
            return page
        if ended:
            return None
        if now - self._last_status >= STATUS_INTERVAL_S:
            self._last_status = now
            try:
                record = backend.get(sid)
            except RayUnavailableError:
                record = None  # keep following the file; ask again later
            if record is not None and record.is_terminal:
                self.record = record
                return 0.0  # read once more: bytes written before the end come first
        return self.jobs.log_poll_s


@dataclass
class JobService:
    """Jobs on one backend, with the checks every surface applies (module docstring).

    Attributes:
        backend: The jobs backend.
        working_dir_roots: Directories a ``working_dir`` may be under.
        package_store: The store whose ``iog-package://`` URIs a submit may name; None: none.
        quotas: Per-user quotas checked before a submit; None: none.
        owner: The owner of a submit that names none (default: this OS user).
        log_chunk_bytes: Most bytes one followed page carries.
        log_poll_s: Seconds between two cheap reads of a followed log.
    """

    backend: JobBackend
    working_dir_roots: Sequence[str] = ()
    package_store: PackageStore | None = None
    quotas: Quotas | None = None
    owner: str | None = None
    log_chunk_bytes: int = 64 * 1024
    log_poll_s: float = 0.05
    #: Closed with the service (a connection :meth:`open` made).
    conn: RayConnection | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        preferred: str = "auto",
        conn: RayConnection | None = None,
        pool_config: PoolConfig | None = None,
        **fields: Any,
    ) -> JobService:
        """A service on the backend ``select_backend`` picks (``preferred``), default state dir.

        ``conn`` is closed with the service; None connects as the environment says, or runs the
        local backend without Ray when that fails. ``pool_config`` names pools for the Ray
        backend's placement. ``fields`` are more :class:`JobService` fields.
        """
        from ..connection import RayConnection
        from .selection import default_state_dir, select_backend

        if conn is None:
            try:
                conn = RayConnection()
            except IogError:
                conn = None
        try:
            backend = select_backend(conn, preferred, default_state_dir(), pool_config=pool_config)
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return cls(backend, conn=conn, **fields)

    def validate(self, body: dict[str, Any], owner: str | None = None) -> JobSubmission:
        """Check a ``POST jobs`` body (``validate_submission``: ``ValidationError`` if bad)."""
        return validate_submission(
            body,
            owner if owner is not None else self.owner or getpass.getuser(),
            self.working_dir_roots,
            self.package_store,
        )

    def submit(self, request: dict[str, Any] | JobSubmission, owner: str | None = None) -> str:
        """Validate a body, check the quotas (``QuotaExceededError``) and submit; returns the id."""
        valid = request if isinstance(request, JobSubmission) else self.validate(request, owner)
        if self.quotas is not None:
            user = valid.metadata[OWNER_KEY]
            self.quotas.check_submit(user, lambda: count_active_jobs(self.backend, user))
        return self.backend.submit(valid)

    def list(
        self, statuses: frozenset[str] | None = None, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        """A page of jobs, newest first, optionally only those in ``statuses``."""
        return self.backend.list(statuses, limit, cursor)

    def get(self, submission_id: str) -> JobRecord:
        """One job (``pending_reason`` filled while it is PENDING)."""
        return self.backend.get(check_submission_id(submission_id))

    def stop(self, submission_id: str) -> bool:
        """Ask the job to stop; False when it had already ended."""
        return self.backend.stop(check_submission_id(submission_id))

    def delete(self, submission_id: str) -> None:
        """Delete an ended job's record and log; ``ConflictError`` while it runs."""
        self.backend.delete(check_submission_id(submission_id))

    def logs(self, submission_id: str, offset: int = 0, limit_bytes: int | None = None) -> LogPage:
        """A byte-offset page of the job's log."""
        limit = limit_bytes or self.log_chunk_bytes
        return self.backend.read_logs(check_submission_id(submission_id), offset, limit)

    def follow(
        self, submission_id: str, offset: int = 0, stop: threading.Event | None = None
    ) -> Iterator[LogPage]:
        """Yield the log's new bytes from ``offset`` until the job has ended (or ``stop`` is set).

        Raises:
            NotFoundError: No such job, or it was deleted while followed.
        """
        follower = LogFollower(self, submission_id, offset)
        stop = stop or threading.Event()
        while not stop.is_set():
            got = follower.step()
            if got is None:
                return
            if isinstance(got, LogPage):
                yield got
            else:
                stop.wait(got)

    def close(self) -> None:
        """Close the backend (and the connection :meth:`open` made)."""
        self.backend.close()
        if self.conn is not None:
            self.conn.close()


def follow_logs(
    api: JobsAPI,
    submission_id: str,
    offset: int = 0,
    on_page: Callable[[LogPage], Any] | None = None,
    *,
    stop: threading.Event | None = None,
    stop_job_on_interrupt: bool = False,
) -> JobRecord | None:
    """Hand each page of the log from ``offset`` to ``on_page`` until the job ends.

    ``offset`` may be a previous page's ``next_offset`` (a resume); ``stop``, set from another
    thread, ends the follow early (then None is returned, else the job's final record). On
    Ctrl-C (``KeyboardInterrupt``) the job runs on, unless ``stop_job_on_interrupt``.
    """
    try:
        for page in api.follow(submission_id, offset, stop):
            if on_page is not None:
                on_page(page)
    except KeyboardInterrupt:
        if stop_job_on_interrupt:
            api.stop(submission_id)
        raise
    if stop is not None and stop.is_set():
        return None
    return api.get(submission_id)
