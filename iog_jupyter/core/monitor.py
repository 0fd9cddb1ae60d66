"""ClusterMonitor: one poller per process, fanned out to every viewer.

However many browser tabs, websockets and CLI watchers there are, Ray is asked once per
interval. Subscribers are told only when the snapshot changed, the history ring buffer is
bounded, and while Ray is unreachable the poller backs off exponentially and recovers by itself.

Each change gets the next sequence number (``seq``). Subscribers that asked for deltas get one
``delta`` message per change, computed once for all of them (``cluster_delta``), and the whole
snapshot only when a delta would not be smaller; the others get the whole snapshot every time.

:class:`PollState` and the defaults below are shared with the kernel's widget refresher
(``iog_jupyter.widgets.refresher``), so the server and the widgets keep the same history and back
off by the same rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .cluster import PoolConfig, build_snapshot, fetch_cluster_status, fetch_node_usage
from .cluster_delta import compute_delta, without_idle
from .connection import RayConnection
from .errors import IogError
from .tasks import cancel_and_wait
from .wire import ClusterSnapshot, HistoryPoint, NodeUsage, StatusMessage, iso_from_ms

log = logging.getLogger(__name__)

#: A subscriber gets ``(kind, message_json)``: kind is ``"snapshot"`` or ``"status"``, and for
#: subscribers that asked for deltas also ``"delta"``.
Listener = Callable[[str, str], None]

#: Seconds between two polls while Ray answers (the server's and the widgets' default).
REFRESH_INTERVAL_S = 2.0
#: History points every poller keeps by default: 1800 polls x 2 s = 1 hour.
HISTORY_LENGTH = 1800
#: The longest wait between two polls while Ray is unreachable.
MAX_BACKOFF_S = 4.0


def change_key(data: dict[str, Any]) -> dict[str, Any]:
    """What must differ between two snapshots for subscribers to be told.

    The timestamp and the nodes' idle counters tick on every poll and are left out; two keys
    are compared with ``==`` (much cheaper than serializing them sorted).
    """
    key = {k: v for k, v in data.items() if k not in ("timestamp", "timestamp_ms", "nodes")}
    key["nodes"] = [without_idle(node) for node in data["nodes"]]
    return key


def backoff_delay_s(interval_s: float, failures: int, max_backoff_s: float) -> float:
    """Seconds before the next poll: ``interval_s``, doubled per failure in a row, capped."""
    if failures <= 0:
        return interval_s
    return min(max_backoff_s, max(interval_s, interval_s * 2.0 ** min(failures, 32)))


class PollState:
    """What a cluster poller knows: the latest snapshot, the failure streak, the history.

    The server's :class:`ClusterMonitor` is one; the kernel's widget refresher keeps one. Not
    thread-safe: a poller that runs on a thread guards it with its own lock. The history keeps
    the newest ``history_length`` points.
    """

    def __init__(
        self, history_length: int = HISTORY_LENGTH, max_backoff_s: float = MAX_BACKOFF_S
    ) -> None:
        self.max_backoff_s = max_backoff_s
        self.history: deque[HistoryPoint] = deque(maxlen=max(1, history_length))
        self.snapshot: ClusterSnapshot | None = None
        self.last_error: str | None = None
        self.last_update_ms: int | None = None
        #: How many polls in a row failed.
        self.failures = 0

    def record_success(self, snapshot: ClusterSnapshot) -> None:
        """Keep a good poll's snapshot and history point; the failure streak ends."""
        self.failures = 0
        self.last_error = None
        self.snapshot = snapshot
        self.last_update_ms = snapshot.timestamp_ms
        self.history.append(snapshot.history_point())

    def record_failure(self, message: str) -> None:
        """Count a failed poll; the last good snapshot and the history stay."""
        self.failures += 1
        self.last_error = message

    def history_since(self, since_ms: int | None = None) -> list[HistoryPoint]:
        """History points newer than ``since_ms`` (all of them when None), oldest first."""
        return [p for p in self.history if since_ms is None or p.timestamp_ms > since_ms]

    def delay_s(self, interval_s: float) -> float:
        """Seconds until the next poll: ``interval_s``, or the backoff after failures."""
        return backoff_delay_s(interval_s, self.failures, self.max_backoff_s)


@dataclass
class _Polled:
    """One poll's results, all computed off the event loop."""

    snapshot: ClusterSnapshot
    key: dict[str, Any]
    text: str
    data: dict[str, Any]
    #: The ``delta`` message from the snapshot published before, numbered ``delta_seq``; None
    #: when nobody asked for deltas, nothing changed, or the whole snapshot is no larger.
    delta_text: str | None = None
    delta_seq: int | None = None


class ClusterMonitor(PollState):
    """Poll the cluster on a schedule and hand the latest snapshot to every subscriber.

    ``call_timeout_s`` is our own deadline for one poll (Ray's clients ignore theirs). Per-node
    physical usage (``include_usage``) is fetched every ``usage_refresh_interval_s`` on its own
    schedule and thread, because the dashboard's node summary grows with the number of workers
    (seconds to decode at 100k actors); each snapshot merges the latest one. The blocking Ray
    calls run on a private one-thread pool.
    """

    def __init__(
        self,
        connection: RayConnection,
        refresh_interval_s: float = REFRESH_INTERVAL_S,
        history_length: int = HISTORY_LENGTH,
        max_backoff_s: float = MAX_BACKOFF_S,
        call_timeout_s: float = 10.0,
        pool_config: PoolConfig | None = None,
        include_usage: bool = True,
        usage_refresh_interval_s: float = 5.0,
    ) -> None:
        super().__init__(history_length, max_backoff_s)
        self.connection = connection
        self.refresh_interval_s = refresh_interval_s
        self.call_timeout_s = call_timeout_s
        self.pool_config = pool_config or PoolConfig()
        self.include_usage = include_usage
        self.usage_refresh_interval_s = usage_refresh_interval_s
        self._usage: dict[str, NodeUsage] = {}
        self._usage_executor = ThreadPoolExecutor(1, thread_name_prefix="iog-usage")
        self._usage_task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="iog-monitor")
        self.snapshot_json: str | None = None
        self.connected: bool | None = None
        #: How many times Ray was asked for a snapshot (benchmarks compare it across loads).
        self.ray_calls = 0
        self._listeners: list[Listener] = []
        self._delta_listeners: list[Listener] = []
        #: The number of the latest published change (0 before the first snapshot).
        self.seq = 0
        #: The poll whose snapshot is the latest published change (number ``seq``).
        self._published: _Polled | None = None
        #: Per change with delta subscribers: a delta went to them, or the whole snapshot.
        self.deltas_sent = 0
        self.delta_fallbacks = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._in_flight: asyncio.Future[_Polled] | None = None
        self._poll_task: asyncio.Task[ClusterSnapshot | None] | None = None
        self._last_attempt = 0.0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start polling on the running event loop (idempotent)."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        if self.include_usage and (self._usage_task is None or self._usage_task.done()):
            self._usage_task = loop.create_task(self._run_usage())

    async def stop(self) -> None:
        """Stop polling and release the executor; subscribers stay registered but hear nothing."""
        # Shutdown must never hang on a poll stuck inside Ray: wait a little, then go on.
        pending = await cancel_and_wait(self._task, self._poll_task, self._usage_task)
        if pending:
            log.warning("iog_jupyter: %d monitor task(s) did not stop in time", pending)
        self._task = self._poll_task = self._usage_task = None
        self._usage_executor.shutdown(wait=False, cancel_futures=True)
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- subscribers -----------------------------------------------------------------------

    def subscribe(self, listener: Listener, deltas: bool = False) -> Callable[[], None]:
        """Call ``listener(kind, message_json)`` on each change and status change; the unsubscriber.

        With ``deltas`` it gets ``delta`` messages instead of whole snapshots, except when a delta
        would not be smaller (then a ``snapshot``, with its seq).
        """
        listeners = self._delta_listeners if deltas else self._listeners
        listeners.append(listener)

        def unsubscribe() -> None:
            if listener in listeners:
                listeners.remove(listener)

        return unsubscribe

    @property
    def num_subscribers(self) -> int:
        """How many listeners are registered."""
        return len(self._listeners) + len(self._delta_listeners)

    def status_message(self) -> str:
        """The ``status`` message sent to subscribers: connected or not, and why."""
        return StatusMessage(
            connected=bool(self.connected),
            message=self.last_error,
            last_update=iso_from_ms(self.last_update_ms),
        ).model_dump_json()

    def _notify(self, kind: str, message: str, deltas: bool | None = None) -> None:
        """Call the listeners (None: all of them; else those that did or did not ask deltas)."""
        groups = [self._listeners, self._delta_listeners]
        if deltas is not None:
            groups = [groups[deltas]]
        for listeners in groups:
            for listener in list(listeners):
                try:
                    listener(kind, message)
                except Exception:  # one broken subscriber must not stop the others
                    log.exception("iog_jupyter: a cluster subscriber failed; removing it")
                    if listener in listeners:
                        listeners.remove(listener)

    # -- polling ---------------------------------------------------------------------------

    def next_delay_s(self) -> float:
        """Seconds until the next poll: the interval, or the backoff after failures."""
        return self.delay_s(self.refresh_interval_s)

    def ray_down(self) -> str | None:
        """Why Ray is known to be unreachable now (the last poll failed), else None.

        Requests that need Ray are answered with this at once instead of each waiting out a
        deadline. Asking also starts a poll when none ran in the last second, so a head that
        came back is seen by the next request, not only at the next scheduled poll.
        """
        if self.connected is not False:
            return None
        if time.monotonic() - self._last_attempt >= 1.0:
            self.wake()
        return (
            f"{self.last_error} iog checks again every {self.next_delay_s():g} s and answers "
            "as soon as Ray is back."
        )

    def wake(self) -> None:
        """Poll now instead of waiting for the interval (a request found the data stale)."""
        self._wake.set()

    async def poll_once(self) -> ClusterSnapshot | None:
        """Take one snapshot off the event loop, under our own deadline, and publish it.

        Callers that arrive while a poll is under way share that poll instead of starting one.
        None when Ray could not be reached.
        """
        if self._poll_task is None or self._poll_task.done():
            self._poll_task = asyncio.get_running_loop().create_task(self._poll())
        return await asyncio.shield(self._poll_task)

    async def _poll(self) -> ClusterSnapshot | None:
        loop = asyncio.get_running_loop()
        if self._in_flight is not None and not self._in_flight.done():
            # A previous call is stuck inside Ray; never pile up more threads behind it. Say
            # why when the head is gone (the port refuses), else that the call still waits.
            try:
                await loop.run_in_executor(None, self.connection.probe)
            except IogError as err:
                self._record_failure(err)
            else:
                self._record_failure(
                    self.connection.unavailable("an earlier request is still waiting for an answer")
                )
            return None
        self.ray_calls += 1
        self._last_attempt = time.monotonic()
        self._in_flight = loop.run_in_executor(self._executor, self._take)
        try:
            polled = await self._answer(self._in_flight)
        except IogError as err:
            error = err
        except Exception as err:  # the poller must survive anything Ray throws
            log.warning("iog_jupyter: cluster poll failed: %s", err)
            error = self.connection.unavailable(f"{type(err).__name__} while reading the status")
        else:
            self._publish(polled)
            return polled.snapshot
        self._record_failure(error)
        return None

    async def _answer(self, call: asyncio.Future[_Polled]) -> _Polled:
        """The call's result, under ``call_timeout_s``; a head gone meanwhile fails it at once.

        Ray's GCS client retries a call whose head died for up to a minute, so a head killed
        while a poll is inside Ray would look connected until our deadline. Each refresh
        interval the call runs past, the GCS port is probed (off the loop): a refused
        connection is the outage, shown now. The call itself is left to finish on its thread.

        Raises:
            RayUnavailableError: The deadline passed, or nothing listens at the GCS port.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.call_timeout_s
        step = max(self.refresh_interval_s, 0.1)
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self.connection.unavailable(f"no answer within {self.call_timeout_s:g} s")
            try:
                return await asyncio.wait_for(asyncio.shield(call), timeout=min(step, remaining))
            except asyncio.TimeoutError:
                if loop.time() < deadline:
                    await loop.run_in_executor(None, self.connection.probe)

    def _take(self) -> _Polled:
        """Blocking part of a poll: ask the GCS, build, serialize, key (never on the loop)."""
        status = fetch_cluster_status(self.connection)
        return self._prepare(build_snapshot(status, self._usage, self.pool_config))

    def _prepare(self, snapshot: ClusterSnapshot) -> _Polled:
        """Serialize and key a snapshot, and compute its delta when someone wants deltas.

        Runs off the loop, between two publishes (polls never overlap), so the last published
        snapshot it compares with is the one the delta will follow.
        """
        data = snapshot.model_dump()
        key = change_key(data)
        text = snapshot.model_dump_json()
        polled = _Polled(snapshot, key, text, data)
        published = self._published
        if self._delta_listeners and published is not None and key != published.key:
            delta = compute_delta(published.data, data, self.seq + 1)
            if delta is not None:
                delta_text = delta.model_dump_json()
                if len(delta_text) < len(text):
                    polled.delta_text, polled.delta_seq = delta_text, delta.seq
        return polled

    def publish(self, snapshot: ClusterSnapshot) -> None:
        """Publish a snapshot taken elsewhere as if a poll had returned it (tests, benchmarks).

        It is serialized and diffed on the calling thread: the event loop's, here.
        """
        self._publish(self._prepare(snapshot))

    async def _run_usage(self) -> None:
        """Refresh per-node usage on its own schedule; failures only leave it stale."""
        loop = asyncio.get_running_loop()
        while True:
            if self.connected is not False:
                try:
                    usage = await asyncio.wait_for(
                        loop.run_in_executor(
                            self._usage_executor, fetch_node_usage, self.connection
                        ),
                        timeout=self.call_timeout_s,
                    )
                except asyncio.TimeoutError:
                    log.debug("iog_jupyter: per-node usage timed out")
                except IogError as err:
                    log.debug("iog_jupyter: per-node usage unavailable: %s", err.message)
                except Exception as err:  # usage is optional; the poller goes on without it
                    log.warning("iog_jupyter: per-node usage failed: %s", err)
                else:
                    first = not self._usage
                    self._usage = usage
                    if first:
                        self.wake()
            await asyncio.sleep(self.usage_refresh_interval_s)

    def _record_failure(self, error: IogError) -> None:
        """Count a failed poll; the error's message says where iog looked and what to do."""
        message = error.message
        self.record_failure(message)
        if self.connected is not False:
            self.connected = False
            self.connection.reset()
            log.warning("iog_jupyter: Ray unreachable: %s", message)
            self._notify("status", self.status_message())

    def _publish(self, polled: _Polled) -> None:
        snapshot = polled.snapshot
        was_connected = self.connected
        self.connected = True
        self.record_success(snapshot)
        self.snapshot_json = polled.text
        if was_connected is not True:
            if was_connected is False:
                log.info("iog_jupyter: Ray reachable again at %s", self.connection.address)
            self._notify("status", self.status_message())
        if self._published is None or polled.key != self._published.key:
            self.seq += 1
            self._published = polled
            full = self.snapshot_message()
            self._notify("snapshot", full, deltas=False)
            if self._delta_listeners:
                if polled.delta_text is not None and polled.delta_seq == self.seq:
                    self.deltas_sent += 1
                    self._notify("delta", polled.delta_text, deltas=True)
                else:
                    self.delta_fallbacks += 1
                    self._notify("snapshot", full, deltas=True)

    def snapshot_message(self) -> str:
        """The ``snapshot`` message for subscribers (the same JSON for all), with its seq."""
        data = self.snapshot_json or "null"
        return f'{{"type":"snapshot","seq":{self.seq},"data":{data}}}'

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            await self.poll_once()
            delay = max(0.0, self.next_delay_s() - (time.monotonic() - started))
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
