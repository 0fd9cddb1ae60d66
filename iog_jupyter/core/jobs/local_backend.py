"""Jobs as local process groups on the head node, for clusters with Ray's Jobs API switched off.

Each job is supervised by a detached ``local_runner.py`` (a session of its own), so it keeps
running when the Jupyter server restarts, and its exit code is still recorded. Records live in
``<state_dir>/jobs.sqlite`` (WAL), logs in ``<state_dir>/logs/<id>.log``, and each job runs in
``<state_dir>/work/<id>/`` (a copy of its ``working_dir``, as Ray snapshots one).

The entrypoint runs through ``bash -c``, like Ray's. Its environment is the server's, minus
secrets (Ray's token *value*, Jupyter tokens), plus ``RAY_ADDRESS``, ``RAY_AUTH_MODE`` and
``RAY_AUTH_TOKEN_PATH`` so it can be a Ray driver, plus ``runtime_env.env_vars`` — which are
handed to the runner's process only and never written to disk. Only ``env_vars``,
``working_dir`` and ``excludes`` are supported; ``excludes`` leave files out of the copy as Ray
leaves them out of its upload, but ``.gitignore``/``.rayignore`` files and the folders newer Rays
leave out by default (``.git``, ``.venv``, ``__pycache__``…) are copied. ``entrypoint_num_*``,
``entrypoint_resources`` and ``pool`` are recorded, not enforced: the entrypoint is a driver on
the head node, and the Ray work it starts is what claims cluster resources.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pathspec

from .. import _ray_compat
from ..connection import RayConnection
from ..db import Database
from ..errors import ConflictError, ValidationError
from ..wire import JobPage, JobRecord, LogPage
from . import local_runner
from .base import OWNER_KEY, JobBackend, JobSubmission, check_deletable, no_job
from .logfiles import check_page_args, read_file_page
from .paging import check_list_args, decode_cursor, encode_cursor
from .validation import check_submission_id, redact_runtime_env

#: The runtime_env keys the local backend honours, in the order its refusal names them.
SUPPORTED_RUNTIME_ENV = ("env_vars", "working_dir", "excludes")
#: Variables never passed to a job: secret values the server may hold.
SECRET_ENV = ("RAY_AUTH_TOKEN", "IOG_TOKEN", "JUPYTER_TOKEN", "JPY_API_TOKEN")
MAX_WORKING_DIR_BYTES = 512 * 1024 * 1024
MAX_WORKING_DIR_FILES = 20_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    submission_id TEXT PRIMARY KEY, status TEXT NOT NULL, entrypoint TEXT NOT NULL,
    message TEXT, metadata TEXT NOT NULL, runtime_env TEXT NOT NULL, cwd TEXT NOT NULL,
    log_path TEXT NOT NULL, start_time_ms INTEGER, end_time_ms INTEGER, exit_code INTEGER,
    driver_pid INTEGER, runner_pid INTEGER, stop_requested_ms INTEGER, stop_grace_s REAL,
    pool TEXT, entrypoint_num_cpus REAL, entrypoint_num_gpus REAL, entrypoint_memory INTEGER,
    entrypoint_resources TEXT NOT NULL
)
"""
#: Pages are cut in SQL, newest first, along this index: a page costs the same at any size.
_NEWEST_INDEX = (
    "CREATE INDEX IF NOT EXISTS jobs_newest ON jobs(COALESCE(start_time_ms, 0), submission_id)"
)
_NEWEST = "COALESCE(start_time_ms, 0)"


def _alive_runner(pid: int | None) -> bool:
    """Whether ``pid`` is still a running ``local_runner`` (not a zombie, not a reused pid)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"local_runner" in cmdline


def _copy_working_dir(src: str, dest: Path, excludes: list[str]) -> None:
    """Copy working_dir ``src`` to ``dest`` as Ray packs one, less what ``excludes`` matches.

    ``excludes`` are Ray's: gitwildmatch patterns matched against paths relative to ``src``. A
    matched folder is left out whole; a folder is copied for the files it keeps, or when it is
    empty. Symlinks are copied as links. Only what is copied counts towards the size cap.
    """
    spec = pathspec.GitIgnoreSpec.from_lines(excludes)  # validation read every pattern
    kept: set[str] = set()  # paths relative to src: what is copied and the folders it is in
    files = size = 0
    for root, dirs, names in os.walk(src):
        here = Path(root).relative_to(src)
        leaves = [] if dirs or names else [str(here)]  # an empty folder (Ray packs it too)
        dirs[:] = [d for d in dirs if not spec.match_file(str(here / d))]
        # A link to a folder is copied as a link, not walked.
        for name in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = str(here / name)
            if spec.match_file(path):
                continue
            try:
                size += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue  # gone since the walk listed it
            leaves.append(path)
            files += 1
            if files > MAX_WORKING_DIR_FILES or size > MAX_WORKING_DIR_BYTES:
                raise ValidationError(
                    "working_dir is too large for a job (more than 20,000 files or 512 MiB); "
                    "keep data outside it or list it in runtime_env.excludes."
                )
        for path in leaves:
            while path and path not in kept:
                kept.add(path)
                path = os.path.dirname(path)

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if os.path.relpath(os.path.join(folder, n), src) not in kept}

    shutil.copytree(src, dest, symlinks=True, ignore=ignore)


class LocalProcessBackend(JobBackend):
    """Jobs as detached local process groups, with records in SQLite under ``state_dir``.

    Jobs get ``conn``'s address and token path (None runs them bare); a stop sends TERM, then KILL
    after ``stop_grace_s``.
    """

    name = "local"

    def __init__(
        self, state_dir: str, conn: RayConnection | None = None, stop_grace_s: float = 10.0
    ) -> None:
        self.state_dir = Path(state_dir)
        self.conn = conn
        self.stop_grace_s = stop_grace_s
        self._db = Database(self.state_dir / "jobs.sqlite", _SCHEMA, _NEWEST_INDEX)
        for sub in ("logs", "work"):
            (self.state_dir / sub).mkdir(exist_ok=True, mode=0o700)
        self._runners: list[subprocess.Popen[bytes]] = []

    def _row(self, submission_id: str) -> sqlite3.Row:
        rows = self._db("SELECT * FROM jobs WHERE submission_id = ?", (submission_id,))
        if not rows:
            raise no_job(submission_id)
        return self._row(submission_id) if self._mark_vanished(rows[0]) else rows[0]

    def _mark_vanished(self, row: sqlite3.Row) -> bool:
        """Mark a job FAILED when its runner vanished without recording an outcome; if it did."""
        if row["status"] not in ("PENDING", "RUNNING") or _alive_runner(row["runner_pid"]):
            return False
        if row["status"] == "PENDING" and time.time() * 1000 - (row["start_time_ms"] or 0) < 10e3:
            return False  # the runner may still be starting
        self._db(
            "UPDATE jobs SET status = 'FAILED', end_time_ms = ?, message = ? "
            "WHERE submission_id = ? AND status IN ('PENDING', 'RUNNING')",
            (
                int(time.time() * 1000),
                "The job's supervisor process vanished (was the machine "
                "restarted?); its outcome is unknown.",
                row["submission_id"],
            ),
        )
        return True

    def _record(self, row: sqlite3.Row) -> JobRecord:
        fields = {key: row[key] for key in row.keys() if key in JobRecord.model_fields}
        metadata = json.loads(row["metadata"])
        fields.update(
            owner=metadata.get(OWNER_KEY),
            metadata=metadata,
            runtime_env=redact_runtime_env(json.loads(row["runtime_env"])),
            entrypoint_resources=json.loads(row["entrypoint_resources"]),
            backend=self.name,
        )
        return JobRecord(**fields)

    def _reap(self) -> None:
        self._runners = [p for p in self._runners if p.poll() is None]

    def _job_env(self, submission: JobSubmission) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
        if self.conn is not None:
            env["RAY_ADDRESS"] = self.conn.address
            if self.conn.auth_mode == "none":  # a Ray without token auth: claim none
                env.pop("RAY_AUTH_MODE", None)
                env.pop("RAY_AUTH_TOKEN_PATH", None)
            else:
                env["RAY_AUTH_MODE"] = self.conn.auth_mode
                if self.conn.token_info.path:
                    env["RAY_AUTH_TOKEN_PATH"] = self.conn.token_info.path
        env.update(submission.runtime_env.get("env_vars", {}))
        env["IOG_JOB_SUBMISSION_ID"] = submission.submission_id
        # Drivers the job starts are this job's (its id, name and owner), as under Ray's job API.
        env.update(_ray_compat.driver_job_env(submission.submission_id, submission.metadata))
        return env

    def submit(self, submission: JobSubmission) -> str:
        """Start the job's supervisor (see :meth:`JobBackend.submit`); runtime_env as module doc."""
        unsupported = sorted(set(submission.runtime_env) - set(SUPPORTED_RUNTIME_ENV))
        if unsupported:
            raise ValidationError(
                f"runtime_env.{unsupported[0]} is not supported by the local backend (Ray's "
                f"Jobs API is off on this cluster); only {', '.join(SUPPORTED_RUNTIME_ENV[:-1])} "
                f"and {SUPPORTED_RUNTIME_ENV[-1]} are."
            )
        sid = submission.submission_id
        if self._db("SELECT 1 FROM jobs WHERE submission_id = ?", (sid,)):
            raise ConflictError(f"A job with submission_id {sid!r} already exists.")
        cwd = self.state_dir / "work" / sid
        if cwd.exists():
            shutil.rmtree(cwd)
        working_dir = submission.runtime_env.get("working_dir")
        if working_dir:
            _copy_working_dir(working_dir, cwd, submission.runtime_env.get("excludes", []))
        else:
            cwd.mkdir(mode=0o700)
        log_path = self.state_dir / "logs" / f"{sid}.log"
        log_path.unlink(missing_ok=True)
        row = dataclasses.asdict(submission)  # the columns named as the submission's fields
        row.update(
            message="Job has not started yet.",
            metadata=json.dumps(submission.metadata),
            runtime_env=json.dumps(redact_runtime_env(submission.runtime_env)),
            cwd=str(cwd),
            log_path=str(log_path),
            start_time_ms=int(time.time() * 1000),
            stop_grace_s=self.stop_grace_s,
            entrypoint_resources=json.dumps(submission.entrypoint_resources),
        )
        columns = ", ".join(row)
        values = ", ".join(f":{column}" for column in row)
        try:
            self._db(f"INSERT INTO jobs (status, {columns}) VALUES ('PENDING', {values})", row)
        except sqlite3.IntegrityError:
            raise ConflictError(f"A job with submission_id {sid!r} already exists.") from None
        runner = subprocess.Popen(
            # -I: isolated: no user site-packages and no script-directory imports.
            [sys.executable, "-I", local_runner.__file__, str(self.state_dir), sid],
            env=self._job_env(submission),
            cwd=str(cwd),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        self._db("UPDATE jobs SET runner_pid = ? WHERE submission_id = ?", (runner.pid, sid))
        self._reap()
        self._runners.append(runner)
        return sid

    def get(self, submission_id: str) -> JobRecord:
        """One job (see :meth:`JobBackend.get`)."""
        self._reap()
        return self._record(self._row(submission_id))

    def list(
        self, statuses: frozenset[str] | None = None, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        """A page of jobs, newest first (see :meth:`JobBackend.list`), cut in SQL."""
        limit = check_list_args(statuses, limit)
        self._reap()
        for row in self._db("SELECT * FROM jobs WHERE status IN ('PENDING', 'RUNNING')"):
            self._mark_vanished(row)
        where, args = "1", []
        if statuses:
            where, args = f"status IN ({', '.join('?' * len(statuses))})", sorted(statuses)
        total = self._db(f"SELECT COUNT(*) FROM jobs WHERE {where}", tuple(args))[0][0]
        if cursor:
            start, after = decode_cursor(cursor)
            where += f" AND ({_NEWEST} < ? OR ({_NEWEST} = ? AND submission_id < ?))"
            args += [start, start, after]
        rows = self._db(
            f"SELECT * FROM jobs WHERE {where} ORDER BY {_NEWEST} DESC, submission_id DESC LIMIT ?",
            (*args, limit + 1),
        )
        page = [self._record(row) for row in rows[:limit]]
        next_cursor = encode_cursor(page[-1]) if len(rows) > limit else None
        return JobPage(jobs=page, next_cursor=next_cursor, total=total)

    def stop(self, submission_id: str) -> bool:
        """Request a stop: TERM to the job's process group now, KILL after the grace period.

        The runner enforces the KILL, so a stop completes even if this server goes away.
        """
        row = self._row(submission_id)
        if row["status"] not in ("PENDING", "RUNNING"):
            return False
        self._db(
            "UPDATE jobs SET stop_requested_ms = COALESCE(stop_requested_ms, ?) "
            "WHERE submission_id = ?",
            (int(time.time() * 1000), submission_id),
        )
        if row["driver_pid"]:
            local_runner._killpg(row["driver_pid"], signal.SIGTERM)
        return True

    def delete(self, submission_id: str) -> None:
        """Remove a terminal job's record, log and job directory (see :meth:`JobBackend.delete`)."""
        row = self._row(submission_id)
        check_deletable(submission_id, row["status"])
        self._db("DELETE FROM jobs WHERE submission_id = ?", (submission_id,))
        Path(row["log_path"]).unlink(missing_ok=True)
        shutil.rmtree(row["cwd"], ignore_errors=True)

    def log_path(self, submission_id: str) -> str | None:
        """The job's log file, ``<state_dir>/logs/<id>.log`` (found without a query)."""
        return str(self.state_dir / "logs" / f"{check_submission_id(submission_id)}.log")

    def read_logs(self, submission_id: str, offset: int = 0, limit_bytes: int = 65536) -> LogPage:
        """A byte-offset page of the job's log."""
        limit_bytes = check_page_args(offset, limit_bytes)
        row = self._row(submission_id)
        terminal = row["status"] not in ("PENDING", "RUNNING")
        return read_file_page(row["log_path"], submission_id, offset, limit_bytes, terminal)

    def close(self) -> None:
        """Close the database; running jobs and their runners carry on."""
        self._reap()
        self._db.close()
