"""HTML for :class:`~iog_jupyter.widgets.sessions.SessionsWidget`: pure functions.

Every value that comes from Ray or Jupyter (paths, owners, ids, messages) is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .markup import CELL, error_banner, esc, row_html, table_html

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
