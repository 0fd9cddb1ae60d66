"""Kernel-side widgets: cluster resources and jobs from ``iog_jupyter.core``, no server needed.

Imports are lazy, so ``import iog_jupyter.widgets`` stays cheap and plotly/ipywidgets load only when
a widget is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .actors import ActorsWidget
    from .cluster import ClusterWidget
    from .jobs import JobsWidget
    from .refresher import SharedRefresher, get_refresher
    from .sessions import SessionsWidget

__all__ = [
    "ActorsWidget",
    "ClusterWidget",
    "JobsWidget",
    "SessionsWidget",
    "SharedRefresher",
    "get_refresher",
]


def __getattr__(name: str) -> Any:
    """Import the public widgets on first access."""
    if name == "ActorsWidget":
        from .actors import ActorsWidget

        return ActorsWidget
    if name == "ClusterWidget":
        from .cluster import ClusterWidget

        return ClusterWidget
    if name == "JobsWidget":
        from .jobs import JobsWidget

        return JobsWidget
    if name == "SessionsWidget":
        from .sessions import SessionsWidget

        return SessionsWidget
    if name in ("SharedRefresher", "get_refresher"):
        from . import refresher

        return getattr(refresher, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
