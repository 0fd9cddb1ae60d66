"""HTML and form parsing for :class:`~iog_jupyter.widgets.jobs.JobsWidget`: pure functions.

Every value that comes from a job is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from ..core.errors import ValidationError
from ..core.jobs.base import JobRecord
from ..core.wire import iso_from_ms

STATUS_STYLES = {
    "PENDING": "color:#8a6d00",
    "RUNNING": "color:#1a73e8;font-weight:bold",
    "SUCCEEDED": "color:#188038",
    "FAILED": "color:#d93025;font-weight:bold",
    "STOPPED": "color:#5f6368",
}
_CELL = "padding:2px 8px;border-bottom:1px solid var(--jp-border-color2, #ddd);text-align:left"
_COLUMNS = ("ID", "Status", "Owner", "Start", "End", "Entrypoint")


def esc(value: Any) -> str:
    """``html.escape`` of ``str(value)``; None becomes an empty string."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_time(ms: int | None) -> str:
    """Epoch milliseconds as ``YYYY-MM-DD HH:MM:SS`` (UTC); empty for None."""
    return iso_from_ms(ms).replace("T", " ")[:19] if ms else ""


def jobs_table_html(jobs: Sequence[JobRecord], error: str | None = None) -> str:
    """One page of jobs as an HTML table; every value is escaped.

    Args:
        jobs: The jobs to show, in order.
        error: Why the list could not be read, shown above the table.
    """
    head = "".join(f'<th style="{_CELL}">{c}</th>' for c in _COLUMNS)
    rows = []
    for job in jobs:
        status = job.status if job.status in STATUS_STYLES else "UNKNOWN"
        entry = job.entrypoint if len(job.entrypoint) <= 120 else job.entrypoint[:119] + "…"
        cells = [
            f"<code>{esc(job.submission_id)}</code>",
            f'<span class="iog-job-status iog-job-{status}" '
            f'style="{STATUS_STYLES.get(status, "")}">{esc(job.status)}</span>',
            esc(job.owner),
            fmt_time(job.start_time_ms),
            fmt_time(job.end_time_ms),
            f"<code>{esc(entry)}</code>",
        ]
        rows.append("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in cells) + "</tr>")
    if not rows:
        rows.append(f'<tr><td colspan="{len(_COLUMNS)}" style="{_CELL}"><i>No jobs.</i></td></tr>')
    banner = f'<div style="color:#d93025">{esc(error)}</div>' if error else ""
    return (
        f'{banner}<table class="iog-jobs" style="border-collapse:collapse;font-size:12px">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def parse_env_vars(text: str) -> dict[str, str]:
    """``KEY=VALUE`` lines to a dict; blank lines and ``#`` comments are skipped.

    Raises:
        ValidationError: A line without ``=``.
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
