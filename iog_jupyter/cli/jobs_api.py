"""The two ways ``iog jobs`` reaches jobs: a Jupyter server's REST API, or the backend directly.

Both return the wire JSON (of ``JobRecord``, ``JobPage`` and ``LogPage``)
so the commands print the same thing in either mode. Local mode runs as the local user: the owner
recorded on a job is :func:`getpass.getuser`, and any directory the user names may be a
``working_dir``.
"""

from __future__ import annotations

import getpass
import io
import os
import time
import zipfile
from collections.abc import Iterator
from typing import Any

from ..client import IogClient
from ..core.errors import IogError, RayUnavailableError, ValidationError
from ..core.jobs.base import JobBackend
from ..core.jobs.selection import default_state_dir, select_backend
from ..core.jobs.validation import validate_submission
from .errors import EXIT_ERROR, EXIT_UNAVAILABLE, EXIT_USAGE, CliError
from .status import local_connection

#: Directories never packed into a ``working_dir`` upload.
SKIPPED_DIRS = frozenset({".git", "__pycache__", ".ipynb_checkpoints", ".venv"})
#: How often local mode polls a log it follows.
POLL_S = 0.3


def zip_directory(directory: str) -> bytes:
    """A zip (in memory) of the regular files under ``directory``; symlinks are left out.

    Raises:
        CliError: ``directory`` is not a directory (exit 2).
    """
    if not os.path.isdir(directory):
        raise CliError(f"--working-dir {directory!r} is not a directory.", EXIT_USAGE)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, files in os.walk(directory):
            dirs[:] = sorted(
                d
                for d in dirs
                if d not in SKIPPED_DIRS and not os.path.islink(os.path.join(root, d))
            )
            for name in sorted(files):
                path = os.path.join(root, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                archive.write(path, os.path.relpath(path, directory))
    return buffer.getvalue()


class RemoteJobs:
    """Jobs through a Jupyter server (``IogClient``); errors are ``IogClientError``."""

    def __init__(self, client: IogClient) -> None:
        self.client = client

    def submit(self, body: dict[str, Any], working_dir: str | None) -> str:
        """Upload ``working_dir`` (when given) as a package, then submit; returns the id."""
        if working_dir is not None:
            uri = self.client.upload_package(zip_directory(working_dir))["uri"]
            body.setdefault("runtime_env", {})["working_dir"] = uri
        return str(self.client.submit_job(body)["submission_id"])

    def list(self, status: str | None, limit: int | None, cursor: str | None) -> dict[str, Any]:
        """One page of jobs."""
        return self.client.list_jobs(status, limit, cursor)

    def get(self, submission_id: str) -> dict[str, Any]:
        """One job."""
        return self.client.get_job(submission_id)

    def stop(self, submission_id: str) -> dict[str, Any]:
        """Stop a job: ``{submission_id, stopped}``."""
        return self.client.stop_job(submission_id)

    def delete(self, submission_id: str) -> dict[str, Any]:
        """Delete an ended job."""
        return self.client.delete_job(submission_id)

    def logs(self, submission_id: str, offset: int) -> dict[str, Any]:
        """One page of the log from ``offset``."""
        return self.client.get_job_logs(submission_id, offset)

    def tail(self, submission_id: str, offset: int) -> Iterator[dict[str, Any]]:
        """The live log (websocket): ``log`` messages, then ``status`` or ``error``."""
        return self.client.tail_job_logs(submission_id, offset)

    def close(self) -> None:
        """Release the HTTP session."""
        self.client.close()


def _cli_error(err: IogError) -> CliError:
    if isinstance(err, ValidationError):
        return CliError(err.message, EXIT_USAGE)
    if isinstance(err, RayUnavailableError):
        return CliError(err.message, EXIT_UNAVAILABLE)
    return CliError(err.message, EXIT_ERROR)


class LocalJobs:
    """Jobs through the backend in this process (Ray's job manager, or local processes).

    Args:
        preferred: ``auto``, ``ray`` or ``local`` (see ``select_backend``).
    """

    def __init__(self, preferred: str = "auto") -> None:
        self.conn = local_connection()
        try:
            self.backend: JobBackend = select_backend(
                self.conn, preferred, state_dir=default_state_dir()
            )
        except IogError as err:
            self.conn.close()
            raise _cli_error(err) from None

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except IogError as err:
            raise _cli_error(err) from None

    def submit(self, body: dict[str, Any], working_dir: str | None) -> str:
        """Validate (owner = the local user) and submit; returns the id."""
        roots: list[str] = []
        if working_dir is not None:
            if not os.path.isdir(working_dir):
                raise CliError(f"--working-dir {working_dir!r} is not a directory.", EXIT_USAGE)
            real = os.path.realpath(working_dir)
            body.setdefault("runtime_env", {})["working_dir"] = real
            roots.append(real)
        submission = self._call(validate_submission, body, getpass.getuser(), None, roots, None)
        return str(self._call(self.backend.submit, submission))

    def list(self, status: str | None, limit: int | None, cursor: str | None) -> dict[str, Any]:
        """One page of jobs."""
        statuses = frozenset(s.strip().upper() for s in status.split(",")) if status else None
        return self._call(self.backend.list, statuses, limit or 50, cursor).model_dump(mode="json")

    def get(self, submission_id: str) -> dict[str, Any]:
        """One job."""
        return self._call(self.backend.get, submission_id).model_dump(mode="json")

    def stop(self, submission_id: str) -> dict[str, Any]:
        """Stop a job: ``{submission_id, stopped}``."""
        stopped = self._call(self.backend.stop, submission_id)
        return {"submission_id": submission_id, "stopped": bool(stopped)}

    def delete(self, submission_id: str) -> dict[str, Any]:
        """Delete an ended job."""
        self._call(self.backend.delete, submission_id)
        return {"submission_id": submission_id, "deleted": True}

    def logs(self, submission_id: str, offset: int) -> dict[str, Any]:
        """One page of the log from ``offset``."""
        return self._call(self.backend.read_logs, submission_id, offset).model_dump(mode="json")

    def tail(self, submission_id: str, offset: int) -> Iterator[dict[str, Any]]:
        """Poll the log until it ends, in the websocket's message shapes."""
        while True:
            page = self.logs(submission_id, offset)
            if page["next_offset"] > offset:
                yield {"type": "log", **page}
                offset = page["next_offset"]
                continue
            if page["eof"]:
                job = self.get(submission_id)
                yield {"type": "status", **job}
                return
            time.sleep(POLL_S)

    def close(self) -> None:
        """Release the backend and the Ray connection."""
        self.backend.close()
        self.conn.close()
