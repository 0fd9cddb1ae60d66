"""``iog_jupyter.workspace()``: cluster, jobs, sessions and detached actors in one tabbed widget.

Each tab's widget is built the first time its tab is shown, so opening the workspace costs one
cluster view. Every tab refreshes on the kernel's one shared refresher thread
(:mod:`.refresher`). ``close()`` closes every tab that was built. The HTML
fallback (for frontends without widgets) shows each built tab's own fallback, in tab order.
"""

from __future__ import annotations

import html
import importlib
import logging
from typing import Any

import ipywidgets as widgets

from .fallback import HtmlFallbackMixin

log = logging.getLogger(__name__)

#: Tab title by key (the widget's module, imported on first view), in tab order.
TABS = {"cluster": "Cluster", "jobs": "Jobs", "sessions": "Sessions", "actors": "Actors"}


class WorkspaceWidget(HtmlFallbackMixin, widgets.Tab):
    """Tabs of iog's widgets, each built when first selected (see the module docstring).

    Args:
        tabs: Which tabs, by key (``cluster``, ``jobs``, ``sessions``, ``actors``), in order.
        options: Keyword arguments per tab key, passed to that tab's widget.
        **kwargs: Passed to ``ipywidgets.Tab``.
    """

    def __init__(
        self,
        tabs: tuple[str, ...] = tuple(TABS),
        options: dict[str, dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = [t for t in tabs if t not in TABS]
        if unknown or not tabs:
            raise ValueError(
                f"Unknown workspace tab {unknown[0]!r}; choose from {', '.join(TABS)}."
                if unknown
                else "A workspace needs at least one tab."
            )
        self.kinds = list(tabs)
        self.options = dict(options or {})
        self.built: dict[str, Any] = {}
        placeholders = [widgets.HTML(value="<i>Loading…</i>") for _ in self.kinds]
        super().__init__(children=placeholders, **kwargs)
        self.titles = tuple(TABS[kind] for kind in self.kinds)
        self.add_class("iog-Workspace")
        self.observe(self._on_select, names="selected_index")
        self.show(self.kinds[0])

    def _on_select(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self.show(self.kinds[change["new"]])

    def show(self, kind: str) -> Any:
        """Select the tab ``kind``, building its widget first if needed; returns the widget."""
        index = self.kinds.index(kind)
        if kind not in self.built:
            try:
                module = importlib.import_module(f".{kind}", __package__)
                widget = getattr(module, f"{kind.capitalize()}Widget")(**self.options.get(kind, {}))
            except Exception as err:  # noqa: BLE001 - one failing tab must not break the rest
                log.warning("iog workspace: the %s tab failed to start: %s", kind, err)
                message = html.escape(f"{type(err).__name__}: {err}")
                widget = widgets.HTML(value=f"<b>Could not open this tab:</b> {message}")
            self.built[kind] = widget
            children = list(self.children)
            children[index] = widget
            self.children = children
        if self.selected_index != index:
            self.selected_index = index
        return self.built[kind]

    def _repr_html_(self) -> str:
        parts = []
        for kind, title in zip(self.kinds, self.titles, strict=True):
            fallback = getattr(self.built.get(kind), "_repr_html_", None)
            body = (
                fallback()
                if fallback
                else "<i>Open this tab in a widget-capable frontend to load it.</i>"
            )
            parts.append(f"<h3>{html.escape(title)}</h3>{body}")
        return '<div class="iog-Workspace">' + "".join(parts) + "</div>"

    def close(self) -> None:
        """Close every tab's widget (unsubscribing them from the refresher), then the tabs."""
        # getattr: __del__ calls close() on a widget whose __init__ refused its tabs.
        for widget in getattr(self, "built", {}).values():
            try:
                widget.close()
            except Exception as err:  # noqa: BLE001 - close the others whatever one does
                log.warning("iog workspace: closing a tab failed: %s", err)
        super().close()


def workspace(tabs: tuple[str, ...] = tuple(TABS), **options: dict[str, Any]) -> WorkspaceWidget:
    """Cluster, jobs, sessions and actors in tabs, in a notebook (JupyterLab, VS Code, ...).

    Args:
        tabs: Which tabs, in order (default: all four).
        **options: Per-tab widget options, e.g. ``jobs={"page_size": 50}``.

    Example:
        >>> import iog_jupyter
        >>> iog_jupyter.workspace()  # doctest: +SKIP
    """
    return WorkspaceWidget(tabs=tabs, options=options)
