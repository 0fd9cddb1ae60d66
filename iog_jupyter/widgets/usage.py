"""``UsageWidget``: who held the GPUs, for how long, and whether they used them.

The figures come from the Jupyter server, which samples the sessions (``GET usage``):

- **server**: when this kernel was started by a running Jupyter server with iog_jupyter, the
  widget asks it (as the sessions widget does);
- **store**: otherwise it reads that server's ``usage.sqlite`` on this machine, read-only
  (its state dir: ``state_dir``, default ``<jupyter data dir>/iog_jupyter``).

A window picker (1 h to 30 days) and a group picker (user, session, job) choose the report;
a plotly bar chart shows GPU-hours per row, coloured by GPU utilisation, above a table with
each row's summary. Frontends that cannot render widgets get the table (``_repr_html_``).
Every value that comes from a session, a job or a user (labels, keys, user names) is escaped,
in the table and in the figure (plotly renders trace text and tick labels as pseudo-HTML).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from ..core.errors import IogError
from ..core.wire import USAGE_GROUPS
from .fallback import HtmlFallbackMixin
from .markup import error_banner, esc, row_html, table_html

#: A report source: ``(since, until, group_by) -> UsageReport JSON``.
Source = Callable[[str | None, str | None, str], dict[str, Any]]
#: The window picker's choices: (label, ``since``).
WINDOWS = (
    ("last hour", "1h"),
    ("last 24 h", "24h"),
    ("last 7 days", "7d"),
    ("last 30 days", "30d"),
)


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
    head = foot = ""
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


def usage_figure() -> go.FigureWidget:
    """The empty GPU-hours bar chart that :meth:`UsageWidget.load` fills (grey: use unknown)."""
    bar = go.Bar(
        orientation="h",
        hovertemplate="%{y}<br>%{x:.3f} GPU-h<br>%{text}<extra></extra>",
        textposition="none",
        **usage_bar_data([]),
    )
    layout = go.Layout(
        title={"text": "GPU-hours held"},
        xaxis={"title": {"text": "GPU-hours"}},
        height=240,
        margin={"l": 10, "r": 10, "t": 40, "b": 40},
        yaxis={"automargin": True},
    )
    return go.FigureWidget(data=[bar], layout=layout)


def server_source(url: str, token: str | None) -> Source:
    """Reports from a Jupyter server's ``GET usage``."""
    from ..client import IogClient, IogClientError

    def fetch(since: str | None, until: str | None, group_by: str) -> dict[str, Any]:
        with contextlib.closing(IogClient(url, token)) as client:
            try:
                params = {"since": since, "until": until, "group_by": group_by}
                return client.request("GET", "usage", params=params)
            except IogClientError as err:
                raise IogError(err.message) from None

    return fetch


def store_source(state_dir: str | None = None) -> Source:
    """Reports from a server's ``usage.sqlite`` on this machine, opened read-only per report."""
    from ..config import default_state_dir
    from ..core.usage import UsageStore, build_report

    path = os.path.join(state_dir or default_state_dir(), "usage.sqlite")

    def fetch(since: str | None, until: str | None, group_by: str) -> dict[str, Any]:
        if not os.path.isfile(path):
            raise IogError(
                f"No usage recorded at {path}: the Jupyter server with iog_jupyter records it "
                "while it runs; open this notebook from that server."
            )
        with contextlib.closing(UsageStore(path, read_only=True)) as store:
            report = build_report(store, since, until, group_by, 0.0)
        return report.model_dump(mode="json")

    return fetch


def default_source() -> Source:
    """The server that started this kernel when it runs here (with a token), else its store."""
    from .sessions import parent_server_info

    info = parent_server_info()
    if info and info.get("token"):
        return server_source(str(info["url"]), str(info["token"]))
    return store_source()


class UsageWidget(HtmlFallbackMixin, widgets.VBox):
    """GPU-hours per user, session or job: a bar chart, a table, window and group pickers.

    Args:
        source: Where reports come from; :func:`default_source` when None.
        since: The initial window (``1h``, ``24h``, ``7d``, ``30d``, or any ``since`` the
            report accepts).
        group_by: ``user``, ``session`` or ``job``.
        autoload: Load the first report at once.
        **kwargs: Passed to ``ipywidgets.VBox``.

    Attributes:
        report: The report shown (``UsageReport`` JSON), kept when a reload fails.
        error: Why the last load failed, or None.

    Example:
        >>> from iog_jupyter.widgets import UsageWidget  # doctest: +SKIP
        >>> UsageWidget(since="7d", group_by="user")  # doctest: +SKIP
    """

    def __init__(
        self,
        source: Source | None = None,
        since: str = "24h",
        group_by: str = "session",
        autoload: bool = True,
        **kwargs: Any,
    ) -> None:
        self.source = source or default_source()
        windows = list(WINDOWS)
        if since not in (value for _, value in windows):
            windows.append((since, since))
        self.window = widgets.Dropdown(options=windows, value=since, description="Window")
        self.group = widgets.ToggleButtons(options=list(USAGE_GROUPS), value=group_by)
        self.reload_button = widgets.Button(description="Refresh", icon="refresh")
        self.figure = usage_figure()
        self.table = widgets.HTML(value="")
        controls = widgets.HBox([self.window, self.group, self.reload_button])
        super().__init__(children=[controls, self.figure, self.table], **kwargs)
        self.add_class("iog-UsageWidget")
        self.report: dict[str, Any] | None = None
        self.error: str | None = None
        for picker in (self.window, self.group):
            picker.observe(lambda _: self.load(), names="value")
        self.reload_button.on_click(lambda _: self.load())
        if autoload:
            self.load()

    def load(self) -> dict[str, Any] | None:
        """Read the report for the chosen window and group and show it; None when it failed."""
        try:
            report = self.source(self.window.value, None, self.group.value)
        except IogError as err:
            self.error = err.message
        else:
            self.report, self.error = report, None
            rows = report.get("rows") or []
            with self.figure.batch_update():
                bar = self.figure.data[0]
                for name, value in usage_bar_data(rows).items():
                    setattr(bar, name, value)
                self.figure.layout.height = max(240, 40 + 28 * len(rows))
        self.table.value = usage_table_html(self.report, self.error)
        return None if self.error else self.report

    def _repr_html_(self) -> str:
        """The table as static HTML, for frontends that cannot render widgets."""
        return usage_table_html(self.report, self.error)
