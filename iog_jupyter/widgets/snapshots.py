"""The refresher's side of Ray: a snapshot function, and the thread that calls it.

:class:`SnapshotCaller` takes each snapshot on a daemon thread of its own, so that the kernel's
refresher can give up on a call stuck inside Ray (a head killed mid-call: Ray's client retries
for a minute) and say the cluster is down within the interval, as the server's monitor does.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from ..core.errors import IogError, RayUnavailableError
from ..core.wire import ClusterSnapshot

#: The name of the thread that makes the refresher's cluster calls (one per refresher thread).
CALL_THREAD_NAME = "iog-refresher-ray"


class RaySnapshots:
    """Takes snapshots on ``conn``, or a :class:`RayConnection` found from the environment.

    Besides the call, it lends the refresher the connection's port probe, deadline and wording,
    so a poll stuck inside Ray can be given up on (see :meth:`SnapshotCaller.snapshot`).
    """

    def __init__(self, conn: Any = None) -> None:
        self._conn = conn

    @property
    def conn(self) -> Any:
        """The connection (a :class:`RayConnection` from the environment unless given)."""
        if self._conn is None:
            from ..core.connection import RayConnection

            self._conn = RayConnection()
        return self._conn

    @property
    def timeout_s(self) -> float:
        """Our deadline for one snapshot (Ray's client would retry a dead head for a minute)."""
        return float(self.conn.request_timeout_s)

    def __call__(self) -> ClusterSnapshot:
        """One snapshot (blocks in Ray's client; the refresher calls it on its call thread)."""
        from ..core.cluster import get_cluster_snapshot

        return get_cluster_snapshot(self.conn)

    def probe(self) -> None:
        """Raise :class:`RayUnavailableError` when nothing listens at the GCS port."""
        self.conn.probe()

    def unavailable(self, detail: str) -> IogError:
        """The error saying Ray at this address did not answer, and why (``detail``)."""
        return self.conn.unavailable(detail)

    def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class SnapshotCaller:
    """One daemon thread that takes the refresher's snapshots, so the refresher can stop waiting.

    A call stuck inside Ray (a head killed mid-call: Ray's client retries for a minute) keeps
    only this thread; the refresher goes on saying Ray is down, and a daemon thread never holds
    up the kernel's exit. One call at a time: none is made while an earlier one still runs.
    """

    def __init__(self, take: Callable[[], ClusterSnapshot]) -> None:
        self.take = take
        self._queue: queue.SimpleQueue[Future[ClusterSnapshot] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending: Future[ClusterSnapshot] | None = None

    def snapshot(
        self, step_s: Callable[[], float], stop_event: threading.Event
    ) -> ClusterSnapshot | None:
        """One snapshot from the thread, given up on when the head is gone.

        As the server's monitor does: each ``step_s()`` (the refresh interval) the call runs
        past, the GCS port is probed, and a refused connection is the outage, said now; past
        ``take.timeout_s`` the call is given up on. None when ``stop_event`` is set meanwhile.

        Raises:
            IogError: Ray is unreachable, did not answer in time, or an earlier call still runs.
        """
        probe = getattr(self.take, "probe", None)
        unavailable = getattr(self.take, "unavailable", RayUnavailableError)
        if self._pending is not None and not self._pending.done():
            if probe is not None:
                probe()
            raise unavailable("an earlier request is still waiting for an answer")
        timeout_s = float(getattr(self.take, "timeout_s", 10.0))
        self._pending = future = Future()
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name=CALL_THREAD_NAME, daemon=True)
            self._thread.start()
        self._queue.put(future)
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise unavailable(f"no answer within {timeout_s:g} s")
            try:
                return future.result(min(step_s(), remaining))
            except FutureTimeout:
                if stop_event.is_set():
                    return None
                if probe is not None:
                    probe()

    def close(self) -> None:
        """End the thread (waiting a little for a call that is not stuck), close ``take``."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            stuck = self._pending is not None and not self._pending.done()
            thread.join(0.0 if stuck else 1.0)
        close = getattr(self.take, "close", None)
        if close is not None:
            close()

    def _work(self) -> None:
        while (future := self._queue.get()) is not None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(self.take())
                except BaseException as err:  # handed to the refresher, which says what failed
                    future.set_exception(err)
