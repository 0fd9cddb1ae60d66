"""Jobs from a notebook: run a notebook as a Ray job, get its executed copy, wait for jobs.

:func:`wait` blocks until jobs end, as ``iog jobs wait`` does.

The job is a normal job (``iog jobs list``, its log, stop, quotas), run by papermill with the
notebook's folder as ``working_dir``; values in ``parameters`` go into its cell tagged
``parameters``. When it ends, the executed copy is written next to the input as
``<stem>.<submission_id>.ipynb`` (by :meth:`NotebookJob.wait` here, or by a Jupyter server's
collector for jobs submitted through it).

Example:
    >>> from iog_jupyter import jobs  # doctest: +SKIP
    >>> job = jobs.submit_notebook("train.ipynb", {"lr": 0.01}, num_gpus=1)  # doctest: +SKIP
    >>> job.wait(timeout_s=600).status  # doctest: +SKIP
    'SUCCEEDED'
    >>> job.output  # doctest: +SKIP
    '/home/me/work/train.nb-train-1a2b3c4d.ipynb'
"""

from __future__ import annotations

import contextlib
import html
import os
from collections.abc import Callable, Iterable
from typing import Any

from .core.errors import IogError
from .core.jobs.notebooks import NotebookJobs
from .core.jobs.service import JobService
from .core.jobs.waiting import JobsWaitTimeout, wait_exit_status, wait_for_jobs
from .core.wire import JobRecord

__all__ = ["JobsWaitTimeout", "NotebookJob", "submit_notebook", "wait", "wait_exit_status"]

#: Seconds between two looks at a job that :meth:`NotebookJob.wait` waits for.
POLL_S = 0.5


class NotebookJob:
    """A submitted notebook job: its id, where its copy goes, its status; :meth:`wait` for it.

    Attributes:
        submission_id: The job's id (``iog jobs logs <id>`` shows its log).
        notebook: The input's absolute path.
        output: The absolute path its executed copy is written to when it ends.
    """

    def __init__(self, notebooks: NotebookJobs, submission_id: str, notebook: str, output: str):
        self._notebooks = notebooks
        self.submission_id = submission_id
        self.notebook = os.path.join(notebooks.root, notebook)
        self.output = os.path.join(notebooks.root, output)

    def __repr__(self) -> str:
        return f"NotebookJob({self.submission_id!r}, output={self.output!r})"

    def status(self) -> JobRecord:
        """The job as it stands (``.status``, ``.message``, ...)."""
        return self._notebooks.jobs.get(self.submission_id)

    def wait(self, timeout_s: float | None = None) -> JobRecord:
        """Wait until the job ends, write its executed copy at :attr:`output`, return the record.

        Raises:
            JobsWaitTimeout: It had not ended after ``timeout_s`` seconds (it keeps running);
                a ``TimeoutError``.
        """
        (record,) = wait_for_jobs(
            self._notebooks.jobs, [self.submission_id], timeout_s, poll_s=POLL_S
        )
        self._notebooks.collect_ready()
        return record

    def stop(self) -> bool:
        """Ask the job to stop; False when it had already ended."""
        return self._notebooks.jobs.stop(self.submission_id)

    def close(self) -> None:
        """Release the job service this handle holds (the job itself runs on)."""
        self._notebooks.close()

    def _repr_html_(self) -> str:
        """A one-line summary (every value escaped)."""
        try:
            status = self.status().status
        except IogError as err:
            status = f"unknown ({err.message})"
        return (
            f"<b>Notebook job</b> <code>{html.escape(self.submission_id)}</code>: "
            f"{html.escape(status)}; its executed copy: <code>{html.escape(self.output)}</code>"
        )


def submit_notebook(
    path: str,
    parameters: dict[str, Any] | None = None,
    *,
    pool: str | None = None,
    runtime_env: dict[str, Any] | None = None,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    memory: int | None = None,
    resources: dict[str, float] | None = None,
    kernel_name: str | None = None,
    submission_id: str | None = None,
    root_dir: str | None = None,
    backend: str = "auto",
) -> NotebookJob:
    """Run the notebook at ``path`` as a Ray job (papermill), from this process.

    Args:
        path: The ``.ipynb`` file, relative to ``root_dir`` (or absolute, under it).
        parameters: Values for its cell tagged ``parameters`` (JSON values).
        pool: The node pool to run the job's driver in.
        runtime_env: As for any job (``env_vars``, ``pip``, ...); not ``working_dir``, which
            is the notebook's folder.
        num_cpus: CPUs reserved for the driver (the kernel running the notebook).
        num_gpus: GPUs reserved for it.
        memory: Bytes of memory reserved for it.
        resources: Custom resources reserved for it.
        kernel_name: The kernel to run it with (default: the one its metadata names).
        submission_id: The job's id (default: ``nb-<stem>-<8 hex>``).
        root_dir: Notebooks must be under it (default: the current directory).
        backend: ``auto``, ``ray`` or ``local`` (as ``iog jobs --backend``).

    Returns:
        The job's handle; its executed copy is written when :meth:`NotebookJob.wait` sees it end.

    Raises:
        ValidationError, ForbiddenError, NotFoundError: A bad path, parameter or option.
        QuotaExceededError, RayUnavailableError: As for any job.
    """
    fields = {
        "path": path,
        "parameters": parameters or {},
        "kernel_name": kernel_name,
        "submission_id": submission_id,
        "runtime_env": runtime_env,
        "entrypoint_num_cpus": num_cpus,
        "entrypoint_num_gpus": num_gpus,
        "entrypoint_memory": memory,
        "entrypoint_resources": resources,
        "pool": pool,
    }
    notebooks = NotebookJobs.open_local(root_dir or os.getcwd(), backend)
    try:
        reply = notebooks.submit({k: v for k, v in fields.items() if v is not None})
    except BaseException:
        notebooks.close()
        raise
    return NotebookJob(notebooks, reply.submission_id, reply.notebook, reply.output)


def wait(
    submission_ids: Iterable[str],
    timeout_s: float | None = None,
    on_end: Callable[[JobRecord], Any] | None = None,
    backend: str = "auto",
) -> list[JobRecord]:
    """Block until the jobs have ended; their final records, in the order asked.

    ``on_end`` is called once with each job's record as it ends. ``wait_exit_status(records)``
    says how they ended as ``iog jobs wait`` exits (0 all SUCCEEDED, 1 any FAILED, 5 some
    STOPPED). Nothing is stopped on a timeout or on an interrupt.

    Raises:
        NotFoundError: An id names no job (before any waiting).
        JobsWaitTimeout: ``timeout_s`` ran out first (its ``running`` lists the jobs that run on).

    Example:
        >>> records = jobs.wait(["prep", "train"], timeout_s=3600)  # doctest: +SKIP
        >>> jobs.wait_exit_status(records)  # doctest: +SKIP
        0
    """
    with contextlib.closing(JobService.open(backend)) as service:
        return wait_for_jobs(service, submission_ids, timeout_s, on_end)
