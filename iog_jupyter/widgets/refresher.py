"""One shared cluster poller per kernel process, whatever the number of widgets (DESIGN rule 2).

Why a daemon thread and not a periodic callback on the kernel's IOLoop (as dask's
``Cluster._widget`` does): ``get_cluster_snapshot()`` blocks (a TCP probe, then Ray's GCS client,
up to ``request_timeout_s``), so on the IOLoop it would stall the kernel's message handling; and
the kernel's loop does not turn while a cell runs, which is exactly when a user wants to watch a
Ray workload use the cluster. A thread keeps refreshing during long cells, works the same in
JupyterLab, Notebook 7 and VS Code kernels (and in plain Python), and needs no running loop.
Widget trait changes made from it go out through ipykernel's IOPub thread, which queues sends
from any thread.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.errors import IogError
from ..core.monitor import backoff_delay_s
from ..core.wire import ClusterSnapshot, HistoryPoint

log = logging.getLogger(__name__)

#: ``callback(snapshot, error)``: exactly one of the two is not None.
RefreshCallback = Callable[[ClusterSnapshot | None, str | None], None]

DEFAULT_REFRESH_INTERVAL_S = 2.0
DEFAULT_HISTORY_LENGTH = 900
DEFAULT_MAX_BACKOFF_S = 30.0


def _default_snapshot_fn() -> Callable[[], ClusterSnapshot]:
    """A snapshot function on a fresh :class:`RayConnection` found from the environment."""
    from ..core.cluster import get_cluster_snapshot
    from ..core.connection import RayConnection

    state: dict[str, Any] = {}

    def take() -> ClusterSnapshot:
        if "conn" not in state:
            state["conn"] = RayConnection()
        return get_cluster_snapshot(state["conn"])

    def close() -> None:
        conn = state.pop("conn", None)
        if conn is not None:
            conn.close()

    take.close = close  # type: ignore[attr-defined]
    return take


@dataclass(frozen=True)
class Subscription:
    """A handle returned by :meth:`SharedRefresher.subscribe`; pass it to ``unsubscribe``."""

    id: int
    callback: RefreshCallback
    refresh_interval_s: float


class SharedRefresher:
    """Polls the cluster once per interval on a daemon thread and fans results out to subscribers.

    The first subscriber starts the thread, the last one to leave stops it. The interval is the
    shortest one any subscriber asked for. While Ray is unreachable the wait doubles per failure
    up to ``max_backoff_s``, and polling goes back to the interval by itself once Ray answers.

    Args:
        snapshot_fn_factory: Builds the function that takes one snapshot; called each time the
            thread starts (so a new Ray address in the environment is picked up). The default
            uses a :class:`~iog_jupyter.core.connection.RayConnection` from the environment.
        history_length: How many history points (``ClusterSnapshot.history_point()``) to keep.
        max_backoff_s: The cap of the wait between polls while Ray is unreachable.

    Example:
        >>> refresher = get_refresher()  # doctest: +SKIP
        >>> sub = refresher.subscribe(lambda snap, err: print(snap or err), 2.0)  # doctest: +SKIP
        >>> refresher.unsubscribe(sub)  # the last one: stops the thread  # doctest: +SKIP
    """

    def __init__(
        self,
        snapshot_fn_factory: Callable[[], Callable[[], ClusterSnapshot]] | None = None,
        history_length: int = DEFAULT_HISTORY_LENGTH,
        max_backoff_s: float = DEFAULT_MAX_BACKOFF_S,
    ) -> None:
        self._factory = snapshot_fn_factory or _default_snapshot_fn
        self.max_backoff_s = max_backoff_s
        self._history: deque[HistoryPoint] = deque(maxlen=max(1, history_length))
        self._subs: dict[int, Subscription] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._result_ready = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._stop_event: threading.Event | None = None
        self._wake: threading.Event | None = None
        self.calls = 0
        self.failures = 0
        self.latest_snapshot: ClusterSnapshot | None = None
        self.latest_error: str | None = None

    # -- subscribers -------------------------------------------------------------------------

    def subscribe(
        self, callback: RefreshCallback, refresh_interval_s: float = DEFAULT_REFRESH_INTERVAL_S
    ) -> Subscription:
        """Add a subscriber; start polling if it is the first.

        The callback runs on the refresher thread after every poll, and at once (on the caller's
        thread) with the latest result when there already is one.

        Args:
            callback: Called as ``callback(snapshot, None)`` or ``callback(None, message)``.
            refresh_interval_s: How often this subscriber wants fresh data (at least 0.05 s).

        Returns:
            The handle to pass to :meth:`unsubscribe`.
        """
        sub = Subscription(next(self._ids), callback, max(0.05, float(refresh_interval_s)))
        with self._lock:
            self._subs[sub.id] = sub
            snapshot, error = self.latest_snapshot, self.latest_error
            if self._thread is None or not self._thread.is_alive():
                self._start_locked()
            elif self._wake is not None:
                self._wake.set()  # a shorter interval takes effect at once
        if error is not None:
            self._deliver(sub, None, error)
        elif snapshot is not None:
            self._deliver(sub, snapshot, None)
        return sub

    def unsubscribe(self, sub: Subscription, join_timeout_s: float = 5.0) -> None:
        """Remove a subscriber; stop the thread (and wait for it) if it was the last one.

        Args:
            sub: What :meth:`subscribe` returned. Unknown handles are ignored.
            join_timeout_s: How long to wait for the thread to end.
        """
        with self._lock:
            self._subs.pop(sub.id, None)
            if self._subs:
                return
            thread = self._stop_locked()
        if thread is not None and thread is not threading.current_thread():
            thread.join(join_timeout_s)

    @property
    def num_subscribers(self) -> int:
        """How many subscribers there are."""
        with self._lock:
            return len(self._subs)

    @property
    def running(self) -> bool:
        """Whether the polling thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def thread(self) -> threading.Thread | None:
        """The current polling thread, if any (tests join it)."""
        return self._thread

    @property
    def refresh_interval_s(self) -> float:
        """The interval in use: the shortest any subscriber asked for."""
        with self._lock:
            return self._interval_locked()

    @property
    def history(self) -> list[HistoryPoint]:
        """A copy of the history points, oldest first."""
        with self._lock:
            return list(self._history)

    def wait_for_result(self, timeout_s: float) -> tuple[ClusterSnapshot | None, str | None]:
        """Wait until a first poll finished (or the deadline passed) and return its result.

        Args:
            timeout_s: The longest wait.

        Returns:
            The latest good snapshot (possibly older than a later failure) and the current error
            message (None while Ray answers); both None if nothing arrived in time.
        """
        deadline = time.monotonic() + timeout_s
        with self._result_ready:
            while self.latest_snapshot is None and self.latest_error is None:
                left = deadline - time.monotonic()
                if left <= 0 or not self.running:
                    break
                self._result_ready.wait(left)
            return self.latest_snapshot, self.latest_error

    def stop(self, join_timeout_s: float = 5.0) -> None:
        """Drop every subscriber and stop the thread."""
        with self._lock:
            self._subs.clear()
            thread = self._stop_locked()
        if thread is not None and thread is not threading.current_thread():
            thread.join(join_timeout_s)

    # -- thread ------------------------------------------------------------------------------

    def _interval_locked(self) -> float:
        if not self._subs:
            return DEFAULT_REFRESH_INTERVAL_S
        return min(sub.refresh_interval_s for sub in self._subs.values())

    def _start_locked(self) -> None:
        # Each thread has its own events, so one that is still inside a slow Ray call when it is
        # stopped can never be woken, or kept alive, by its successor.
        stop_event, wake = threading.Event(), threading.Event()
        self._stop_event, self._wake = stop_event, wake
        self.failures = 0
        self._thread = threading.Thread(
            target=self._run, args=(stop_event, wake), name="iog-cluster-refresher", daemon=True
        )
        self._thread.start()

    def _stop_locked(self) -> threading.Thread | None:
        thread = self._thread
        for event in (self._stop_event, self._wake):
            if event is not None:
                event.set()
        self._thread = self._stop_event = self._wake = None
        return thread

    def _run(self, stop_event: threading.Event, wake: threading.Event) -> None:
        take = self._factory()
        try:
            while not stop_event.is_set():
                started = time.monotonic()
                self._poll_once(take, stop_event)
                # Wait out the interval counted from this poll's start. A wake (a subscriber
                # with a shorter interval, or stop) recomputes the wait; it never adds a poll.
                while not stop_event.is_set():
                    with self._lock:
                        delay = backoff_delay_s(
                            self._interval_locked(), self.failures, self.max_backoff_s
                        )
                    left = started + delay - time.monotonic()
                    if left <= 0:
                        break
                    wake.wait(left)
                    wake.clear()
        finally:
            close = getattr(take, "close", None)
            if close is not None:
                close()

    def _poll_once(self, take: Callable[[], ClusterSnapshot], stop_event: threading.Event) -> None:
        snapshot: ClusterSnapshot | None = None
        error: str | None = None
        self.calls += 1
        try:
            snapshot = take()
        except IogError as err:
            error = err.message
        except Exception as err:  # a widget refresh must survive anything Ray throws
            log.warning("Cluster refresh failed", exc_info=True)
            error = f"Cluster refresh failed: {type(err).__name__}"
        if stop_event.is_set():
            return
        with self._result_ready:
            if snapshot is not None:
                self.failures = 0
                self.latest_snapshot = snapshot
                self.latest_error = None
                self._history.append(snapshot.history_point())
            else:
                self.failures += 1
                self.latest_error = error
            self._result_ready.notify_all()
            subs = list(self._subs.values())
        for sub in subs:
            self._deliver(sub, snapshot, error)

    @staticmethod
    def _deliver(sub: Subscription, snapshot: ClusterSnapshot | None, error: str | None) -> None:
        try:
            sub.callback(snapshot, error)
        except Exception:  # one broken widget must not stop the others' refresh
            log.warning("A cluster widget failed to update", exc_info=True)


_singleton: SharedRefresher | None = None
_singleton_lock = threading.Lock()


def get_refresher() -> SharedRefresher:
    """The kernel process's one shared refresher, created on first use."""
    global _singleton
    with _singleton_lock:
        if _singleton is None:
            _singleton = SharedRefresher()
        return _singleton
