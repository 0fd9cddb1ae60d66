"""The jobs contract: wire models and the ``JobBackend`` interface both backends implement."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from ..models import iso_from_ms

#: Ray's job statuses (``ray.job_submission.JobStatus``), in Ray's words.
STATUSES = ("PENDING", "RUNNING", "STOPPED", "SUCCEEDED", "FAILED")
TERMINAL_STATUSES = frozenset({"STOPPED", "SUCCEEDED", "FAILED"})

#: Metadata keys the server sets itself; a client can never set them.
OWNER_KEY = "iog.owner"
POOL_KEY = "iog.pool"
#: Where the Ray backend keeps the entrypoint's resource request (Ray's job list drops it).
REQUEST_KEY = "iog.request"


@dataclass
class JobSubmission:
    """A validated submit request (see ``validation.validate_submission``).

    ``metadata`` already carries the server-set owner; ``runtime_env`` passed the allowlist.
    """

    entrypoint: str
    submission_id: str
    runtime_env: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    entrypoint_num_cpus: float | None = None
    entrypoint_num_gpus: float | None = None
    entrypoint_memory: int | None = None
    entrypoint_resources: dict[str, float] = field(default_factory=dict)
    pool: str | None = None


@dataclass
class JobRecord:
    """One job as every surface shows it. ``runtime_env`` env var values are always redacted."""

    submission_id: str
    status: str
    entrypoint: str
    message: str | None = None
    owner: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    runtime_env: dict[str, Any] = field(default_factory=dict)
    start_time_ms: int | None = None
    end_time_ms: int | None = None
    exit_code: int | None = None
    driver_pid: int | None = None
    pool: str | None = None
    entrypoint_num_cpus: float | None = None
    entrypoint_num_gpus: float | None = None
    entrypoint_memory: int | None = None
    entrypoint_resources: dict[str, float] = field(default_factory=dict)
    pending_reason: str | None = None
    backend: str = ""

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended (STOPPED, SUCCEEDED or FAILED)."""
        return self.status in TERMINAL_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (ISO times beside the ``*_ms`` fields)."""
        return {
            "submission_id": self.submission_id,
            "status": self.status,
            "entrypoint": self.entrypoint,
            "message": self.message,
            "owner": self.owner,
            "metadata": self.metadata,
            "runtime_env": self.runtime_env,
            "start_time": iso_from_ms(self.start_time_ms) if self.start_time_ms else None,
            "start_time_ms": self.start_time_ms,
            "end_time": iso_from_ms(self.end_time_ms) if self.end_time_ms else None,
            "end_time_ms": self.end_time_ms,
            "exit_code": self.exit_code,
            "driver_pid": self.driver_pid,
            "pool": self.pool,
            "entrypoint_num_cpus": self.entrypoint_num_cpus,
            "entrypoint_num_gpus": self.entrypoint_num_gpus,
            "entrypoint_memory": self.entrypoint_memory,
            "entrypoint_resources": self.entrypoint_resources,
            "pending_reason": self.pending_reason,
            "backend": self.backend,
        }


@dataclass
class JobPage:
    """One page of the job list, newest first, with an opaque cursor for the next page."""

    jobs: list[JobRecord]
    next_cursor: str | None
    total: int

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "jobs": [job.to_dict() for job in self.jobs],
            "next_cursor": self.next_cursor,
            "total": self.total,
        }


@dataclass
class LogPage:
    """A byte-offset page of a job's log: ``text`` covers ``[offset, next_offset)``.

    ``eof`` is true when ``next_offset`` is the current end of the log *and* the job has ended,
    so no more bytes will ever come. Text is decoded as UTF-8 with replacement; offsets always
    count bytes, and a page never ends inside a multi-byte character.
    """

    submission_id: str
    text: str
    offset: int
    next_offset: int
    eof: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "submission_id": self.submission_id,
            "text": self.text,
            "offset": self.offset,
            "next_offset": self.next_offset,
            "eof": self.eof,
        }


class JobBackend(abc.ABC):
    """What a jobs backend does. Every method blocks; handlers call them off the event loop.

    Errors: ``NotFoundError`` for an unknown id, ``ConflictError`` for a duplicate id or a
    delete of a running job, ``ValidationError`` for input the backend itself refuses,
    ``RayUnavailableError`` when the backend cannot reach what it drives.
    """

    #: ``"ray"`` or ``"local"``, shown by ``GET status`` and ``doctor``.
    name: str = ""

    @abc.abstractmethod
    def submit(self, submission: JobSubmission) -> str:
        """Start a job; returns its submission id."""

    @abc.abstractmethod
    def get(self, submission_id: str) -> JobRecord:
        """One job, with ``pending_reason`` filled while it is PENDING."""

    @abc.abstractmethod
    def list(
        self, statuses: frozenset[str] | None = None, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        """A page of jobs, newest first, optionally only those in ``statuses``."""

    @abc.abstractmethod
    def stop(self, submission_id: str) -> bool:
        """Ask the job to stop; False when it had already ended (idempotent)."""

    @abc.abstractmethod
    def delete(self, submission_id: str) -> None:
        """Remove a terminal job's record and logs for good; ``ConflictError`` while running."""

    @abc.abstractmethod
    def read_logs(self, submission_id: str, offset: int = 0, limit_bytes: int = 65536) -> LogPage:
        """A byte-offset page of the job's log."""

    def log_path(self, submission_id: str) -> str | None:
        """The log file on this machine, when the backend has one (see :meth:`follow_page`)."""
        return None

    def follow_page(
        self, submission_id: str, offset: int, limit_bytes: int, ended: bool
    ) -> LogPage | None:
        """A cheap page for a live follower: no status call; None when there is no cheap read.

        The default reads :meth:`log_path`'s file, so a follower (``service.LogFollower``) can
        poll it every few tens of milliseconds; without one it polls :meth:`read_logs`, slower.
        ``ended`` says the job had ended before the call (the file's end is then eof).
        """
        from .logfiles import read_file_page

        path = self.log_path(submission_id)
        if path is None:
            return None
        return read_file_page(path, submission_id, offset, limit_bytes, ended)

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release connections, files and threads."""
