"""Plotly figures of cluster resources, built by pure functions from snapshots and history.

Plotly renders trace text, hover text and tick labels as pseudo-HTML (``<b>``, ``<br>``,
``<a href>``), so every string that comes from the cluster (node names, IPs, pools, GPU names)
goes through :func:`html.escape` (:func:`.markup.esc`) before it reaches a figure. Everything here
is a pure function of its arguments: the widget builds a figure once and updates it in place with
:func:`update_dashboard_figure`, which keeps the number and order of traces fixed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..core.wire import ClusterSnapshot, HistoryPoint, NodeRecord, iso_from_ms
from .markup import esc

GIB = 1024.0**3

#: The per-node bar panels: (resource key, panel title, divisor for display, unit).
RESOURCE_PANELS: tuple[tuple[str, str, float, str], ...] = (
    ("CPU", "CPU", 1.0, "CPU"),
    ("GPU", "GPU", 1.0, "GPU"),
    ("memory", "Memory (GiB)", GIB, "GiB"),
    ("object_store_memory", "Object store (GiB)", GIB, "GiB"),
)

#: The history lines: (resource key, line name).
HISTORY_LINES: tuple[tuple[str, str], ...] = (
    ("CPU", "CPU used %"),
    ("GPU", "GPU used %"),
    ("memory", "Memory used %"),
)

_USED_COLOR = "#1f77b4"
_FREE_COLOR = "rgba(31, 119, 180, 0.18)"
_BAR_HOVER = (
    "%{customdata[0]}<br>pool %{customdata[1]} · %{customdata[2]}<br>"
    "%{customdata[3]}: %{customdata[4]:.3g} of %{customdata[5]:.3g} %{customdata[6]}"
    "<extra></extra>"
)


def node_labels(nodes: Sequence[NodeRecord]) -> list[str]:
    """Escaped, unique axis labels for nodes: the name, plus a short node id where names repeat.

    Nodes of one machine share an IP (and so a name); a repeated category would stack two nodes'
    bars on one another.
    """
    counts = Counter(node.node_name for node in nodes)
    labels = []
    for node in nodes:
        name = node.node_name or node.node_id[:12]
        if counts[node.node_name] > 1:
            name = f"{name} ({node.node_id[:6]})"
        if node.is_head:
            name = f"{name} (head)"
        labels.append(esc(name))
    return labels


def resource_bar_data(snapshot: ClusterSnapshot, resource: str) -> dict[str, dict[str, Any]]:
    """``{"used": {...}, "free": {...}}`` stacked-bar properties of a resource, per live node.

    Each has ``x``, ``y`` and ``customdata``. The x axis is two-level (pool, node) so that nodes
    are grouped by pool.
    """
    panel = next((p for p in RESOURCE_PANELS if p[0] == resource), (resource, resource, 1.0, ""))
    _, _, divisor, unit = panel
    nodes = [n for n in snapshot.nodes if n.state != "DEAD"]
    labels = node_labels(nodes)
    x = [[esc(n.pool) for n in nodes], labels]
    used: list[float] = []
    free: list[float] = []
    custom: list[list[Any]] = []
    for node, label in zip(nodes, labels, strict=True):
        total = node.resources_total.get(resource, 0.0) / divisor
        avail = node.resources_available.get(resource, 0.0) / divisor
        used.append(round(max(0.0, total - avail), 4))
        free.append(round(max(0.0, avail), 4))
        custom.append(
            [label, esc(node.pool), esc(node.state), esc(resource), used[-1], total, unit]
        )
    return {
        "used": {"x": x, "y": used, "customdata": custom},
        "free": {"x": x, "y": free, "customdata": custom},
    }


def history_line_data(history: Sequence[HistoryPoint]) -> list[dict[str, Any]]:
    """Per entry of :data:`HISTORY_LINES`, ``x`` (ISO times) and ``y`` (% used, None at total 0)."""
    times = [iso_from_ms(point.timestamp_ms) for point in history]
    lines = []
    for resource, _ in HISTORY_LINES:
        values: list[float | None] = []
        for point in history:
            total = point.totals.get(resource, 0.0)
            avail = point.available.get(resource, 0.0)
            values.append(round(100.0 * (total - avail) / total, 2) if total > 0 else None)
        lines.append({"x": times, "y": values})
    return lines


def gpu_utilization_data(snapshot: ClusterSnapshot) -> dict[str, Any]:
    """Bar properties of physical GPU utilisation, one bar per GPU that reports usage."""
    nodes = [n for n in snapshot.nodes if n.state != "DEAD"]
    x: list[str] = []
    y: list[float] = []
    custom: list[list[str]] = []
    for node, label in zip(nodes, node_labels(nodes), strict=True):
        for gpu in node.usage.gpus if node.usage is not None else []:
            x.append(f"{label} · GPU {gpu.index}")
            y.append(float(gpu.utilization_percent or 0.0))
            used = gpu.memory_used_bytes
            total = gpu.memory_total_bytes
            memory = f"{used / GIB:.1f} of {total / GIB:.1f} GiB" if used and total else "n/a"
            custom.append([esc(gpu.name), memory])
    return {"x": x, "y": y, "customdata": custom}


def _add_bars(fig: go.Figure, snapshot: ClusterSnapshot) -> None:
    """Each resource panel's ``used`` and ``free`` bars in row 1 (the first panel's in legend)."""
    for col, (resource, *_rest) in enumerate(RESOURCE_PANELS, start=1):
        data = resource_bar_data(snapshot, resource)
        for part, color in (("used", _USED_COLOR), ("free", _FREE_COLOR)):
            bar = go.Bar(
                name=part,
                marker_color=color,
                legendgroup=part,
                showlegend=col == 1,
                hovertemplate=_BAR_HOVER,
                **data[part],
            )
            fig.add_trace(bar, row=1, col=col)


def _gpu_trace(snapshot: ClusterSnapshot) -> go.Bar:
    return go.Bar(
        name="GPU util %",
        marker_color="#2ca02c",
        showlegend=False,
        hovertemplate="%{x}<br>%{customdata[0]}<br>%{y:.0f}% busy, memory %{customdata[1]}"
        "<extra></extra>",
        **gpu_utilization_data(snapshot),
    )


def _history_traces(history: Sequence[HistoryPoint]) -> list[go.Scatter]:
    return [
        go.Scatter(name=name, mode="lines", connectgaps=False, **data)
        for (_, name), data in zip(HISTORY_LINES, history_line_data(history), strict=True)
    ]


def resource_figure(snapshot: ClusterSnapshot) -> go.Figure:
    """Per-node used-vs-total stacked bars for CPU, GPU, memory and object store, by pool.

    Example:
        >>> resource_figure(get_cluster_snapshot(RayConnection()))  # doctest: +SKIP
    """
    fig = make_subplots(
        rows=1, cols=len(RESOURCE_PANELS), subplot_titles=[p[1] for p in RESOURCE_PANELS]
    )
    _add_bars(fig, snapshot)
    fig.update_layout(barmode="stack", height=320, margin={"t": 40, "b": 30, "l": 40, "r": 10})
    return fig


def _percent_figure(traces: Sequence[go.BaseTraceType], title: str) -> go.Figure:
    fig = go.Figure(traces)
    fig.update_layout(
        height=280,
        yaxis={"range": [0, 100], "title": title},
        margin={"t": 30, "b": 30, "l": 40, "r": 10},
    )
    return fig


def history_figure(history: Sequence[HistoryPoint]) -> go.Figure:
    """Lines of CPU, GPU and memory percent used over time, from history points."""
    return _percent_figure(_history_traces(history), "% used")


def gpu_figure(snapshot: ClusterSnapshot) -> go.Figure:
    """Physical utilisation of each GPU that reports usage (empty when none do)."""
    return _percent_figure([_gpu_trace(snapshot)], "% busy")


def dashboard_figure(
    snapshot: ClusterSnapshot, history: Sequence[HistoryPoint], widget: bool = False
) -> go.Figure:
    """Everything in one figure: per-node bars, the history lines and GPU utilisation.

    One figure instead of three keeps a displayed widget to one copy of plotly's JavaScript
    bundle (about 5 MB per ``FigureWidget``). With ``widget`` it is a ``go.FigureWidget`` (for
    in-place updates). The trace order is fixed: per resource ``used`` then ``free``; then the
    history lines; then the GPU utilisation bar. :func:`update_dashboard_figure` relies on it.
    """
    titles = [p[1] for p in RESOURCE_PANELS] + ["Used over time (%)", "GPU utilisation (%)"]
    fig = make_subplots(
        rows=2,
        cols=4,
        specs=[[{}, {}, {}, {}], [{"colspan": 2}, None, {"colspan": 2}, None]],
        subplot_titles=titles,
        vertical_spacing=0.2,
        figure=go.FigureWidget() if widget else None,
    )
    _add_bars(fig, snapshot)
    for trace in _history_traces(history):
        fig.add_trace(trace, row=2, col=1)
    fig.add_trace(_gpu_trace(snapshot), row=2, col=3)
    fig.update_yaxes(range=[0, 100], row=2, col=1)
    fig.update_yaxes(range=[0, 100], row=2, col=3)
    fig.update_layout(
        barmode="stack",
        height=560,
        margin={"t": 40, "b": 30, "l": 40, "r": 10},
        legend={"orientation": "h", "y": -0.08},
    )
    return fig


def update_dashboard_figure(
    fig: go.Figure, snapshot: ClusterSnapshot, history: Sequence[HistoryPoint]
) -> None:
    """Update a :func:`dashboard_figure` in place (one message to the frontend for a widget)."""
    updates: list[dict[str, Any]] = []
    for resource, *_rest in RESOURCE_PANELS:
        data = resource_bar_data(snapshot, resource)
        updates += [data["used"], data["free"]]
    updates += history_line_data(history)
    updates.append(gpu_utilization_data(snapshot))
    if len(fig.data) != len(updates):
        raise ValueError("update_dashboard_figure() needs a figure made by dashboard_figure()")
    with fig.batch_update():
        for trace, props in zip(fig.data, updates, strict=True):
            trace.update(props)
