"""Tornado handlers of the iog_jupyter server extension: thin, authenticated, authorized."""

from __future__ import annotations

from typing import Any

from .actors import default_handlers as actor_handlers
from .base import API_PREFIX
from .cluster import default_handlers as cluster_handlers
from .dashboard import dashboard_handlers
from .doctor import default_handlers as doctor_handlers
from .events import default_handlers as event_handlers
from .jobs import default_handlers as jobs_handlers
from .openapi import default_handlers as openapi_handlers
from .sessions import default_handlers as session_handlers
from .streams import default_handlers as stream_handlers


def all_handlers() -> list[tuple[str, Any]]:
    """Every route of the extension, relative to the server's base_url."""
    routes = cluster_handlers + jobs_handlers + stream_handlers + openapi_handlers
    routes = routes + actor_handlers
    routes = routes + session_handlers
    routes = routes + doctor_handlers + event_handlers
    api = [(f"{API_PREFIX}/{pattern}", handler) for pattern, handler in routes]
    # The read-only dashboard lives beside the API: {base_url}iog/dashboard/.
    return api + list(dashboard_handlers)
