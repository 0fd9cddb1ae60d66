"""Sessions (Ray drivers): what connect() records, the live drivers, the idle policy.

``connect`` holds ``connect()`` and what it records, ``drivers`` lists live drivers and
releases them, and ``service`` is the server's session service with its idle policy.
"""

from .drivers import list_sessions, release_session

__all__ = ["list_sessions", "release_session"]
