"""``ClusterWidget``: live cluster resources in a notebook, straight from ``iog_jupyter.core``.

It needs no Jupyter server (VS Code and Notebook 7 kernels work the same) and is not a Ray
driver. Every widget of a kernel shares one refresher (:mod:`.refresher`), so Ray is asked once per
interval however many widgets are shown. Frontends that cannot render widgets get the same
numbers as an HTML table (``_repr_html_``, also added to the widget's MIME bundle).
"""

from __future__ import annotations

import html
import threading
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from ..core.monitor import REFRESH_INTERVAL_S
from ..core.wire import ClusterSnapshot
from .fallback import HtmlFallbackMixin
from .figures import dashboard_figure, update_dashboard_figure
from .refresher import SharedRefresher, Ticker
from .tables import banner_html, cluster_html, demands_html, header_html, nodes_html

_EMPTY = ClusterSnapshot(timestamp_ms=0, totals={}, available={}, nodes=[])
#: The read-only dashboard proxy, relative to the Jupyter server's base URL.
DASHBOARD_PATH = "iog/dashboard/"


def dashboard_link_html(base_url: str | None) -> str:
    """A link to the Jupyter server's read-only Ray dashboard, or ``""`` when none is known.

    The link is root-relative (``{base_url}iog/dashboard/``), so it works through whatever host
    the browser reached Jupyter by; it opens a new tab with no opener and no referrer. Only a
    plain absolute path is accepted as ``base_url``.
    """
    if not base_url or not base_url.startswith("/") or base_url.startswith("//"):
        return ""
    href = html.escape(base_url.rstrip("/") + "/" + DASHBOARD_PATH, quote=True)
    return (
        f'<a class="iog-ClusterWidget-dashboard" href="{href}" target="_blank" '
        'rel="noopener noreferrer">Open the Ray dashboard (read-only)</a>'
    )


class ClusterWidget(HtmlFallbackMixin, widgets.VBox):
    """Cluster totals, per-node bars, usage history, a node table and waiting demands, live.

    Args:
        refresh_interval_s: How often to refresh. The kernel's shared refresher polls at the
            shortest interval any open widget asked for.
        refresher: The refresher to subscribe to; the kernel's shared one when None.
        autostart: Subscribe at once. With False, nothing polls until :meth:`start`, and
            :meth:`update` shows whatever snapshot it is given (tests, recorded snapshots).
        first_result_timeout_s: How long ``_repr_html_`` waits for a first snapshot.
        dashboard_base_url: The Jupyter server's base URL path for the link to its read-only
            dashboard; found from the server that started this kernel when None (no link when
            there is none, e.g. a plain Python process).
        **kwargs: Passed to ``ipywidgets.VBox`` (``layout`` and the like).

    Attributes:
        header: Totals: CPU, GPU, memory and object store used/total, nodes by state, pools.
        dashboard_link: A link to the server's read-only Ray dashboard (empty when unknown).
        banner: The disconnected banner (empty while Ray answers).
        figure: A plotly ``FigureWidget``, updated in place on every refresh.
        nodes: The node table.
        demands: Pending and infeasible resource demands with their reasons.
        snapshot: The latest snapshot shown (kept while Ray is unreachable).
        error: Why the last refresh failed, or None.

    Example:
        >>> from iog_jupyter.widgets import ClusterWidget  # doctest: +SKIP
        >>> widget = ClusterWidget(refresh_interval_s=2)  # doctest: +SKIP
        >>> widget  # displays it  # doctest: +SKIP
        >>> widget.close()  # the last widget's close() stops the refresher  # doctest: +SKIP
    """

    def __init__(
        self,
        refresh_interval_s: float = REFRESH_INTERVAL_S,
        *,
        refresher: SharedRefresher | None = None,
        autostart: bool = True,
        first_result_timeout_s: float = 10.0,
        dashboard_base_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.header = widgets.HTML(value="<i>Waiting for the first cluster snapshot…</i>")
        if dashboard_base_url is None:  # the server that started this kernel, if any
            from .sessions import parent_server_info

            info = parent_server_info()
            dashboard_base_url = str(info.get("base_url") or "/") if info else None
        self.dashboard_link = widgets.HTML(value=dashboard_link_html(dashboard_base_url))
        self.banner = widgets.HTML(value="")
        self.figure = dashboard_figure(_EMPTY, [], widget=True)
        self.nodes = widgets.HTML(value="")
        self.demands = widgets.HTML(value="")
        parts = [self.header, self.dashboard_link, self.banner, self.figure, self.nodes]
        super().__init__(children=[*parts, self.demands], **kwargs)
        self.add_class("iog-ClusterWidget")
        self.refresh_interval_s = float(refresh_interval_s)
        self.first_result_timeout_s = first_result_timeout_s
        self.snapshot: ClusterSnapshot | None = None
        self.error: str | None = None
        self._ticker = Ticker(self.update, lambda: self.refresh_interval_s, refresher, True)
        self._lock = threading.RLock()
        self._closed = False
        if autostart:
            self.start()

    @property
    def refresher(self) -> SharedRefresher:
        """The refresher this widget subscribes to."""
        return self._ticker.refresher

    @property
    def connected(self) -> bool:
        """Whether the last refresh reached Ray."""
        return self.snapshot is not None and self.error is None

    def start(self) -> None:
        """Subscribe to the shared refresher (starting it if this is its first widget)."""
        with self._lock:
            if not self._closed:
                self._ticker.start()

    def stop(self) -> None:
        """Unsubscribe; the refresher stops when no widget is left. The widget stays displayed."""
        self._ticker.stop()

    def update(
        self,
        snapshot: ClusterSnapshot | None = None,
        error: str | None = None,
        history: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        """Show a new snapshot, or an error (keeping the last snapshot, marked by the banner).

        ``history`` (for the usage lines) is the refresher's when None.
        """
        with self._lock:
            if self._closed:
                return
            if snapshot is not None:
                if self.snapshot is not None and snapshot.timestamp_ms < self.snapshot.timestamp_ms:
                    return  # an older result delivered late (subscribe() races the thread)
                # The view first, then ``connected`` (and on errors the other way round): whoever
                # reads ``connected`` without this lock never sees it true beside the banner.
                points = list(history) if history is not None else self.refresher.history
                if not points or points[-1].timestamp_ms != snapshot.timestamp_ms:
                    points.append(snapshot.history_point())
                update_dashboard_figure(self.figure, snapshot, points)
                self.header.value = header_html(snapshot)
                self.nodes.value = nodes_html(snapshot)
                self.demands.value = demands_html(snapshot)
                self.banner.value = ""
                self.snapshot, self.error = snapshot, None
            elif error is not None:
                self.error = error
                self.banner.value = banner_html(error, self.refresher.next_delay_s)

    def close(self) -> None:
        """Unsubscribe and close the widget and its children.

        The shared refresher stops when this was its last widget.
        """
        self.stop()
        with self._lock:
            self._closed = True
        for child in self.children:
            child.close()
        super().close()

    def _repr_html_(self) -> str:
        """The same numbers as static HTML, for frontends that cannot render widgets."""
        with self._lock:
            snapshot, error = self.snapshot, self.error
        if snapshot is None and error is None and self._ticker.alive():
            snapshot, error = self.refresher.wait_for_result(self.first_result_timeout_s)
        return cluster_html(snapshot, error)
