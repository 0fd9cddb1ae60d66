"""``JobsWidget``: list, submit, follow, stop and delete jobs from a notebook, straight from core.

Like :class:`~iog_jupyter.widgets.ClusterWidget` it needs no Jupyter server: it drives a
:class:`~iog_jupyter.core.jobs.JobService` in the kernel, so it works in VS Code and any kernel.
Every value that comes from a job (names, ids, commands, owners, pending reasons, logs, error
messages) is escaped; logs keep their ANSI colours through :func:`.ansi.log_html`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from ..core.errors import IogError, ValidationError
from ..core.jobs.base import JobBackend
from ..core.jobs.service import JobService, follow_logs
from ..core.wire import STATUSES, JobPage, JobRecord, LogPage
from .ansi import log_html
from .listwidget import ListWidget
from .markup import badge, error_banner, esc, fmt_time, row_html, table_html
from .refresher import SharedRefresher

ALL = "all"
MAX_LOG_CHARS = 512 * 1024
STATUS_STYLES = {
    "PENDING": "color:#8a6d00",
    "RUNNING": "color:#1a73e8;font-weight:bold",
    "SUCCEEDED": "color:#188038",
    "FAILED": "color:#d93025;font-weight:bold",
    "STOPPED": "color:#5f6368",
}
_COLUMNS = ("Name", "Status", "Owner", "Start", "End", "Command")
_NOTE = '<div class="iog-job-{}" style="font-size:11px;color:#5f6368">{}</div>'


def jobs_table_html(jobs: Sequence[JobRecord], error: str | None = None) -> str:
    """One page of jobs as an HTML table (every value escaped), ``error`` above it.

    A named job shows its id under its name; a PENDING one, why it waits under its status.
    """
    rows = []
    for job in jobs:
        command = job.command if len(job.command) <= 120 else job.command[:119] + "…"
        name = esc(job.name)
        if job.name != job.submission_id:
            name += _NOTE.format("id", f"<code>{esc(job.submission_id)}</code>")
        status = badge("job", "status", job.status, STATUS_STYLES)
        if job.status == "PENDING" and job.pending_reason:
            status += _NOTE.format("pending-reason", esc(job.pending_reason))
        cells = [
            name,
            status,
            esc(job.owner),
            fmt_time(job.start_time_ms),
            fmt_time(job.end_time_ms),
            f"<code>{esc(command)}</code>",
        ]
        rows.append(row_html(cells))
    return error_banner(error) + table_html("iog-jobs", _COLUMNS, rows, "No jobs.")


def parse_env_vars(text: str) -> dict[str, str]:
    """``KEY=VALUE`` lines to a dict; blank lines and ``#`` comments are skipped.

    A line without ``=`` raises ValidationError.
    """
    env: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValidationError(f"Environment line {number} is not KEY=VALUE.")
        env[key.strip()] = value
    return env


class JobsWidget(ListWidget):
    """A paginated job table with a status filter, a submit form and a live log view.

    Args:
        backend: A jobs backend or a :class:`~iog_jupyter.core.jobs.JobService`; when None,
            ``JobService.open`` picks Ray or the local backend (and :meth:`close` closes it).
        page_size: Jobs per page.
        refresh_interval_s, autostart, refresher, **kwargs: As for :class:`.ListWidget`.
        working_dir_roots: Directories a job's working dir may be under; the cwd when None.

    Stop and Delete act on the selected job and need two clicks: the first arms the button
    ("Confirm stop?"), the second acts; any other action disarms it.
    """

    noun, plural = "a job", "jobs"
    page: JobPage | None

    def __init__(
        self,
        backend: JobBackend | JobService | None = None,
        page_size: int = 20,
        refresh_interval_s: float = 2.0,
        autostart: bool = True,
        *,
        working_dir_roots: Sequence[str] | None = None,
        refresher: SharedRefresher | None = None,
        **kwargs: Any,
    ) -> None:
        self._log_thread: threading.Thread | None = None
        self._log_stop = threading.Event()
        self.page_size = int(page_size)
        self.working_dir_roots = list(working_dir_roots or [os.getcwd()])
        owned = backend is None
        if backend is None:
            backend = JobService.open(working_dir_roots=self.working_dir_roots)
        elif isinstance(backend, JobBackend):
            backend = JobService(backend, working_dir_roots=self.working_dir_roots)
        self.jobs = backend
        self.backend = backend.backend
        W = widgets
        self.status_filter = W.Dropdown(options=[ALL, *STATUSES], value=ALL, description="Status")
        self.prev_button = W.Button(description="◀ Prev", disabled=True)
        self.next_button = W.Button(description="Next ▶", disabled=True)
        self.page_label = W.HTML(value="")
        self.job_select = W.Dropdown(options=[("—", None)], value=None, description="Job")
        self.stop_button = W.Button(description="Stop", icon="stop")
        self.delete_button = W.Button(description="Delete", icon="trash")
        self.log_view = W.HTML(value="")
        self.entrypoint = W.Text(description="Entrypoint", placeholder="python train.py")
        self.num_cpus = W.FloatText(value=0.0, description="CPUs")
        self.num_gpus = W.FloatText(value=0.0, description="GPUs")
        self.memory_gib = W.FloatText(value=0.0, description="Memory GiB")
        self.pool = W.Text(description="Pool", placeholder="any (e.g. gpu-a100)")
        self.pip = W.Text(description="pip", placeholder="torch==2.5 pandas (space-separated)")
        self.env_vars = W.Textarea(description="Env vars", placeholder="KEY=VALUE per line")
        self.working_dir = W.Text(value=os.getcwd(), description="Working dir")
        self.submit_button = W.Button(description="Submit", button_style="primary")
        form = W.VBox(
            [self.entrypoint, W.HBox([self.num_cpus, self.num_gpus, self.memory_gib])]
            + [self.pool, self.pip, self.env_vars, self.working_dir, self.submit_button]
        )
        self.log_text = ""
        self._cursors: list[str | None] = [None]
        self._page_index = 0
        self._extra_option: str | None = None  # a job just submitted, maybe not on this page
        super().__init__(
            self.job_select,
            {"stop": self.stop_button, "delete": self.delete_button},
            [W.HBox([self.status_filter, self.prev_button, self.next_button, self.page_label])],
            [self.log_view, form],
            refresh_interval_s=refresh_interval_s,
            refresher=refresher,
            owned=self.jobs if owned else None,
            autostart=autostart,
            **kwargs,
        )
        self.add_class("iog-JobsWidget")
        self.status_filter.observe(self._on_filter, names="value")
        self.prev_button.on_click(lambda _: self._turn(-1))
        self.next_button.on_click(lambda _: self._turn(1))
        self.stop_button.on_click(lambda _: self._act("stop"))
        self.delete_button.on_click(lambda _: self._act("delete"))
        self.submit_button.on_click(lambda _: self.submit())

    # -- table -------------------------------------------------------------------------------

    def _fetch(self) -> JobPage:
        with self._lock:
            value = self.status_filter.value
            cursor = self._cursors[self._page_index]
        statuses = None if value == ALL else frozenset({value})
        return self.jobs.list(statuses, limit=self.page_size, cursor=cursor)

    def _html(self) -> str:
        return jobs_table_html(self.page.jobs if self.page else [], self.list_error)

    def _render(self) -> None:
        self.prev_button.disabled = self._page_index == 0
        self.next_button.disabled = not (self.page and self.page.next_cursor)
        total = self.page.total if self.page else 0
        self.page_label.value = f"page {self._page_index + 1} · {total} job(s)"

    def _options(self) -> list[tuple[str, Any]]:
        names = {job.submission_id: job.name for job in self.page.jobs} if self.page else {}
        # The selected job stays offered when it leaves the page (its log keeps following).
        ids = [*names, self.job_select.value, self._extra_option]
        return [("—", None)] + [
            (sid if names.get(sid, sid) == sid else f"{names[sid][:60]} · {sid}", sid)
            for sid in dict.fromkeys(ids)
            if sid is not None
        ]

    def _turn(self, step: int) -> None:
        self._disarm()
        with self._lock:
            if step > 0 and self.page and self.page.next_cursor:
                del self._cursors[self._page_index + 1 :]
                self._cursors.append(self.page.next_cursor)
                self._page_index += 1
            elif step < 0 and self._page_index > 0:
                self._page_index -= 1
        self.refresh()

    def _on_filter(self, _change: Any) -> None:
        self._disarm()
        with self._lock:
            self._cursors, self._page_index = [None], 0
        self.refresh()

    # -- submit ------------------------------------------------------------------------------

    def submit(self) -> str | None:
        """Validate the form, submit the job and select it; returns its id, or None on error."""
        self._disarm()
        body: dict[str, Any] = {"entrypoint": self.entrypoint.value}
        if self.num_cpus.value:
            body["entrypoint_num_cpus"] = float(self.num_cpus.value)
        if self.num_gpus.value:
            body["entrypoint_num_gpus"] = float(self.num_gpus.value)
        if self.memory_gib.value:
            # Negative values go through so validation refuses them in its own words.
            body["entrypoint_memory"] = int(float(self.memory_gib.value) * 2**30)
        if self.pool.value.strip():
            body["pool"] = self.pool.value.strip()
        try:
            runtime_env: dict[str, Any] = {
                "env_vars": parse_env_vars(self.env_vars.value),
                "pip": self.pip.value.replace(",", " ").split(),
                "working_dir": self.working_dir.value.strip(),
            }
            runtime_env = {key: value for key, value in runtime_env.items() if value}
            if runtime_env:
                body["runtime_env"] = runtime_env
            sid = self.jobs.submit(body)
        except IogError as err:
            self._show(error=err.message)
            return None
        self._show(notice=f"Submitted {sid}.")
        self._extra_option = sid
        try:
            self.refresh()
            self.job_select.value = sid
        finally:
            self._extra_option = None
        return sid

    # -- stop / delete -----------------------------------------------------------------------

    def _act(self, action: str) -> None:
        sid = self._confirmed(action)
        if sid is None:
            return
        try:
            if action == "stop":
                stopped = self.jobs.stop(sid)
                self._show(notice=f"Stopping {sid}." if stopped else f"{sid} had already ended.")
            else:
                self.jobs.delete(sid)
                self._show(notice=f"Deleted {sid}.")
                self.job_select.value = None
        except IogError as err:
            self._show(error=err.message)
        self.refresh()

    @property
    def armed(self) -> str | None:
        """``"stop"`` or ``"delete"`` while that button awaits its confirming click."""
        return self._armed[0] if self._armed else None

    # -- logs --------------------------------------------------------------------------------

    def _on_select(self, value: Any) -> None:
        self.follow(value)

    def follow(self, submission_id: str | None) -> None:
        """Show this job's log and follow it until it ends (None clears the log view)."""
        self._stop_log()
        with self._lock:
            self.log_text = ""
            self.log_view.value = ""
            if submission_id is None or self._closed:
                return
            self._log_stop = stop = threading.Event()
            self._log_thread = threading.Thread(
                target=self._follow_loop, args=(submission_id, stop), name="iog-jobs-log"
            )
            self._log_thread.daemon = True
            self._log_thread.start()

    def _follow_loop(self, sid: str, stop: threading.Event) -> None:
        text = ""

        def show(page: LogPage) -> None:
            nonlocal text
            text = (text + page.text)[-MAX_LOG_CHARS:]
            with self._lock:
                if not stop.is_set():
                    self.log_text = text
                    self.log_view.value = log_html(text)

        try:
            follow_logs(self.jobs, sid, 0, show, stop=stop)
        except IogError as err:
            with self._lock:
                if not stop.is_set():
                    self.log_view.value = error_banner(err.message)

    def _stop_log(self) -> None:
        self._log_stop.set()
        thread, self._log_thread = self._log_thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def threads(self) -> list[threading.Thread]:
        """The live threads working for the widget: the shared refresher's, the log follower."""
        log = [self._log_thread] if self._log_thread and self._log_thread.is_alive() else []
        return super().threads + log

    def _stop_workers(self) -> None:
        self._stop_log()
