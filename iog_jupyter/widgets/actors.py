"""``ActorsWidget``: detached actors with owner, TTL and state; filter by namespace; kill.

Like the other widgets it needs no Jupyter server: it reads Ray's named actors and iog's records
through :class:`~iog_jupyter.core.actors.registry.ActorRegistry` (GCS calls; the widget is not a
Ray driver). Kill needs two clicks, and protected actors (Ray's internal ones, job supervisors,
iog's namespace, ``serve``) are never offered. Every value from Ray is escaped.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import ipywidgets as widgets

from ..core.actors.records import DEFAULT_PROTECTED_NAMESPACES
from ..core.actors.registry import ActorRegistry
from ..core.errors import IogError
from ..core.wire import ActorPage, ActorRecord
from .actors_html import actors_table_html
from .fallback import HtmlFallbackMixin
from .jobs_html import esc
from .refresher import SharedRefresher, Ticker


def _default_registry() -> ActorRegistry:
    from ..core.connection import RayConnection

    return ActorRegistry(RayConnection(), DEFAULT_PROTECTED_NAMESPACES)


class ActorsWidget(HtmlFallbackMixin, widgets.VBox):
    """A live table of detached actors with a namespace filter and a confirmed kill.

    Args:
        registry: Where actors come from; a registry on ``RayConnection()`` when None (and
            :meth:`close` closes its connection).
        namespace: Show only this namespace (the filter box can change it).
        detached_only: Only detached actors (False: every named actor).
        refresh_interval_s: How often the kernel's shared refresher refreshes the table.
        autostart: Start refreshing at once; with False only :meth:`refresh` updates it.
        page_size: Most actors shown.
        refresher: The refresher that calls :meth:`refresh`; the kernel's shared one when None.
        **kwargs: Passed to ``ipywidgets.VBox``.

    Example:
        >>> from iog_jupyter.widgets import ActorsWidget  # doctest: +SKIP
        >>> ActorsWidget(namespace="team")  # doctest: +SKIP
    """

    def __init__(
        self,
        registry: ActorRegistry | None = None,
        namespace: str | None = None,
        detached_only: bool = True,
        refresh_interval_s: float = 5.0,
        autostart: bool = True,
        page_size: int = 200,
        *,
        refresher: SharedRefresher | None = None,
        **kwargs: Any,
    ) -> None:
        self._lock = threading.RLock()
        self._closed = False
        self._ticker = Ticker(self.refresh, lambda: self.refresh_interval_s, refresher)
        self._owns_registry = registry is None
        self.registry = registry if registry is not None else _default_registry()
        self.detached_only = detached_only
        self.refresh_interval_s = float(refresh_interval_s)
        self.page_size = int(page_size)
        W = widgets
        self.namespace_filter = W.Text(
            value=namespace or "",
            description="Namespace",
            placeholder="all (Enter to apply)",
            continuous_update=False,
        )
        self.refresh_button = W.Button(description="Refresh", icon="refresh")
        self.count_label = W.HTML(value="")
        self.table = W.HTML(value="<i>Loading actors…</i>")
        self.actor_select = W.Dropdown(options=[("—", None)], value=None, description="Actor")
        self.kill_button = W.Button(description="Kill", icon="times")
        self.error_line = W.HTML(value="")
        self.notice_line = W.HTML(value="")
        super().__init__(
            children=[
                W.HBox([self.namespace_filter, self.refresh_button, self.count_label]),
                self.table,
                W.HBox([self.actor_select, self.kill_button]),
                self.error_line,
                self.notice_line,
            ],
            **kwargs,
        )
        self.add_class("iog-ActorsWidget")
        self.page: ActorPage | None = None
        self.list_error: str | None = None
        self._armed: tuple[str, str] | None = None
        self.namespace_filter.observe(lambda _: self._user_refresh(), names="value")
        self.refresh_button.on_click(lambda _: self._user_refresh())
        self.kill_button.on_click(lambda _: self.kill_selected())
        if autostart:
            self.start()

    # -- table -------------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe the table to the kernel's shared refresher (idempotent)."""
        with self._lock:
            if not self._closed:
                self._ticker.start()

    def _user_refresh(self) -> None:
        self._disarm()
        self.refresh()

    def refresh(self) -> None:
        """Read the actors and show them (an error goes above the table, the last list stays)."""
        namespace = self.namespace_filter.value.strip() or None
        try:
            page = self.registry.list(
                detached=True if self.detached_only else None,
                namespace=namespace,
                limit=self.page_size,
            )
            error = None
        except IogError as err:
            page, error = None, err.message
        with self._lock:
            if self._closed:
                return
            self.list_error = error
            if page is not None:
                self.page = page
            actors = self.page.actors if self.page else []
            self.table.value = actors_table_html(actors, int(time.time() * 1000), error)
            total = self.page.total if self.page else 0
            shown = f"{len(actors)} of {total}" if total > len(actors) else str(total)
            self.count_label.value = f"{shown} actor(s)"
            self._sync_options(actors)

    def _sync_options(self, actors: list[ActorRecord]) -> None:
        selected = self.actor_select.value
        keys = [(a.namespace, a.name) for a in actors if not a.protected and a.state != "DEAD"]
        if selected is not None and selected not in keys:
            selected = None
        options = [("—", None)] + [(f"{ns} / {name}", (ns, name)) for ns, name in keys]
        if list(self.actor_select.options) != options:
            self.actor_select.options = options
            self.actor_select.value = selected

    # -- kill --------------------------------------------------------------------------------

    @property
    def armed(self) -> tuple[str, str] | None:
        """The ``(namespace, name)`` the Kill button waits to confirm, or None."""
        return self._armed

    def kill_selected(self) -> bool:
        """First click arms the button ("Confirm kill?"); the second kills. True when killed."""
        key = self.actor_select.value
        if key is None:
            self._disarm()
            self._show_error("Select an actor first.")
            return False
        if self._armed != key:
            self._armed = key
            self.kill_button.description = "Confirm kill?"
            self.kill_button.button_style = "danger"
            self._show_notice(f"Click again to kill {key[1]} in {key[0]}.")
            return False
        self._disarm()
        try:
            self.registry.kill(*key)
        except IogError as err:
            self._show_error(err.message)
            self.refresh()
            return False
        self._show_notice(f"Killed {key[1]} in {key[0]}.")
        self.refresh()
        return True

    def _disarm(self) -> None:
        self._armed = None
        self.kill_button.description, self.kill_button.button_style = "Kill", ""

    def _show_error(self, message: str) -> None:
        self.error_line.value = f'<span style="color:#d93025">{esc(message)}</span>'
        self.notice_line.value = ""

    def _show_notice(self, message: str) -> None:
        self.notice_line.value = f'<span style="color:#188038">{esc(message)}</span>'
        self.error_line.value = ""

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def threads(self) -> list[threading.Thread]:
        """The shared refresher's thread while it refreshes this widget (else empty)."""
        return self._ticker.alive()

    def close(self) -> None:
        """Stop refreshing, close the children (and the connection of an owned registry)."""
        with self._lock:
            self._closed = True
        self._ticker.stop()
        stack = list(self.children)
        while stack:
            child = stack.pop()
            stack.extend(getattr(child, "children", ()))
            child.close()
        if self._owns_registry:
            self.registry.conn.close()
        super().close()

    def _repr_html_(self) -> str:
        """The current actors as a static, escaped HTML table."""
        if self.page is None and not self._closed:
            self.refresh()
        actors = self.page.actors if self.page else []
        return actors_table_html(actors, int(time.time() * 1000), self.list_error)
