"""Tornado handlers of the iog_jupyter server extension: thin, authenticated, authorized.

``routes.ROUTES`` is the table of every route; ``contract`` turns it into query validation and
the OpenAPI document.
"""

from __future__ import annotations

from .routes import ROUTES, all_handlers

__all__ = ["ROUTES", "all_handlers"]
