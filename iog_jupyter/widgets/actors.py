"""``ActorsWidget``: detached actors with owner, TTL and state; filter by namespace; kill.

Like the other widgets it needs no Jupyter server: it reads Ray's named actors and iog's records
through :class:`~iog_jupyter.core.actors.registry.ActorRegistry` (GCS calls; the widget is not a
Ray driver). Kill needs two clicks, and protected actors (Ray's internal ones, job supervisors,
iog's namespace, ``serve``) are never offered. Every value from Ray is escaped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from ..core.actors.records import DEFAULT_PROTECTED_NAMESPACES
from ..core.actors.registry import ActorRegistry
from ..core.errors import IogError
from ..core.wire import ActorPage, ActorRecord
from .listwidget import ListWidget
from .markup import badge, error_banner, esc, fmt_time, row_html, table_html
from .refresher import SharedRefresher

STATE_STYLES = {
    "ALIVE": "color:#188038;font-weight:bold",
    "PENDING_CREATION": "color:#8a6d00",
    "DEPENDENCIES_UNREADY": "color:#8a6d00",
    "RESTARTING": "color:#1a73e8",
    "DEAD": "color:#5f6368",
}
COLUMNS = ("Namespace", "Name", "State", "Class", "Owner", "Created", "TTL", "Expires")


def fmt_duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.5 h`` or ``2.0 d``."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def expiry_text(actor: ActorRecord, now_ms: int) -> str:
    """When the reaper kills the actor: ``never``, ``in 12 min`` or ``due now``."""
    if actor.expires_ms is None:
        return "never"
    left_s = (actor.expires_ms - now_ms) / 1000
    return f"in {fmt_duration(left_s)}" if left_s > 0 else "due now"


def actors_table_html(actors: Sequence[ActorRecord], now_ms: int, error: str | None = None) -> str:
    """The actors as an HTML table (every value escaped), ``error`` above it.

    Expiries count from ``now_ms`` (epoch ms).
    """
    rows = []
    for a in actors:
        name = f"<code>{esc(a.name)}</code>" + (" <i>(protected)</i>" if a.protected else "")
        cells = [
            esc(a.namespace),
            name,
            badge("actor", "state", a.state, STATE_STYLES),
            esc(a.class_name),
            esc(a.owner or "—"),
            fmt_time(a.created_ms),
            "—" if a.ttl_s is None else esc(fmt_duration(a.ttl_s)),
            esc(expiry_text(a, now_ms)),
        ]
        rows.append(row_html(cells))
    return error_banner(error) + table_html("iog-actors", COLUMNS, rows, "No detached actors.")


def _default_registry() -> ActorRegistry:
    from ..core.connection import RayConnection

    return ActorRegistry(RayConnection(), DEFAULT_PROTECTED_NAMESPACES)


class ActorsWidget(ListWidget):
    """A live table of detached actors with a namespace filter and a confirmed kill.

    Args:
        registry: Where actors come from; a registry on ``RayConnection()`` when None (and
            :meth:`close` closes its connection).
        namespace: Show only this namespace (the filter box can change it).
        detached_only: Only detached actors (False: every named actor).
        refresh_interval_s, autostart, refresher, **kwargs: As for :class:`.ListWidget`.
        page_size: Most actors shown.

    Example:
        >>> from iog_jupyter.widgets import ActorsWidget  # doctest: +SKIP
        >>> ActorsWidget(namespace="team")  # doctest: +SKIP
    """

    noun, plural = "an actor", "actors"
    page: ActorPage | None

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
        owned = registry is None
        self.registry = registry if registry is not None else _default_registry()
        self.detached_only = detached_only
        self.page_size = int(page_size)
        self.namespace_filter = widgets.Text(
            value=namespace or "",
            description="Namespace",
            placeholder="all (Enter to apply)",
            continuous_update=False,
        )
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.count_label = widgets.HTML(value="")
        self.actor_select = widgets.Dropdown(options=[("—", None)], value=None, description="Actor")
        self.kill_button = widgets.Button(description="Kill", icon="times")
        super().__init__(
            self.actor_select,
            {"kill": self.kill_button},
            [widgets.HBox([self.namespace_filter, self.refresh_button, self.count_label])],
            refresh_interval_s=refresh_interval_s,
            refresher=refresher,
            owned=self.registry.conn if owned else None,
            autostart=autostart,
            **kwargs,
        )
        self.add_class("iog-ActorsWidget")
        self.namespace_filter.observe(lambda _: self._user_refresh(), names="value")
        self.refresh_button.on_click(lambda _: self._user_refresh())
        self.kill_button.on_click(lambda _: self.kill_selected())

    def _user_refresh(self) -> None:
        self._disarm()
        self.refresh()

    def _fetch(self) -> ActorPage:
        return self.registry.list(
            detached=True if self.detached_only else None,
            namespace=self.namespace_filter.value.strip() or None,
            limit=self.page_size,
        )

    def _html(self) -> str:
        actors = self.page.actors if self.page else []
        return actors_table_html(actors, int(time.time() * 1000), self.list_error)

    def _render(self) -> None:
        actors, total = (self.page.actors, self.page.total) if self.page else ([], 0)
        if total is None:  # a filtered page (detached only) is not counted
            more = self.page is not None and self.page.next_cursor is not None
            shown = f"{len(actors)}+" if more else str(len(actors))
        else:
            shown = f"{len(actors)} of {total}" if total > len(actors) else str(total)
        self.count_label.value = f"{shown} actor(s)"

    def _options(self) -> list[tuple[str, Any]]:
        actors = self.page.actors if self.page else []
        keys = [(a.namespace, a.name) for a in actors if not a.protected and a.state != "DEAD"]
        return [("—", None)] + [(f"{ns} / {name}", (ns, name)) for ns, name in keys]

    @property
    def armed(self) -> tuple[str, str] | None:
        """The ``(namespace, name)`` the Kill button waits to confirm, or None."""
        return self._armed[1] if self._armed else None

    def kill_selected(self) -> bool:
        """First click arms the button ("Confirm kill?"); the second kills. True when killed."""
        key = self._confirmed("kill", "Click again to kill {key[1]} in {key[0]}.")
        if key is None:
            return False
        try:
            self.registry.kill(*key)
        except IogError as err:
            self._show(error=err.message)
            self.refresh()
            return False
        self._show(notice=f"Killed {key[1]} in {key[0]}.")
        self.refresh()
        return True
