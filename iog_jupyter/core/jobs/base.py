"""The jobs contract: the ``JobBackend`` interface both backends implement (models: ``wire``)."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConflictError, NotFoundError
from ..wire import TERMINAL_STATUSES, JobPage, JobRecord, LogPage
from ..wire.jobs import OWNER_KEY as OWNER_KEY
from .logfiles import read_file_page

#: Metadata keys the server sets itself (and ``OWNER_KEY``); a client can never set them.
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


#: Where to look for the jobs that exist: said by every "no such job" error.
JOBS_HINT = "`iog jobs list` (or GET jobs) shows the jobs."


def no_job(submission_id: str) -> NotFoundError:
    """The error for an id no job has: it names the id (quoted, truncated) and where to look."""
    return NotFoundError(f"No job has the id {submission_id[:64]!r}. {JOBS_HINT}")


def check_deletable(submission_id: str, status: str) -> None:
    """Refuse (``ConflictError``) to delete a job that has not ended."""
    if status not in TERMINAL_STATUSES:
        raise ConflictError(
            f"Job {submission_id!r} is {status}; stop it and wait for it to end before deleting it."
        )


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
        path = self.log_path(submission_id)
        if path is None:
            return None
        return read_file_page(path, submission_id, offset, limit_bytes, ended)

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release connections, files and threads."""
