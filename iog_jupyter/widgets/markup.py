"""HTML pieces shared by the widgets' tables: escaping, cells, tables and coloured lines.

Pure functions without ipywidgets or plotly. Callers escape every value that comes from Ray,
a job or a record (with :func:`esc`) before it becomes a cell.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..core.wire import iso_from_ms

CELL = "padding:2px 8px;border-bottom:1px solid var(--jp-border-color2, #ddd);text-align:left"
TABLE = "border-collapse:collapse;font-size:12px"
ERROR_COLOR = "#d93025"
NOTICE_COLOR = "#188038"


def esc(value: Any) -> str:
    """``html.escape`` of ``str(value)``; None becomes an empty string."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_time(ms: int | None) -> str:
    """Epoch milliseconds as ``YYYY-MM-DD HH:MM:SS`` (UTC); empty for None."""
    return iso_from_ms(ms).replace("T", " ")[:19] if ms else ""


def row_html(cells: Iterable[str], attrs: str = "") -> str:
    """One ``<tr>`` of already escaped cells."""
    return f"<tr{attrs}>" + "".join(f'<td style="{CELL}">{c}</td>' for c in cells) + "</tr>"


def table_html(
    css_class: str,
    columns: Sequence[str],
    rows: Sequence[str],
    empty: str = "",
    style: str = TABLE,
) -> str:
    """A table with a header of ``columns`` (escaped here) over ``rows`` (``<tr>`` markup).

    With no rows, ``empty`` (when given) is shown as a single italic row.
    """
    if not rows and empty:
        rows = [f'<tr><td colspan="{len(columns)}" style="{CELL}"><i>{empty}</i></td></tr>']
    head = "".join(f'<th style="{CELL}">{esc(c)}</th>' for c in columns)
    return (
        f'<table class="{css_class}" style="{style}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def badge(noun: str, field: str, value: str, styles: Mapping[str, str]) -> str:
    """``value`` (escaped) styled by ``styles``, classed e.g. ``iog-job-status iog-job-RUNNING``.

    A value that ``styles`` does not know is classed ``UNKNOWN`` and shown unstyled.
    """
    key = value if value in styles else "UNKNOWN"
    return (
        f'<span class="iog-{noun}-{field} iog-{noun}-{key}" '
        f'style="{styles.get(key, "")}">{esc(value)}</span>'
    )


def colored(text: str | None, color: str, tag: str = "span") -> str:
    """Escaped ``text`` in ``color``; ``""`` for no text. A ``div`` is an alert (error banner)."""
    if not text:
        return ""
    role = ' role="alert"' if tag == "div" else ""
    return f'<{tag} style="color:{color}"{role}>{esc(text)}</{tag}>'


def error_banner(error: str | None) -> str:
    """Why a list could not be read, as a red line above its table (``""`` for no error)."""
    return colored(error, ERROR_COLOR, "div")
