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
_COLUMNS = ("ID", "Status", "Owner", "Start", "End", "Entrypoint")


def jobs_table_html(jobs: Sequence[JobRecord], error: str | None = None) -> str:
    """One page of jobs as an HTML table (every value escaped), ``error`` above it."""
    rows = []
    for job in jobs:
        entry = job.entrypoint if len(job.entrypoint) <= 120 else job.entrypoint[:119] + "…"
        cells = [
            f"<code>{esc(job.submission_id)}</code>",
            badge("job", "status", job.status, STATUS_STYLES),
            esc(job.owner),
            fmt_time(job.start_time_ms),
            fmt_time(job.end_time_ms),
            f"<code>{esc(entry)}</code>",
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
