"""HTML and the plotly figure of :class:`~iog_jupyter.widgets.usage.UsageWidget`: pure functions.

Every value that comes from a session, a job or a user (labels, keys, user names) is escaped,
in the table and in the figure (plotly renders trace text and tick labels as pseudo-HTML).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from .markup import error_banner, esc, row_html, table_html

_COLUMNS = ("Name", "User", "GPU-h", "CPU-h", "Memory GiB-h", "Max GPUs", "GPU used", "Summary")
_NOTE = "font-size:11px;color:#5f6368"


def _hours(seconds: float | None) -> str:
    return f"{(seconds or 0.0) / 3600:.3f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} %"


def usage_table_html(report: Mapping[str, Any] | None, error: str | None = None) -> str:
    """A report (``UsageReport`` JSON) as an HTML table with its window and note; all escaped."""
    rows = []
    for r in (report or {}).get("rows") or []:
        rows.append(
            row_html(
                [
                    f'{esc(r.get("label"))}<div style="{_NOTE}"><code>{esc(r.get("key"))}'
                    "</code></div>",
                    esc(r.get("user") or "-"),
                    _hours(r.get("gpu_seconds")),
                    _hours(r.get("cpu_seconds")),
                    f"{(r.get('memory_byte_seconds') or 0) / 2**30 / 3600:.3f}",
                    esc(f"{r.get('max_gpus') or 0:g}"),
                    _percent(r.get("gpu_utilization_percent")),
                    esc(r.get("summary")),
                ]
            )
        )
    head = ""
    foot = ""
    if report:
        head = (
            f'<div style="{_NOTE}">By {esc(report.get("group_by"))}, '
            f"{esc(report.get('since'))} to {esc(report.get('until'))}</div>"
        )
        foot = f'<div style="{_NOTE}">{esc(report.get("note"))}</div>'
    table = table_html("iog-usage", _COLUMNS, rows, "Nothing held in this window.")
    return error_banner(error) + head + table + foot


def usage_bar_data(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Horizontal-bar properties: one bar per row, GPU-hours long, coloured by utilisation.

    Rows are drawn most GPU-hours at the top; labels are escaped and made unique with the key.
    """
    ordered = list(reversed(rows))
    labels = [esc(f"{r.get('label')} · {str(r.get('key'))[:12]}") for r in ordered]
    utilisation = [r.get("gpu_utilization_percent") for r in ordered]
    return {
        "x": [(r.get("gpu_seconds") or 0.0) / 3600 for r in ordered],
        "y": labels,
        "text": [esc(r.get("summary")) for r in ordered],
        "marker": {
            "color": [-1 if u is None else u for u in utilisation],
            "cmin": -1,
            "cmax": 100,
            "colorscale": [[0, "#bdbdbd"], [0.0099, "#bdbdbd"], [0.01, "#d93025"], [1, "#188038"]],
            "colorbar": {"title": {"text": "GPU used %"}},
        },
    }


def usage_figure(rows: Sequence[Mapping[str, Any]], widget: bool = False) -> go.Figure:
    """GPU-hours per row (a ``FigureWidget`` with ``widget``); grey bars: utilisation unknown."""
    bar = go.Bar(
        orientation="h",
        hovertemplate="%{y}<br>%{x:.3f} GPU-h<br>%{text}<extra></extra>",
        textposition="none",
        **usage_bar_data(rows),
    )
    layout = go.Layout(
        title={"text": "GPU-hours held"},
        xaxis={"title": {"text": "GPU-hours"}},
        height=max(240, 40 + 28 * len(rows)),
        margin={"l": 10, "r": 10, "t": 40, "b": 40},
        yaxis={"automargin": True},
    )
    return (go.FigureWidget if widget else go.Figure)(data=[bar], layout=layout)
