"""The frame the jobs, sessions and actors widgets share: a refreshed table, a selector, actions.

:class:`ListWidget` refreshes on the kernel's shared refresher (:class:`~.refresher.Ticker`),
keeps the last list when a read fails (the error goes above the table), keeps the selector's
choice across refreshes, makes every action on the selected item take two clicks, and gives the
HTML fallback (``_repr_html_``) from the same markup as the live table.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from ..core.errors import IogError
from .fallback import HtmlFallbackMixin
from .markup import ERROR_COLOR, NOTICE_COLOR, colored
from .refresher import SharedRefresher, Ticker


class ListWidget(HtmlFallbackMixin, widgets.VBox):
    """A table refreshed on the shared refresher, a selector with confirmed actions, two lines.

    Args:
        select: The selector of the item the actions act on (its first option is ``None``).
        actions: The action buttons by action name (``"kill"``: a button described "Kill"); the
            subclass wires their clicks, which call :meth:`_confirmed` first.
        above: Rows shown above the table (filters, paging).
        below: Rows shown under the error and notice lines.
        refresh_interval_s: How often the kernel's shared refresher refreshes the table.
        refresher: The refresher that calls :meth:`refresh`; the kernel's shared one when None.
        owned: What :meth:`close` closes too (a source the widget opened itself), or None.
        autostart: Start refreshing at once; with False only :meth:`refresh` updates it.
        **kwargs: Passed to ``ipywidgets.VBox``.

    Attributes:
        page: The last list read (kept while reads fail); None before the first good read.
        list_error: Why the last read failed, or None.
    """

    #: The item, with its article, for "Select a job first."
    noun = "an item"
    #: The items, for "Loading jobs…".
    plural = "items"

    def __init__(
        self,
        select: widgets.Dropdown,
        actions: dict[str, widgets.Button],
        above: Sequence[widgets.Widget] = (),
        below: Sequence[widgets.Widget] = (),
        *,
        refresh_interval_s: float,
        refresher: SharedRefresher | None,
        owned: Any,
        autostart: bool,
        **kwargs: Any,
    ) -> None:
        self._lock = threading.RLock()
        self._closed = False
        self._ticker = Ticker(self.refresh, lambda: self.refresh_interval_s, refresher)
        self._owned = owned
        self.refresh_interval_s = float(refresh_interval_s)
        self.page: Any = None
        self.list_error: str | None = None
        self._armed: tuple[str, Any] | None = None  # (action, selected value)
        self._syncing: int | None = None  # the thread updating the selector's options
        self._select = select
        self._actions = actions
        self.table = widgets.HTML(value=f"<i>Loading {self.plural}…</i>")
        self.error_line = widgets.HTML(value="")
        self.notice_line = widgets.HTML(value="")
        rows = [self.table, widgets.HBox([select, *actions.values()]), self.error_line]
        super().__init__(children=[*above, *rows, self.notice_line, *below], **kwargs)
        select.observe(self._on_change, names="value")
        if autostart:
            self.start()

    # Subclasses read the list (outside the lock; raising IogError), give its escaped HTML and
    # the selector's options (``("—", None)`` first); the hooks after them may do more.
    def _fetch(self) -> Any:
        raise NotImplementedError

    def _html(self) -> str:
        raise NotImplementedError

    def _options(self) -> list[tuple[str, Any]]:
        raise NotImplementedError

    def _render(self) -> None:
        """Update what else shows the list (under the lock, after each refresh)."""

    def _on_select(self, value: Any) -> None:
        """The user selected ``value`` (the selector's own updates are not selections)."""

    def _stop_workers(self) -> None:
        """Stop what else works for the widget (called by :meth:`close`)."""

    # -- table -------------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe the table to the kernel's shared refresher (idempotent)."""
        with self._lock:
            if not self._closed:
                self._ticker.start()

    def refresh(self) -> None:
        """Read the list and show it (an error goes above the table, the last list stays)."""
        try:
            page, error = self._fetch(), None
        except IogError as err:
            page, error = None, err.message
        with self._lock:
            if self._closed:
                return
            self.list_error = error
            if page is not None:
                self.page = page
            self.table.value = self._html()
            self._render()
            self._sync_options()

    def _sync_options(self) -> None:
        """Offer :meth:`_options`, keeping the selection while it is offered."""
        options = self._options()
        selected = self._select.value
        if selected not in [value for _, value in options]:
            selected = None
        if list(self._select.options) != options:
            self._syncing = threading.get_ident()
            try:
                self._select.options = options
                self._select.value = selected
            finally:
                self._syncing = None
        if self._armed is not None and self._armed[1] != selected:
            self._disarm()

    def _on_change(self, change: Any) -> None:
        if self._syncing == threading.get_ident():
            return  # our own options update, not a selection
        self._disarm()
        self._on_select(change["new"])

    # -- confirmed actions -------------------------------------------------------------------

    def _confirmed(self, action: str, hint: str = "") -> Any:
        """The selected value on the second, confirming click of ``action``; None before.

        The first click arms the button ("Confirm kill?") and shows ``hint`` (formatted with
        ``key``, the selected value); any other action or selection disarms it.
        """
        key = self._select.value
        if key is None:
            self._disarm()
            self._show(error=f"Select {self.noun} first.")
            return None
        if self._armed != (action, key):
            self._disarm()
            self._armed = (action, key)
            button = self._actions[action]
            button.description, button.button_style = f"Confirm {action}?", "danger"
            if hint:
                self._show(notice=hint.format(key=key))
            return None
        self._disarm()
        return key

    def _disarm(self) -> None:
        self._armed = None
        for action, button in self._actions.items():
            button.description, button.button_style = action.capitalize(), ""

    def _show(self, error: str | None = None, notice: str | None = None) -> None:
        self.error_line.value = colored(error, ERROR_COLOR)
        self.notice_line.value = colored(notice, NOTICE_COLOR)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def threads(self) -> list[threading.Thread]:
        """The shared refresher's thread while it refreshes this widget (else empty)."""
        return self._ticker.alive()

    def close(self) -> None:
        """Unsubscribe, close the children (and what the widget opened itself)."""
        if not hasattr(self, "_ticker"):  # __init__ failed early; __del__ still calls close()
            super().close()
            return
        with self._lock:
            self._closed = True
        self._ticker.stop()
        self._stop_workers()
        stack = list(self.children)
        while stack:
            child = stack.pop()
            stack.extend(getattr(child, "children", ()))
            child.close()
        if self._owned is not None:
            self._owned.close()
        super().close()

    def _repr_html_(self) -> str:
        """The current list as a static, escaped HTML table."""
        if self.page is None and not self._closed:
            self.refresh()
        return self._html()
