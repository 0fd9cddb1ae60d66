"""One refresher per kernel process, shared by every widget (DESIGN rule 2).

One daemon thread polls the cluster for the cluster widgets (once per interval, whatever their
number) and calls the jobs, sessions and actors widgets' ``refresh()`` on their own schedules.
It starts with the first subscriber and stops when the last one leaves; a subscriber that raises
is logged and never stops the others.

Why a thread and not a periodic callback on the kernel's IOLoop (as dask's
``Cluster._widget`` does): ``get_cluster_snapshot()`` blocks (a TCP probe, then Ray's GCS client,
up to ``request_timeout_s``), so on the IOLoop it would stall the kernel's message handling; and
the kernel's loop does not turn while a cell runs, which is exactly when a user wants to watch a
Ray workload use the cluster. A thread keeps refreshing during long cells, works the same in
JupyterLab, Notebook 7 and VS Code kernels (and in plain Python), and needs no running loop.
Widget trait changes made from it go out through ipykernel's IOPub thread, which queues sends
from any thread.

The calls into Ray (cluster snapshots, and the jobs, sessions and actors widgets' refreshes)
run one after another on a second daemon thread (``iog-refresher-ray``, see :mod:`.snapshots`),
so that the refresher can give up on a call stuck inside Ray and say the cluster is down within
the interval, as the server's monitor does. A slow subscriber delays the others' next refresh
but never adds a thread.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.errors import IogError
from ..core.monitor import HISTORY_LENGTH, MAX_BACKOFF_S, REFRESH_INTERVAL_S, PollState
from ..core.wire import ClusterSnapshot, HistoryPoint
from .snapshots import RayCaller, RaySnapshots
from .tables import DRIVER_NOTE

log = logging.getLogger(__name__)

#: ``callback(snapshot, error)``: exactly one of the two is not None.
RefreshCallback = Callable[[ClusterSnapshot | None, str | None], None]

#: The name of the kernel's one refresher thread.
THREAD_NAME = "iog-refresher"
#: The shortest interval a subscriber may ask for.
MIN_INTERVAL_S = 0.05


@dataclass(frozen=True)
class Subscription:
    """A handle returned by :meth:`SharedRefresher.subscribe` and ``subscribe_tick``.

    A tick subscriber's ``refresh_interval_s`` may be a function, read before each wait (so a
    widget can change its interval).
    """

    id: int
    callback: Callable[..., None]
    refresh_interval_s: float | Callable[[], float]
    cluster: bool = True

    def interval_s(self) -> float:
        """The current interval, at least :data:`MIN_INTERVAL_S`."""
        value = self.refresh_interval_s
        if callable(value):
            try:
                value = value()
            except Exception:  # a broken interval must not stop the thread
                log.warning("A widget's refresh interval failed", exc_info=True)
                value = REFRESH_INTERVAL_S
        return max(MIN_INTERVAL_S, float(value))


class SharedRefresher:
    """The kernel's one refresher thread: cluster polls and every widget's periodic refresh.

    The first subscriber starts the thread, the last one to leave stops it. The cluster is
    polled only while a cluster subscriber is there, at the shortest interval any of them asked
    for; while Ray is unreachable the wait doubles per failure up to ``max_backoff_s`` and goes
    back to the interval by itself once Ray answers (the rule of
    :class:`~iog_jupyter.core.monitor.PollState`, shared with the server's monitor).

    Args:
        snapshot_fn_factory: Builds the function that takes one snapshot; called each time the
            thread starts (so a new Ray address in the environment is picked up). The default
            uses a :class:`~iog_jupyter.core.connection.RayConnection` from the environment.
        history_length: How many history points (``ClusterSnapshot.history_point()``) to keep.
        max_backoff_s: The cap of the wait between polls while Ray is unreachable.

    Example:
        >>> refresher = get_refresher()  # doctest: +SKIP
        >>> sub = refresher.subscribe(lambda snap, err: print(snap or err), 2.0)  # doctest: +SKIP
        >>> tick = refresher.subscribe_tick(lambda: print("tick"), 5.0)  # doctest: +SKIP
        >>> refresher.unsubscribe(sub)  # doctest: +SKIP
        >>> refresher.unsubscribe(tick)  # the last one: stops the thread  # doctest: +SKIP
    """

    def __init__(
        self,
        snapshot_fn_factory: Callable[[], Callable[[], ClusterSnapshot]] | None = None,
        history_length: int = HISTORY_LENGTH,
        max_backoff_s: float = MAX_BACKOFF_S,
    ) -> None:
        self._factory = snapshot_fn_factory or RaySnapshots
        #: The latest snapshot and error, the failure streak and the history (guarded by the lock).
        self.state = PollState(history_length, max_backoff_s)
        self._subs: dict[int, Subscription] = {}
        self._due: dict[int, float] = {}  # tick subscriber id -> when it is next due
        self._polled_at: float | None = None  # when the last cluster poll started
        self._running: list[tuple[int, int]] = []  # (subscriber id, thread id) of running calls
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        #: The current refresher thread, if any.
        self.thread: threading.Thread | None = None
        self._stop_event: threading.Event | None = None
        self._wake: threading.Event | None = None
        #: How many times the cluster was polled.
        self.calls = 0
        self._caller: RayCaller | None = None

    # -- subscribers -------------------------------------------------------------------------

    def subscribe(
        self, callback: RefreshCallback, refresh_interval_s: float = REFRESH_INTERVAL_S
    ) -> Subscription:
        """Add a cluster subscriber; start the thread if it is the first subscriber.

        The callback runs on the refresher thread after every poll, and at once (on the caller's
        thread) with the latest result when there already is one.
        """
        sub = Subscription(next(self._ids), callback, float(refresh_interval_s))
        with self._lock:
            snapshot, error = self.state.snapshot, self.state.last_error
            self._add_locked(sub)
        if snapshot is not None or error is not None:
            self._call(sub, None if error is not None else snapshot, error)
        return sub

    def subscribe_tick(
        self, refresh: Callable[[], None], interval_s: float | Callable[[], float]
    ) -> Subscription:
        """Call ``refresh()`` on the refresher thread now, then every ``interval_s`` seconds.

        For widgets that refresh something other than the cluster snapshot (jobs, sessions,
        actors). The interval counts from the start of the previous call.
        """
        sub = Subscription(next(self._ids), refresh, interval_s, cluster=False)
        with self._lock:
            self._due[sub.id] = time.monotonic()
            self._add_locked(sub)
        return sub

    def unsubscribe(self, sub: Subscription, join_timeout_s: float = 5.0) -> None:
        """Remove a subscriber; stop the thread (and wait for it) if it was the last one.

        Waits (up to ``join_timeout_s``) for the subscriber's callback if it is running (unless
        called from it), so after this returns the callback is not called again. Unknown handles
        are ignored.
        """
        deadline = time.monotonic() + join_timeout_s
        with self._changed:
            self._subs.pop(sub.id, None)
            self._due.pop(sub.id, None)
            if not any(s.cluster for s in self._subs.values()):
                self._polled_at = None  # the next cluster subscriber gets a fresh poll at once
            thread = self._stop_locked() if not self._subs else None
            while self._running_elsewhere_locked(sub) and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))

    def stop(self, join_timeout_s: float = 5.0) -> None:
        """Drop every subscriber and stop the thread."""
        with self._lock:
            self._subs.clear()
            self._due.clear()
            self._polled_at = None
            thread = self._stop_locked()
        if thread is not None and thread is not threading.current_thread():
            thread.join(join_timeout_s)

    @property
    def num_subscribers(self) -> int:
        """How many subscribers there are (cluster and tick)."""
        with self._lock:
            return len(self._subs)

    @property
    def threads(self) -> list[threading.Thread]:
        """The live threads working for the widgets: the refresher's and its call thread."""
        caller = self._caller
        found = [self.thread, caller.thread if caller is not None else None]
        return [t for t in found if t is not None and t.is_alive()]

    @property
    def running(self) -> bool:
        """Whether the refresher thread is alive."""
        thread = self.thread
        return thread is not None and thread.is_alive()

    @property
    def refresh_interval_s(self) -> float:
        """The cluster polling interval: the shortest any cluster subscriber asked for."""
        with self._lock:
            return self._interval_locked()

    # -- results -----------------------------------------------------------------------------

    @property
    def history(self) -> list[HistoryPoint]:
        """A copy of the history points, oldest first."""
        with self._lock:
            return list(self.state.history)

    @property
    def next_delay_s(self) -> float:
        """Seconds between the latest poll and the next: the interval, or the backoff."""
        with self._lock:
            return self.state.delay_s(self._interval_locked())

    def wait_for_result(self, timeout_s: float) -> tuple[ClusterSnapshot | None, str | None]:
        """Wait until a first poll finished (or ``timeout_s`` passed) and return its result.

        That is the latest good snapshot (possibly older than a later failure) and the current
        error message (None while Ray answers); both None if nothing arrived in time.
        """
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self.state.snapshot is None and self.state.last_error is None:
                left = deadline - time.monotonic()
                if left <= 0 or not self.running:
                    break
                self._changed.wait(left)
            return self.state.snapshot, self.state.last_error

    # -- thread ------------------------------------------------------------------------------

    def _running_elsewhere_locked(self, sub: Subscription) -> bool:
        """Whether ``sub``'s callback runs on another thread than this one."""
        me = threading.get_ident()
        return any(i == sub.id and ident != me for i, ident in self._running)

    def _add_locked(self, sub: Subscription) -> None:
        self._subs[sub.id] = sub
        if self.thread is None or not self.thread.is_alive():
            self._start_locked()
        elif self._wake is not None:
            self._wake.set()  # a shorter interval or a new tick takes effect at once

    def _interval_locked(self) -> float:
        intervals = [s.interval_s() for s in self._subs.values() if s.cluster]
        return min(intervals) if intervals else REFRESH_INTERVAL_S

    def _poll_due_locked(self) -> float | None:
        """When the next cluster poll is due (monotonic), or None with no cluster subscriber."""
        if not any(s.cluster for s in self._subs.values()):
            return None
        if self._polled_at is None:
            return 0.0
        return self._polled_at + self.state.delay_s(self._interval_locked())

    def _start_locked(self) -> None:
        # Each thread has its own events, so one that is still inside a slow call when it is
        # stopped can never be woken, or kept alive, by its successor.
        stop_event, wake = threading.Event(), threading.Event()
        self._stop_event, self._wake = stop_event, wake
        self.state.failures = 0
        self._polled_at = None
        self.thread = threading.Thread(
            target=self._run, args=(stop_event, wake), name=THREAD_NAME, daemon=True
        )
        self.thread.start()

    def _stop_locked(self) -> threading.Thread | None:
        thread = self.thread
        for event in (self._stop_event, self._wake):
            if event is not None:
                event.set()
        self.thread = self._stop_event = self._wake = None
        return thread

    def _run(self, stop_event: threading.Event, wake: threading.Event) -> None:
        caller = self._caller = RayCaller(self._factory())
        try:
            while not stop_event.is_set():
                now = time.monotonic()
                with self._lock:
                    poll_due = self._poll_due_locked()
                    poll = poll_due is not None and poll_due <= now
                    if poll:
                        self._polled_at = now
                    ticks = [self._subs[i] for i, due in self._due.items() if due <= now]
                    dues = [*self._due.values(), *([] if poll_due is None else [poll_due])]
                if not poll and not ticks:
                    # Wait until the next poll or tick is due. A wake (a new subscriber, or
                    # stop) recomputes the wait; it never adds a poll.
                    wake.wait(min(dues, default=now + REFRESH_INTERVAL_S) - now)
                    wake.clear()
                    continue
                if poll:
                    self._poll_once(caller, stop_event)
                for sub in ticks:
                    if stop_event.is_set():
                        break
                    due = time.monotonic() + sub.interval_s()  # widget code: not under our lock
                    with self._lock:
                        if sub.id in self._due:
                            self._due[sub.id] = due
                    if not caller.busy:  # else a call is stuck in Ray: the next round
                        self._tick(caller, sub, stop_event)
        finally:
            caller.close()

    def _poll_once(self, caller: RayCaller, stop_event: threading.Event) -> None:
        snapshot: ClusterSnapshot | None = None
        error: str | None = None
        self.calls += 1
        try:
            snapshot = caller.snapshot(lambda: self.refresh_interval_s, stop_event)
        except IogError as err:
            error = err.message
        except Exception as err:  # a widget refresh must survive anything Ray throws
            log.warning("Cluster refresh failed", exc_info=True)
            error = f"Cluster refresh failed: {type(err).__name__}"
        self._publish(snapshot, error, stop_event)

    def _tick(self, caller: RayCaller, sub: Subscription, stop_event: threading.Event) -> None:
        """A tick subscriber's refresh on the call thread; the cluster is down if the head went.

        The port is probed only for cluster subscribers: nobody else is told of an outage.
        """
        with self._lock:
            cluster = any(s.cluster for s in self._subs.values())
        try:
            caller.run(
                lambda: self._call(sub), lambda: self.refresh_interval_s, stop_event, probe=cluster
            )
        except IogError as err:  # the GCS port refused while the refresh waited on Ray
            self._publish(None, err.message, stop_event)

    def _publish(
        self, snapshot: ClusterSnapshot | None, error: str | None, stop_event: threading.Event
    ) -> None:
        """Record a poll's result and hand it to the cluster subscribers."""
        if stop_event.is_set():
            return
        if error is not None and is_ray_driver():
            error += DRIVER_NOTE
        with self._changed:
            if error is None:
                self.state.record_success(snapshot)
            else:
                self.state.record_failure(error)
            self._changed.notify_all()
            subs = [s for s in self._subs.values() if s.cluster]
        for sub in subs:
            if stop_event.is_set():
                return
            self._call(sub, snapshot, error)

    def _call(self, sub: Subscription, *args: Any) -> None:
        """Run one subscriber's callback unless it left; what it raises is logged."""
        running = (sub.id, threading.get_ident())
        with self._lock:
            if sub.id not in self._subs:
                return
            self._running.append(running)
        try:
            sub.callback(*args)
        except Exception:  # one broken widget must not stop the others' refresh
            log.warning("A widget's refresh failed", exc_info=True)
        finally:
            with self._changed:
                self._running.remove(running)
                self._changed.notify_all()


def is_ray_driver() -> bool:
    """Whether this process holds a Ray driver (``ray.init()`` ran); never imports Ray."""
    ray = sys.modules.get("ray")
    try:
        return bool(ray is not None and ray.is_initialized())
    except Exception:  # a half-imported or broken Ray is no driver
        return False


class Ticker:
    """A widget's subscription to the kernel's shared refresher, started and stopped at will.

    Args:
        callback: ``callback()`` each round, or ``callback(snapshot, error)`` with ``cluster``.
        interval_s: The current interval (read each round; with ``cluster``, on subscribing).
        refresher: The refresher to subscribe to; the kernel's shared one when None.
        cluster: Subscribe to cluster snapshots (:meth:`SharedRefresher.subscribe`), not ticks.
    """

    def __init__(
        self,
        callback: Callable[..., None],
        interval_s: Callable[[], float],
        refresher: SharedRefresher | None = None,
        cluster: bool = False,
    ) -> None:
        self.refresher = refresher or get_refresher()
        self._callback = callback
        self._interval_s = interval_s
        self._cluster = cluster
        self._lock = threading.Lock()
        self._sub: Subscription | None = None

    def start(self) -> None:
        """Subscribe; a no-op when already subscribed."""
        with self._lock:
            if self._sub is None and self._cluster:
                self._sub = self.refresher.subscribe(self._callback, self._interval_s())
            elif self._sub is None:
                self._sub = self.refresher.subscribe_tick(self._callback, self._interval_s)

    def stop(self, timeout_s: float = 15.0) -> None:
        """Unsubscribe and wait for a callback in progress (unless called from it)."""
        with self._lock:
            sub, self._sub = self._sub, None
        if sub is not None:
            self.refresher.unsubscribe(sub, timeout_s)

    def alive(self) -> list[threading.Thread]:
        """The refresher's threads while subscribed and running (for a widget's ``threads``)."""
        if self._sub is None or not self.refresher.running:
            return []
        return self.refresher.threads


_singleton: SharedRefresher | None = None
_singleton_lock = threading.Lock()


def get_refresher() -> SharedRefresher:
    """The kernel process's one shared refresher, created on first use."""
    global _singleton
    with _singleton_lock:
        if _singleton is None:
            _singleton = SharedRefresher()
        return _singleton
