"""HTML and form parsing for :class:`~iog_jupyter.widgets.jobs.JobsWidget`: pure functions.

Every value that comes from a job is escaped with :func:`html.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.errors import ValidationError
from ..core.wire import JobRecord
from .markup import badge, error_banner, esc, fmt_time, row_html, table_html

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
