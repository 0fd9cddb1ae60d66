"""Deleted job ids, kept as tombstones in Ray's KV store (namespace ``iog_jupyter``).

Every Jupyter server on the cluster, and this one after a restart, reads them, so a deleted job
stays hidden from ``get``/``list`` (and is deleted again) when Ray writes it back later. This
server's own tombstones are cached at once; the others' are read at most every ``refresh_s``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .. import _ray_compat
from ..connection import RayConnection

log = logging.getLogger(__name__)
T = TypeVar("T")
_NAMESPACE = b"iog_jupyter"
_PREFIX = b"deleted_job:"


class Tombstones:
    """The deleted job ids on the cluster, by wall-clock time of the delete.

    Deleted ids stay hidden (and re-deleted if they reappear) for ``ttl_s``.
    """

    def __init__(self, conn: RayConnection, ttl_s: float, refresh_s: float) -> None:
        self.conn = conn
        self.ttl_s = ttl_s
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._cache: dict[str, float] = {}  # id -> wall-clock time of the delete
        self._read = -float("inf")  # monotonic time of the last full read

    def _kv(self, fn: Callable[..., T], *args: Any) -> T | None:
        """One KV call on the GCS; None (logged) when the GCS does not answer."""
        try:
            self.conn.prepare_ray_client()
            return fn(self.conn.address, *args, _NAMESPACE, self.conn.request_timeout_s)
        except Exception as err:  # noqa: BLE001 - Ray raises RpcError, ConnectionError, ...
            log.warning("Ray's KV store did not answer (%s); tombstones cached only", err)
            return None

    def bury(self, submission_id: str) -> None:
        """Record a delete, here and in Ray's KV store."""
        now = time.time()
        with self._lock:
            self._cache[submission_id] = now
        value = json.dumps({"deleted_at": now}).encode()
        self._kv(_ray_compat.kv_put, _PREFIX + submission_id.encode(), value)

    def unbury(self, submission_id: str) -> None:
        """Lift a tombstone (a new submit reuses the id)."""
        with self._lock:
            self._cache.pop(submission_id, None)
        self._kv(_ray_compat.kv_del, _PREFIX + submission_id.encode())

    def load(self) -> dict[str, float]:
        """All tombstones on the cluster (expired ones dropped, also from Ray's KV store)."""
        if time.monotonic() - self._read < self.refresh_s:
            with self._lock:
                return dict(self._cache)
        found = self._kv(_ray_compat.kv_scan, _PREFIX) or {}
        self._read = time.monotonic()
        now = time.time()
        with self._lock:
            for key, value in found.items():
                try:
                    when = float(json.loads(value)["deleted_at"])
                except (ValueError, KeyError, TypeError):
                    when = now
                sid = key[len(_PREFIX) :].decode(errors="replace")
                self._cache[sid] = max(when, self._cache.get(sid, 0.0))
            expired = [k for k, t in self._cache.items() if now - t > self.ttl_s]
            for key in expired:
                del self._cache[key]
            tombstones = dict(self._cache)
        for key in expired:
            if _PREFIX + key.encode() in found:
                self._kv(_ray_compat.kv_del, _PREFIX + key.encode())
        return tombstones

    def __contains__(self, submission_id: str) -> bool:
        when = self.load().get(submission_id)
        return when is not None and time.time() - when <= self.ttl_s
