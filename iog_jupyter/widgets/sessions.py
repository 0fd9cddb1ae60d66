"""``SessionsWidget``: which notebooks (Ray drivers) hold what, idle time, warnings, release.

A kernel has no handle on the Jupyter server, so the widget picks its source:

- **server** (:class:`ServerSessions`): when this kernel was started by a running Jupyter
  server with iog_jupyter (found by ``JPY_PARENT_PID`` in
  ``jupyter_server.serverapp.list_running_servers()``), it asks that server's REST API on this
  machine: kernel state, idle time, the idle policy's warnings, and audited releases under the
  server's rules (another user's session is refused).
- **ray** (:class:`RaySessions`): otherwise (VS Code, a plain kernel) it reads Ray's drivers
  through ``iog_jupyter.core``: what each holds, without kernel state or idle time. Releasing
  is then limited to sessions recorded as the same user's.

Every value that comes from Ray or Jupyter (paths, owners, ids, messages) is escaped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from ..core.errors import ForbiddenError, IogError
from ..core.sessions.connect import current_user, kernel_id
from .listwidget import ListWidget
from .markup import CELL, error_banner, esc, row_html, table_html
from .refresher import SharedRefresher

_COLUMNS = ("Session", "Notebook / kind", "Owner", "Kernel", "Idle", "Actors", "Tasks", "Holds")
_WARN = "color:#8a6d00;font-weight:bold"
_ID = "font-size:11px;color:#5f6368"
_STATE_STYLES = {"warned": _WARN, "due": _WARN, "released": "color:#5f6368", "exempt": ""}


def fmt_idle(idle_s: float | None) -> str:
    """Seconds as ``42 s``, ``12 min`` or ``3.5 h``; ``-`` when unknown."""
    if idle_s is None:
        return "-"
    if idle_s >= 3600:
        return f"{idle_s / 3600:.1f} h"
    if idle_s >= 60:
        return f"{idle_s / 60:.0f} min"
    return f"{idle_s:.0f} s"


def fmt_resources(resources: Mapping[str, float]) -> str:
    """``CPU 2, GPU 1, memory 4.0 GiB`` for the amounts that are not zero."""
    parts = []
    for name, value in sorted(resources.items()):
        if not value:
            continue
        if name == "memory":
            parts.append(f"memory {value / 2**30:.1f} GiB")
        else:
            parts.append(f"{name} {value:g}")
    return ", ".join(parts) or "nothing"


def sessions_table_html(
    sessions: Sequence[Mapping[str, Any]],
    error: str | None = None,
    own_kernel_id: str | None = None,
    source: str = "",
) -> str:
    """Sessions as an HTML table, with each warning on a row of its own; all text escaped.

    Args:
        sessions: ``SessionRecord`` JSON values.
        error: Why the list could not be read, shown above the table.
        own_kernel_id: This kernel's id: its row is marked "(this notebook)".
        source: Where the data came from, shown under the table.
    """
    rows = []
    for s in sessions:
        policy = s.get("policy") or {}
        state = str(policy.get("state") or "")
        where = s.get("notebook_path") or s.get("kind")
        if own_kernel_id and s.get("kernel_id") == own_kernel_id:
            where = f"{where} (this notebook)"
        if s.get("internal"):
            where = f"{where} (Ray's own driver: never released)"
        kernel = s.get("execution_state") or ("-" if s.get("kind") != "notebook" else "?")
        if state in _STATE_STYLES:
            kernel = f"{kernel}, {state}"
        cells = [
            f'{esc(s.get("label") or s.get("session_id"))}<div style="{_ID}">'
            f"<code>{esc(s.get('session_id'))}</code></div>",
            esc(where),
            esc(s.get("owner") or "-"),
            f'<span style="{_STATE_STYLES.get(state, "")}">{esc(kernel)}</span>',
            esc(fmt_idle(s.get("idle_s"))),
            esc(f"{s.get('actors', 0)} (+{s.get('detached_actors', 0)} detached)"),
            esc(s.get("running_tasks", 0)),
            esc(fmt_resources(s.get("resources") or {})),
        ]
        rows.append(row_html(cells))
        if policy.get("message"):
            style = _STATE_STYLES.get(state, "")
            rows.append(
                f'<tr class="iog-SessionsWidget-warning"><td colspan="{len(_COLUMNS)}" '
                f'style="{CELL};{style}">⚠ {esc(policy["message"])}</td></tr>'
            )
    foot = f'<div style="font-size:11px;color:#5f6368">{esc(source)}</div>' if source else ""
    table = table_html("iog-sessions", _COLUMNS, rows, "No Ray drivers.")
    return error_banner(error) + table + foot


class RaySessions:
    """Sessions straight from Ray (no Jupyter server): what each driver holds."""

    name = "Ray's drivers (no Jupyter server: kernel state and idle time unknown)"

    def __init__(self) -> None:
        from ..core.connection import RayConnection

        self.conn = RayConnection()

    def list(self) -> list[dict[str, Any]]:
        """``SessionRecord`` JSON of every live driver."""
        from ..core.sessions.drivers import list_sessions

        return [s.model_dump(mode="json") for s in list_sessions(self.conn)]

    def release(self, session: dict[str, Any]) -> dict[str, Any]:
        """Release a session recorded as this user's (or this kernel's own); else ForbiddenError."""
        from ..core.sessions.drivers import release_session

        own = session.get("kernel_id") and session.get("kernel_id") == kernel_id()
        if not own and session.get("owner") != current_user():
            raise ForbiddenError(
                f"Session {session.get('session_id')} is not recorded as yours "
                f"({session.get('owner') or 'no owner'}); release it from the Jupyter server "
                "or with `iog sessions release`."
            )
        return release_session(self.conn, str(session["session_id"])).model_dump(mode="json")

    def close(self) -> None:
        """Release the connection."""
        self.conn.close()


class ServerSessions:
    """Sessions through a Jupyter server's REST API (``GET sessions``, ``POST .../release``)."""

    def __init__(self, url: str, token: str | None) -> None:
        from ..client import IogClient

        self.client = IogClient(url, token)
        self.name = f"the Jupyter server at {self.client.url}"

    def list(self) -> list[dict[str, Any]]:
        """The server's session list."""
        return list(self._call("GET", "sessions").get("sessions") or [])

    def release(self, session: dict[str, Any]) -> dict[str, Any]:
        """Ask the server to release a session (audited there)."""
        return self._call("POST", "sessions", str(session["session_id"]), "release")

    def _call(self, method: str, *parts: str) -> dict[str, Any]:
        from ..client import IogClientError

        try:
            return self.client.request(method, *parts)
        except IogClientError as err:
            raise IogError(err.message) from None

    def close(self) -> None:
        """Release the HTTP pool."""
        self.client.close()


def parent_server_info() -> dict[str, Any] | None:
    """The runtime info (url, base_url, token, ...) of the Jupyter server that started this kernel.

    None outside a kernel of a Jupyter server running on this machine.
    """
    parent = os.environ.get("JPY_PARENT_PID", "")
    if not parent.isdigit():
        return None
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return None
    for info in list_running_servers():
        if str(info.get("pid")) == parent:
            return dict(info)
    return None


def default_source() -> RaySessions | ServerSessions:
    """The server that started this kernel when it runs here (with a token), else Ray directly."""
    info = parent_server_info()
    if info and info.get("token"):
        return ServerSessions(str(info["url"]), str(info["token"]))
    return RaySessions()


class SessionsWidget(ListWidget):
    """A table of sessions with idle time and warnings, and a Release button that confirms.

    Args:
        source: Where sessions come from; :func:`default_source` when None (and :meth:`close`
            closes it).
        refresh_interval_s, autostart, refresher, **kwargs: As for :class:`.ListWidget`.

    Release acts on the selected session and needs two clicks: the first arms the button
    ("Confirm release?"), the second releases; any other action disarms it. Ray's own drivers
    (``internal``) are listed but never offered.
    """

    noun, plural = "a session", "sessions"
    page: list[dict[str, Any]] | None

    def __init__(
        self,
        source: RaySessions | ServerSessions | None = None,
        refresh_interval_s: float = 5.0,
        autostart: bool = True,
        *,
        refresher: SharedRefresher | None = None,
        **kwargs: Any,
    ) -> None:
        owned = source is None
        self.source = source if source is not None else default_source()
        self.own_kernel_id = kernel_id()
        self.session_select = widgets.Dropdown(
            options=[("—", None)], value=None, description="Session"
        )
        self.release_button = widgets.Button(description="Release", icon="eject")
        super().__init__(
            self.session_select,
            {"release": self.release_button},
            refresh_interval_s=refresh_interval_s,
            refresher=refresher,
            owned=self.source if owned else None,
            autostart=autostart,
            **kwargs,
        )
        self.add_class("iog-SessionsWidget")
        self.release_button.on_click(lambda _: self.release_selected())

    def _fetch(self) -> list[dict[str, Any]]:
        return self.source.list()

    def _html(self) -> str:
        return sessions_table_html(
            self.page or [], self.list_error, self.own_kernel_id, f"From {self.source.name}."
        )

    def _options(self) -> list[tuple[str, Any]]:
        options: list[tuple[str, str | None]] = [("—", None)]
        for s in self.page or []:
            if not s.get("internal"):  # Ray's own drivers are never offered for release
                label = f"{s.get('label') or s.get('kind')} · {s['session_id']}"
                options.append((label[:80], s["session_id"]))
        return options

    @property
    def armed(self) -> bool:
        """Whether Release awaits its confirming click."""
        return self._armed is not None

    def release_selected(self) -> dict[str, Any] | None:
        """First call arms the button; the second releases the selected session."""
        sid = self._confirmed("release")
        if sid is None:
            return None
        session = next((s for s in self.page or [] if s["session_id"] == sid), {"session_id": sid})
        try:
            reply = self.source.release(session)
        except IogError as err:
            self._show(error=err.message)
            return None
        self._show(
            notice=f"Released {sid}: killed {len(reply.get('killed_actors') or [])} actor(s), "
            f"cancelled {reply.get('cancelled_tasks', 0)} task(s); kept "
            f"{reply.get('kept_detached_actors', 0)} detached actor(s)."
        )
        self.refresh()
        return reply
