"""Notebooks run as jobs: submit a notebook under the Jupyter root, collect its executed copy.

:class:`NotebookJobs` is the one orchestration behind ``POST notebook-jobs``, ``iog jobs submit
--notebook`` and ``iog_jupyter.jobs.submit_notebook``. A notebook job is a normal job (same
list, logs, stop, audit, quotas): its entrypoint is :mod:`.notebook_run` (papermill) with the
notebook's folder as ``working_dir``, so it goes through :meth:`JobService.validate` like any
job. The server records each one in :class:`NotebookStore` (SQLite, mode 0600, in its state dir)
with where the runner saves (:mod:`.notebook_sinks`) and where the copy goes:
``<stem>.<submission_id>.ipynb`` next to the input. :meth:`NotebookJobs.collect_ready` writes
the copy of every ended job there; the user always gets a file, with a first cell saying how
the job ended when the runner could not save the failure itself.
"""

from __future__ import annotations

import fnmatch
import json
import keyword
import logging
import os
import re
import secrets
import shlex
import sqlite3
import sys
import time
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING, Any

import nbformat

from ..db import Database
from ..errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RayUnavailableError,
    ValidationError,
)
from ..wire import NotebookSubmitReply, NotebookSubmitRequest
from ..wire.jobs import NOTEBOOK_KEY, NOTEBOOK_OUTPUT_KEY
from .base import OWNER_KEY
from .notebook_run import DEFAULT_MAX_OUTPUT_BYTES
from .notebook_sinks import drop_sink, read_sink, sink_for
from .validation import MAX_LIST_ITEMS, is_under, parse_request

if TYPE_CHECKING:
    from ..connection import RayConnection
    from .service import JobService

log = logging.getLogger(__name__)

#: Most bytes the ``--parameters`` JSON may have (it is part of the entrypoint).
MAX_PARAMETERS_BYTES = 8 * 1024
_SLUG_RE = re.compile(r"[^A-Za-z0-9_.-]+")
_KERNEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
#: Ray ``excludes`` pattern (gitwildmatch) of every executed copy with a generated id
#: (``<stem>.nb-<slug>-<8 hex>.ipynb``, see :func:`new_notebook_id`), at any depth.
_GENERATED_COPIES = "*.nb-*-" + "[0-9a-f]" * 8 + ".ipynb"
#: ``collected`` of a job whose submit has not returned yet (the collector leaves it alone).
_SUBMITTING = -1
#: After this long a job still marked as submitting is collected anyway (the server stopped
#: during its submit: the job exists or it is "gone").
SUBMIT_GRACE_S = 300

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notebook_jobs (
    submission_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    backend TEXT NOT NULL,
    root TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT NOT NULL,
    sink TEXT NOT NULL,
    collected INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
)
"""


@dataclass(frozen=True)
class NotebookJobRow:
    """One submitted notebook job: its backend, root, paths under it, and its runner's sink."""

    submission_id: str
    owner: str
    backend: str
    root: str
    input: str
    output: str
    sink: str


class NotebookStore:
    """The notebook jobs a server submitted and whether their copy was written (SQLite, 0600)."""

    def __init__(self, path: str) -> None:
        self._db = Database(path, _SCHEMA)

    def add(self, row: NotebookJobRow) -> None:
        """Record a job about to be submitted (not collected before :meth:`activate`).

        Raises:
            ConflictError: A notebook job with this id was submitted before.
        """
        try:
            self._db(
                "INSERT INTO notebook_jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*astuple(row), _SUBMITTING, _now_ms()),
            )
        except sqlite3.IntegrityError:
            raise ConflictError(
                f"A notebook job with the id {row.submission_id!r} was submitted before; "
                "give another submission_id, or none to get a fresh one."
            ) from None

    def activate(self, submission_id: str) -> None:
        """The job was submitted: collect it once it has ended."""
        self._mark(submission_id, 0)

    def mark_collected(self, submission_id: str) -> None:
        """The copy of this job was written."""
        self._mark(submission_id, 1)

    def _mark(self, submission_id: str, collected: int) -> None:
        self._db(
            "UPDATE notebook_jobs SET collected = ? WHERE submission_id = ?",
            (collected, submission_id),
        )

    def remove(self, submission_id: str) -> None:
        """Forget a job (its submit was refused)."""
        self._db("DELETE FROM notebook_jobs WHERE submission_id = ?", (submission_id,))

    def outputs(self, root: str) -> list[str]:
        """The copies recorded under ``root`` (paths relative to it), newest first."""
        rows = self._db(
            "SELECT output FROM notebook_jobs WHERE root = ? ORDER BY created_ms DESC", (root,)
        )
        return [row[0] for row in rows]

    def pending(self, backend: str | None = None) -> list[NotebookJobRow]:
        """The jobs (on ``backend``, None: any) whose copy was not written yet, oldest first."""
        rows = self._db(
            "SELECT submission_id, owner, backend, root, input, output, sink "
            "FROM notebook_jobs WHERE backend = coalesce(?, backend) AND (collected = 0 "
            "OR collected = ? AND created_ms < ?) ORDER BY created_ms",
            (backend, _SUBMITTING, _now_ms() - SUBMIT_GRACE_S * 1000),
        )
        return [NotebookJobRow(*row) for row in rows]

    def close(self) -> None:
        """Close the database."""
        self._db.close()


def store_path(state_dir: str) -> str:
    """The store's file in a state dir."""
    return os.path.join(state_dir, "notebook_jobs.sqlite")


def local_state_dir() -> str:
    """``<Jupyter data dir>/iog_jupyter/notebook-jobs``: the store of jobs submitted locally."""
    from .selection import default_state_dir

    return os.path.join(os.path.dirname(default_state_dir()), "notebook-jobs")


def _now_ms() -> int:
    return int(time.time() * 1000)


def new_notebook_id(stem: str) -> str:
    """``nb-<slug of the notebook's stem>-<8 hex>``: a valid submission id, at most 64 chars."""
    slug = _SLUG_RE.sub("-", stem).strip("-._")[:44] or "notebook"
    return f"nb-{slug}-{secrets.token_hex(4)}"


def _check_parameters(parameters: dict[str, Any]) -> str:
    for name in parameters:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValidationError(
                f"Parameter name {name[:64]!r} is not a Python identifier; papermill assigns "
                "each parameter to a variable of that name.",
                reason="bad_parameter",
            )
    try:
        text = json.dumps(parameters, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValidationError(
            f"Parameter values must be JSON values (numbers, strings, lists, objects): {err}.",
            reason="bad_parameter",
        ) from None
    if len(text.encode()) > MAX_PARAMETERS_BYTES:
        raise ValidationError(
            f"The parameters are {len(text.encode())} bytes as JSON; at most "
            f"{MAX_PARAMETERS_BYTES}. Pass large inputs as a file in the notebook's folder.",
            reason="bad_parameter",
        )
    return text


class NotebookJobs:
    """Submit notebooks as jobs and collect their executed copies (module docstring).

    Args:
        jobs: The job service every job goes through (validation, quotas, backend).
        root_dir: The Jupyter root: inputs and copies live under it, paths are relative to it.
        state_dir: Where the store (:func:`store_path`) and local sinks live.
        conn: The connection for KV sinks (default: the backend's).
        max_output_bytes: Largest executed copy the runner saves and the collector reads.
        store: The store of ``state_dir`` when the caller opened it already.
    """

    def __init__(
        self,
        jobs: JobService,
        root_dir: str,
        state_dir: str,
        conn: RayConnection | None = None,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
        store: NotebookStore | None = None,
    ) -> None:
        self.jobs = jobs
        self.root = os.path.realpath(os.path.expanduser(root_dir))
        self.state_dir = state_dir
        self.conn = conn if conn is not None else getattr(jobs.backend, "conn", None)
        self.max_output_bytes = max_output_bytes
        os.makedirs(os.path.join(state_dir, "notebook-out"), mode=0o700, exist_ok=True)
        self.store = store or NotebookStore(store_path(state_dir))
        self._owns_jobs = False

    @classmethod
    def open_local(
        cls, root_dir: str, backend: str = "auto", conn: RayConnection | None = None
    ) -> NotebookJobs:
        """Notebook jobs in this process (a kernel, the CLI's local mode) under ``root_dir``.

        The job service is ``JobService.open(backend)`` with ``root_dir`` as its only
        working_dir root (``conn``: as ``JobService.open`` takes it); the store is
        :func:`local_state_dir`'s, apart from any server's. :meth:`close` closes both.
        """
        from .service import JobService

        root = os.path.realpath(os.path.expanduser(root_dir))
        jobs = JobService.open(backend, conn, working_dir_roots=[root])
        try:
            notebooks = cls(jobs, root, local_state_dir())
        except BaseException:
            jobs.close()
            raise
        notebooks._owns_jobs = True
        return notebooks

    # -- submit ---------------------------------------------------------------------------------

    def resolve(self, path: str) -> str:
        """The real path of a notebook given relative to the root (or absolute, under it).

        Raises:
            ForbiddenError: It is outside the root (``..``, another absolute path, a symlink
                leading out).
            NotFoundError: No file there.
            ValidationError: Not a ``.ipynb`` file, or not a notebook nbformat can read.
        """
        if "\x00" in path:
            raise ValidationError("The notebook path contains a NUL character.")
        real = os.path.realpath(os.path.join(self.root, path))
        if not is_under(real, self.root):
            raise ForbiddenError(
                f"The notebook {path[:200]!r} is outside the Jupyter root; give a path under it "
                "(as the file browser shows it).",
                reason="outside_root",
            )
        if not os.path.exists(real):
            raise NotFoundError(f"No notebook at {path[:200]!r} under the Jupyter root.")
        if not os.path.isfile(real) or not real.endswith(".ipynb"):
            raise ValidationError(f"{path[:200]!r} is not a notebook (a .ipynb file).")
        try:
            nbformat.validate(nbformat.read(real, as_version=4))
        except (OSError, ValueError, nbformat.ValidationError) as err:
            raise ValidationError(
                f"{path[:200]!r} is not a notebook nbformat can read: {str(err)[:200]}"
            ) from None
        return real

    def submit(
        self, body: dict[str, Any] | NotebookSubmitRequest, owner: str | None = None
    ) -> NotebookSubmitReply:
        """Validate a ``POST notebook-jobs`` body, submit the job, record it for collection.

        Raises:
            ValidationError: A bad field, parameter, or runtime_env (``working_dir`` given).
            ForbiddenError, NotFoundError: See :meth:`resolve`.
            ConflictError, QuotaExceededError, RayUnavailableError: As for any submit.
        """
        request = parse_request(NotebookSubmitRequest, body, "The notebook job")
        real = self.resolve(request.path)
        parameters = _check_parameters(request.parameters)
        runtime_env = dict(request.runtime_env or {})
        if "working_dir" in runtime_env:
            raise ValidationError(
                "runtime_env.working_dir cannot be given for a notebook job: the notebook's "
                "folder is its working_dir.",
                reason="working_dir_refused",
            )
        folder, name = os.path.split(real)
        stem = name[: -len(".ipynb")]
        sid = request.submission_id or new_notebook_id(stem)
        backend = self.jobs.backend.name
        sink = sink_for(sid, backend, self.state_dir)
        # A local job runs on this machine: in this Python, which has papermill and iog_jupyter.
        python = sys.executable if backend == "local" else "python"
        command = [
            python, "-m", "iog_jupyter.core.jobs.notebook_run", name,
            "--output", sink, "--parameters", parameters,
            "--max-output-bytes", str(self.max_output_bytes),
        ]  # fmt: skip
        if request.kernel_name:
            if not _KERNEL_RE.match(request.kernel_name):
                raise ValidationError(
                    f"kernel_name {request.kernel_name[:64]!r} is not a kernel name (letters, "
                    "digits, '.', '_', '-'); `jupyter kernelspec list` shows them."
                )
            command += ["--kernel-name", request.kernel_name]
        fields = request.model_dump(
            exclude={"path", "parameters", "kernel_name", "runtime_env", "metadata"},
            exclude_none=True,
        )
        runtime_env["excludes"] = self._excludes(folder, runtime_env.get("excludes"))
        valid = self.jobs.validate(
            {
                **fields,
                "entrypoint": shlex.join(command),
                "submission_id": sid,
                "runtime_env": {**runtime_env, "working_dir": folder},
                "metadata": {"name": name, **(request.metadata or {})},
            },
            owner,
        )
        notebook = os.path.relpath(real, self.root)
        output = os.path.join(os.path.dirname(notebook), f"{stem}.{sid}.ipynb")
        valid.metadata[NOTEBOOK_KEY] = notebook
        valid.metadata[NOTEBOOK_OUTPUT_KEY] = output
        owner = valid.metadata[OWNER_KEY]
        self.store.add(NotebookJobRow(sid, owner, backend, self.root, notebook, output, sink))
        try:
            self.jobs.submit(valid)
        except BaseException:
            self.store.remove(sid)
            raise
        self.store.activate(sid)
        return NotebookSubmitReply(submission_id=sid, notebook=notebook, output=output)

    def _excludes(self, folder: str, given: Any) -> Any:
        """The user's ``excludes`` plus the executed copies of earlier runs under ``folder``.

        Copies are left out of each later run's working_dir: those with a generated id by
        pattern, those with an id the user chose by their exact path (newest first, as many
        as the list cap leaves room for).
        """
        if given is not None and not isinstance(given, list):
            return given  # validation refuses it with its message
        ours = [_GENERATED_COPIES]
        for output in self.store.outputs(self.root):
            path = os.path.relpath(os.path.join(self.root, output), folder)
            if not path.startswith(".." + os.sep) and not fnmatch.fnmatch(
                os.path.basename(path), _GENERATED_COPIES
            ):
                ours.append("/" + re.sub(r"([\\*?\[\]!#])", r"\\\1", path))
        room = max(0, MAX_LIST_ITEMS - len(given or []))
        return [*(given or []), *list(dict.fromkeys(ours))[:room]]

    # -- collect --------------------------------------------------------------------------------

    def collect_ready(self) -> list[str]:
        """Write the executed copy of every recorded job that has ended; returns their ids.

        A job still running is left for a later call; so is every job while Ray does not answer.
        Jobs submitted on another backend are left to a service on that backend.
        """
        done = []
        for row in self.store.pending(self.jobs.backend.name):
            try:
                record = self.jobs.get(row.submission_id)
            except NotFoundError:
                record = None  # deleted before its copy was collected
            except RayUnavailableError:
                break
            if record is not None and not record.is_terminal:
                continue
            try:
                self.collect(row, record.status if record else "gone", record and record.message)
            except RayUnavailableError:
                break
            except OSError as err:  # this copy only (a full disk, a read-only folder): retried
                log.warning("notebook job %s: writing its copy failed: %s", row.submission_id, err)
                continue
            done.append(row.submission_id)
        return done

    def collect(self, row: NotebookJobRow, status: str, message: str | None) -> None:
        """Write one ended job's copy at its output path, drop the sink's copy, mark it done."""
        nb = self._executed(row)
        failed_itself = nb is not None and nb.metadata.get("papermill", {}).get("exception")
        if nb is None or (status != "SUCCEEDED" and not failed_itself):
            nb = nb or self._input_copy(row)
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(_ending_note(row, status, message)))
        target = os.path.realpath(os.path.join(row.root, row.output))
        folder, name = os.path.split(target)
        if is_under(folder, row.root) and os.path.isdir(folder):
            tmp = os.path.join(folder, f".{name}.iog-part")
            nbformat.write(nb, tmp)
            os.replace(tmp, target)
            log.info("notebook job %s: executed copy written to %s", row.submission_id, row.output)
        else:
            log.warning(
                "notebook job %s: %s is no longer under the Jupyter root; copy not written",
                row.submission_id,
                row.output,
            )
        drop_sink(row.sink, self.conn)
        self.store.mark_collected(row.submission_id)

    def _executed(self, row: NotebookJobRow) -> Any:
        data = read_sink(row.sink, self.conn)
        if data is None:
            return None
        if len(data) > self.max_output_bytes:
            log.warning("notebook job %s: its executed copy is too large", row.submission_id)
            return None
        try:
            return nbformat.reads(data.decode(), as_version=4)
        except (UnicodeDecodeError, ValueError) as err:
            log.warning("notebook job %s: unreadable executed copy: %s", row.submission_id, err)
            return None

    def _input_copy(self, row: NotebookJobRow) -> Any:
        path = os.path.realpath(os.path.join(row.root, row.input))
        try:
            if is_under(path, row.root):
                return nbformat.read(path, as_version=4)
        except (OSError, ValueError):
            pass  # the input was moved or broken since: the note alone is the copy
        return nbformat.v4.new_notebook()

    def close(self) -> None:
        """Close the store (a service :meth:`open_local` opened is closed too)."""
        self.store.close()
        if self._owns_jobs:
            self.jobs.close()


def _ending_note(row: NotebookJobRow, status: str, message: str | None) -> str:
    """The first cell of a copy the runner did not finish: how the job ended, its message.

    The message is shown as an indented code block, so no markdown or HTML in it is rendered.
    """
    ended = "was deleted" if status == "gone" else f"ended {status}"
    text = (
        f"**iog: notebook job `{row.submission_id}` {ended} before its run finished.** "
        "The cells below are as far as it got (unexecuted if it never started)."
    )
    if message:
        quoted = "\n".join("    " + line for line in message[:4000].splitlines())
        text += "\n\nJob message:\n\n" + quoted
    return text
