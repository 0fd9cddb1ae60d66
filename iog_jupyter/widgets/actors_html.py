"""HTML for :class:`~iog_jupyter.widgets.actors.ActorsWidget`: pure functions of actor records.

Every value that comes from Ray or a record (names, namespaces, owners, class names, errors) is
escaped with :func:`html.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.wire import ActorRecord
from .jobs_html import esc, fmt_time

STATE_STYLES = {
    "ALIVE": "color:#188038;font-weight:bold",
    "PENDING_CREATION": "color:#8a6d00",
    "DEPENDENCIES_UNREADY": "color:#8a6d00",
    "RESTARTING": "color:#1a73e8",
    "DEAD": "color:#5f6368",
}
_CELL = "padding:2px 8px;border-bottom:1px solid var(--jp-border-color2, #ddd);text-align:left"
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
    """The actors as an HTML table; every value is escaped.

    Args:
        actors: The actors to show, in order.
        now_ms: The time expiries are counted from (epoch ms).
        error: Why the list could not be read, shown above the table.
    """
    head = "".join(f'<th style="{_CELL}">{c}</th>' for c in COLUMNS)
    rows = []
    for a in actors:
        state = a.state if a.state in STATE_STYLES else "UNKNOWN"
        name = f"<code>{esc(a.name)}</code>" + (" <i>(protected)</i>" if a.protected else "")
        cells = [
            esc(a.namespace),
            name,
            f'<span class="iog-actor-state iog-actor-{state}" '
            f'style="{STATE_STYLES.get(state, "")}">{esc(a.state)}</span>',
            esc(a.class_name),
            esc(a.owner or "—"),
            fmt_time(a.created_ms),
            "—" if a.ttl_s is None else esc(fmt_duration(a.ttl_s)),
            esc(expiry_text(a, now_ms)),
        ]
        rows.append("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in cells) + "</tr>")
    if not rows:
        rows.append(
            f'<tr><td colspan="{len(COLUMNS)}" style="{_CELL}"><i>No detached actors.</i></td></tr>'
        )
    banner = f'<div style="color:#d93025" role="alert">{esc(error)}</div>' if error else ""
    return (
        f'{banner}<table class="iog-actors" style="border-collapse:collapse;font-size:12px">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
