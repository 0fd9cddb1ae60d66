"""HTML for :class:`~iog_jupyter.widgets.actors.ActorsWidget`: pure functions of actor records.

Every value that comes from Ray or a record (names, namespaces, owners, class names, errors) is
escaped with :func:`html.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.wire import ActorRecord
from .markup import badge, error_banner, esc, fmt_time, row_html, table_html

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
