"""Kernel-side widgets: cluster resources and jobs from ``iog_jupyter.core``, no server needed.

Imports are lazy, so ``import iog_jupyter.widgets`` stays cheap and plotly/ipywidgets load only when
a widget is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .actors import ActorsWidget
    from .cluster import ClusterWidget
    from .jobs import JobsWidget
    from .refresher import SharedRefresher, get_refresher
    from .sessions import SessionsWidget
    from .usage import UsageWidget

__all__ = [
    "ActorsWidget",
    "ClusterWidget",
    "JobsWidget",
    "SessionsWidget",
    "SharedRefresher",
    "UsageWidget",
    "get_refresher",
]


#: Where each public name lives.
_MODULES = {
    "ActorsWidget": "actors",
    "ClusterWidget": "cluster",
    "JobsWidget": "jobs",
    "SessionsWidget": "sessions",
    "SharedRefresher": "refresher",
    "get_refresher": "refresher",
    "UsageWidget": "usage",
}


def __getattr__(name: str) -> Any:
    """Import the public widgets on first access."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_MODULES[name]}", __name__), name)
