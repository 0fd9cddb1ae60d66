"""Detached actors from a notebook: get_or_create, attach, list_detached, kill and touch.

Call ``iog_jupyter.connect()`` (or ``ray.init()``) first. A detached actor outlives the kernel
that made it; reattach to it from any notebook by name. Owner, kernel, creation time and TTL are
kept in Ray's GCS, and the Jupyter server's reaper kills actors whose TTL ran out.

Example:
    >>> import iog_jupyter  # doctest: +SKIP
    >>> iog_jupyter.connect()  # doctest: +SKIP
    >>> from iog_jupyter import actors  # doctest: +SKIP
    >>> counter = actors.get_or_create(Counter, "n", namespace="demo", ttl_s=600)  # doctest: +SKIP
    >>> actors.touch("n", namespace="demo")  # another 600 s  # doctest: +SKIP
"""

from __future__ import annotations

from .core.actors.kernel import (
    DEFAULT_NAMESPACE,
    attach,
    get_or_create,
    kill,
    list_detached,
    touch,
)
from .core.actors.records import ActorMeta
from .core.wire import ActorRecord

__all__ = [
    "DEFAULT_NAMESPACE",
    "ActorMeta",
    "ActorRecord",
    "attach",
    "get_or_create",
    "kill",
    "list_detached",
    "touch",
]
