"""The refresher's side of Ray: a snapshot function, and the thread that makes its calls.

:class:`RayCaller` makes each call (snapshots, widget refreshes) on a daemon thread of its
own, so that the kernel's refresher can give up on a call stuck inside Ray (a head killed
mid-call: Ray's client retries for a minute) and say the cluster is down within the interval,
as the server's monitor does.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from ..core.errors import IogError, RayUnavailableError
from ..core.wire import ClusterSnapshot

#: The name of the thread that makes the refresher's calls into Ray (one per refresher thread).
CALL_THREAD_NAME = "iog-refresher-ray"

#: How often a wait on the call thread looks whether the refresher is stopping.
STOP_CHECK_S = 0.1

T = TypeVar("T")


class RaySnapshots:
    """Takes snapshots on ``conn``, or a :class:`RayConnection` found from the environment.

    Besides the call, it lends the refresher the connection's port probe, deadline and wording,
    so a poll stuck inside Ray can be given up on (see :meth:`RayCaller.run`).
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


class RayCaller:
    """One daemon thread that makes the refresher's calls into Ray, so it can stop waiting.

    The cluster snapshots and the widgets' refreshes (jobs, sessions, actors) run here. A call
    stuck inside Ray (a head killed mid-call: Ray's client retries for a minute) keeps only
    this thread; the refresher goes on saying Ray is down, and a daemon thread never holds up
    the kernel's exit. One call at a time: none is made while an earlier one still runs.
    """

    def __init__(self, take: Callable[[], ClusterSnapshot]) -> None:
        self.take = take
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        #: The thread, once a call was made.
        self.thread: threading.Thread | None = None
        self._pending: Future[Any] | None = None

    @property
    def busy(self) -> bool:
        """Whether an earlier call still runs (stuck inside Ray, when given up on)."""
        return self._pending is not None and not self._pending.done()

    def snapshot(
        self, step_s: Callable[[], float], stop_event: threading.Event
    ) -> ClusterSnapshot | None:
        """One snapshot, given up on when the head is gone or past ``take.timeout_s``.

        Raises:
            IogError: Ray is unreachable, did not answer in time, or an earlier call still runs.
        """
        if self.busy:
            self._probe()
            raise self._unavailable("an earlier request is still waiting for an answer")
        timeout_s = float(getattr(self.take, "timeout_s", 10.0))
        return self.run(self.take, step_s, stop_event, timeout_s)

    def run(
        self,
        fn: Callable[[], T],
        step_s: Callable[[], float],
        stop_event: threading.Event,
        timeout_s: float | None = None,
        probe: bool = True,
    ) -> T | None:
        """``fn()`` on the thread (check :attr:`busy` first); its result, or None on stop.

        As the server's monitor does: each ``step_s()`` (the refresh interval) the call runs
        past, the GCS port is probed (unless ``probe`` is false), and a refused connection is the
        outage, said now; past ``timeout_s`` (None: no deadline) the call is given up on.

        Raises:
            IogError: What ``fn`` raised, Ray is unreachable, or the deadline passed.
        """
        self._pending = future = Future()
        if self.thread is None:
            self.thread = threading.Thread(target=self._work, name=CALL_THREAD_NAME, daemon=True)
            self.thread.start()
        self._queue.put((future, fn))
        now = time.monotonic()
        deadline = None if timeout_s is None else now + timeout_s
        next_probe = now + step_s()
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise self._unavailable(f"no answer within {timeout_s:g} s")
            until = next_probe if deadline is None else min(next_probe, deadline)
            try:  # in short slices, so that a stop is seen at once
                return future.result(max(0.0, min(STOP_CHECK_S, until - now)))
            except FutureTimeout:
                if stop_event.is_set():
                    return None
                if probe and time.monotonic() >= next_probe:
                    self._probe()
                    next_probe = time.monotonic() + step_s()

    def close(self) -> None:
        """End the thread (waiting a little for a call that is not stuck), close ``take``."""
        thread, self.thread = self.thread, None
        if thread is not None:
            self._queue.put(None)
            if thread is not threading.current_thread():
                thread.join(0.0 if self.busy else 1.0)
        close = getattr(self.take, "close", None)
        if close is not None:
            close()

    def _probe(self) -> None:
        probe = getattr(self.take, "probe", None)
        if probe is not None:
            probe()

    def _unavailable(self, detail: str) -> IogError:
        unavailable = getattr(self.take, "unavailable", RayUnavailableError)
        return unavailable(detail)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, fn = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as err:  # handed to the refresher, which says what failed
                    future.set_exception(err)
