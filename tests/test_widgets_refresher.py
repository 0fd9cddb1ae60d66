"""The kernel's one refresher: one thread for every widget, one poll per interval, backoff while
Ray is down, recovery, stop with the last subscriber, broken subscribers contained."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from iog_jupyter.config import IogJupyterConfig
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.errors import RayUnavailableError
from iog_jupyter.core.jobs import select_backend
from iog_jupyter.core.monitor import HISTORY_LENGTH, ClusterMonitor, backoff_delay_s
from iog_jupyter.core.wire import ClusterSnapshot
from iog_jupyter.widgets import ClusterWidget, JobsWidget
from iog_jupyter.widgets import refresher as refresher_module
from iog_jupyter.widgets.refresher import THREAD_NAME, SharedRefresher
from iog_jupyter.widgets.snapshots import CALL_THREAD_NAME


def tiny_snapshot() -> ClusterSnapshot:
    totals = {"CPU": 4.0, "GPU": 0.0, "memory": 1.0, "object_store_memory": 1.0}
    return ClusterSnapshot(
        timestamp_ms=int(time.time() * 1000),
        totals=totals,
        available=dict(totals),
        nodes=[],
        pending_demands=[],
        infeasible_demands=[],
        pools=[],
    )


class FakeRay:
    """A snapshot function that fails ``failures`` times, then answers; records call times."""

    def __init__(self, failures: int = 0) -> None:
        self.failures_left = failures
        self.call_times: list[float] = []
        self.closed = 0

    def factory(self) -> Callable[[], ClusterSnapshot]:
        def take() -> ClusterSnapshot:
            self.call_times.append(time.monotonic())
            if self.failures_left > 0:
                self.failures_left -= 1
                raise RayUnavailableError("Ray is not reachable at 127.0.0.1:1 (test)")
            return tiny_snapshot()

        def close() -> None:
            self.closed += 1

        take.close = close  # type: ignore[attr-defined]
        return take


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def test_backoff_doubles_per_failure_up_to_the_cap() -> None:
    assert backoff_delay_s(2.0, 0, 30.0) == 2.0
    assert [backoff_delay_s(2.0, n, 30.0) for n in (1, 2, 3, 4, 5)] == [4, 8, 16, 30, 30]
    assert backoff_delay_s(2.0, 10_000, 30.0) == 30.0


def test_backs_off_while_ray_is_down_and_recovers_by_itself() -> None:
    fake = FakeRay(failures=3)
    refresher = SharedRefresher(fake.factory, max_backoff_s=1.0)
    seen: list[tuple[bool, str | None]] = []
    sub = refresher.subscribe(lambda snap, err: seen.append((snap is not None, err)), 0.05)
    try:
        wait_until(lambda: len(seen) >= 6)
    finally:
        refresher.unsubscribe(sub)
    assert [ok for ok, _ in seen[:4]] == [False, False, False, True]
    assert "not reachable" in (seen[0][1] or "")
    gaps = [b - a for a, b in zip(fake.call_times, fake.call_times[1:], strict=False)]
    # After failure k the wait is 0.05 * 2**k: 0.1, 0.2, 0.4; then back to the interval.
    assert gaps[0] >= 0.09 and gaps[1] >= 0.18 and gaps[2] >= 0.36
    assert gaps[3] < 0.3
    assert refresher.state.failures == 0 and refresher.state.last_error is None
    assert len(refresher.history) == len(seen) - 3


class StuckRay:
    """A snapshot function whose second call hangs, as Ray's client does inside a dead head's
    call; the GCS port (``probe``) refuses once ``head_gone`` is set. Stand-ins for the race the
    real-head test in ``test_cluster_restart`` provokes with SIGSTOP."""

    timeout_s = 30.0

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.head_gone = threading.Event()

    def __call__(self) -> ClusterSnapshot:
        self.calls += 1
        if self.calls == 2:
            self.release.wait(30)
        return tiny_snapshot()

    def probe(self) -> None:
        if self.head_gone.is_set():
            raise RayUnavailableError("Ray is not reachable at 127.0.0.1:1: Connection refused")

    def unavailable(self, detail: str) -> RayUnavailableError:
        return RayUnavailableError(f"Ray at 127.0.0.1:1 did not answer: {detail}")


def test_a_call_stuck_in_ray_is_given_up_when_the_head_is_gone_and_stop_does_not_wait() -> None:
    stuck = StuckRay()
    refresher = SharedRefresher(lambda: stuck)
    seen: list[tuple[float, bool, str | None]] = []
    sub = refresher.subscribe(
        lambda snap, err: seen.append((time.monotonic(), snap is not None, err)), 0.2
    )
    try:
        wait_until(lambda: stuck.calls == 2)  # the second poll hangs inside "Ray"
        time.sleep(0.5)
        assert [ok for _, ok, _ in seen] == [True]  # still connected while the port answers
        stuck.head_gone.set()
        gone = time.monotonic()
        wait_until(lambda: len(seen) >= 2, timeout_s=5)
        at, ok, error = seen[1]
        assert not ok and "Connection refused" in (error or "")
        assert at - gone <= 0.2 + 0.3  # within the interval, not the 30 s deadline
        # While the call is stuck, no second call is made; polls say why Ray is down.
        wait_until(lambda: len(seen) >= 3, timeout_s=5)
        assert stuck.calls == 2 and "Connection refused" in (seen[2][2] or "")
        stuck.head_gone.clear()
        wait_until(lambda: len(seen) >= 4 and "still waiting" in (seen[-1][2] or ""), 5)
        assert stuck.calls == 2
        # The call ends: the next poll asks Ray again and recovers.
        stuck.release.set()
        wait_until(lambda: seen[-1][1], timeout_s=5)
        assert stuck.calls >= 3 and refresher.state.last_error is None
        # A call stuck at stop time does not hold up the unsubscribe.
        stuck.calls, stuck.release = 1, threading.Event()
        wait_until(lambda: stuck.calls == 2)
    finally:
        started = time.monotonic()
        refresher.unsubscribe(sub)
        took = time.monotonic() - started
        stuck.release.set()
    assert took < 1.0 and not refresher.running


def test_a_widget_refresh_stuck_in_ray_does_not_hide_the_outage() -> None:
    """A jobs/sessions/actors refresh stuck inside Ray when the head dies: the cluster widgets
    still show the outage within the interval, and no call piles up behind the stuck one."""
    stuck = StuckRay()
    stuck.calls = 2  # the snapshots never hang here; the tick does
    refresher = SharedRefresher(lambda: stuck)
    in_tick, release = threading.Event(), threading.Event()
    ticks = [0]

    def tick() -> None:
        ticks[0] += 1
        if ticks[0] == 2:
            in_tick.set()
            release.wait(30)

    seen: list[tuple[float, str | None]] = []
    cluster = refresher.subscribe(lambda snap, err: seen.append((time.monotonic(), err)), 0.2)
    ticker = refresher.subscribe_tick(tick, 0.2)
    try:
        assert in_tick.wait(5)
        time.sleep(0.5)
        assert all(err is None for _, err in seen)  # the port answers: still connected
        polls = stuck.calls
        stuck.head_gone.set()
        gone = time.monotonic()
        wait_until(lambda: seen[-1][1] is not None, timeout_s=5)
        assert seen[-1][0] - gone <= 0.2 + 0.3 and "Connection refused" in seen[-1][1]
        time.sleep(0.5)
        assert stuck.calls == polls and ticks[0] == 2  # nothing queued behind the stuck call
        stuck.head_gone.clear()
        release.set()
        wait_until(lambda: seen[-1][1] is None and ticks[0] >= 3, timeout_s=5)
    finally:
        release.set()
        refresher.unsubscribe(ticker)
        refresher.unsubscribe(cluster)
    assert not refresher.running


def test_one_thread_one_poll_per_interval_for_many_subscribers() -> None:
    fake = FakeRay()
    refresher = SharedRefresher(fake.factory)
    counts = [0] * 20
    subs = [
        refresher.subscribe(lambda s, e, i=i: counts.__setitem__(i, counts[i] + 1), 0.1)
        for i in range(20)
    ]
    try:
        wait_until(lambda: refresher.calls >= 1)
        start_calls = refresher.calls
        time.sleep(1.0)
        polls = refresher.calls - start_calls
        names = [t.name for t in threading.enumerate() if t.name == "iog-refresher"]
    finally:
        for sub in subs:
            refresher.unsubscribe(sub)
    assert 5 <= polls <= 11  # ~10 polls in 1 s at 0.1 s; 20 pollers would make ~200
    assert len(names) == 1
    assert min(counts) >= polls  # every subscriber saw every poll


def test_last_unsubscribe_stops_the_thread_and_a_new_subscriber_restarts_it() -> None:
    fake = FakeRay()
    refresher = SharedRefresher(fake.factory)
    first = refresher.subscribe(lambda s, e: None, 0.05)
    second = refresher.subscribe(lambda s, e: None, 0.05)
    thread = refresher.thread
    assert thread is not None
    refresher.unsubscribe(first)
    assert thread.is_alive()
    refresher.unsubscribe(second)
    thread.join(2)
    assert not thread.is_alive() and not refresher.running
    assert fake.closed == 1  # the connection was released
    calls = refresher.calls
    time.sleep(0.2)
    assert refresher.calls == calls
    third = refresher.subscribe(lambda s, e: None, 0.05)
    wait_until(lambda: refresher.calls > calls)
    refresher.unsubscribe(third)
    assert not refresher.running


def test_late_subscriber_gets_the_latest_snapshot_at_once() -> None:
    refresher = SharedRefresher(FakeRay().factory)
    first = refresher.subscribe(lambda s, e: None, 10.0)
    try:
        snapshot, error = refresher.wait_for_result(5.0)
        assert snapshot is not None and error is None
        got: list[ClusterSnapshot | None] = []
        second = refresher.subscribe(lambda s, e: got.append(s), 10.0)
        assert got == [snapshot]
        time.sleep(0.2)  # a new subscriber wakes the thread; that must not cost a Ray call
        assert refresher.calls == 1
        refresher.unsubscribe(second)
    finally:
        refresher.unsubscribe(first)


def test_a_failing_callback_does_not_stop_the_others() -> None:
    refresher = SharedRefresher(FakeRay().factory)
    seen: list[ClusterSnapshot | None] = []

    def broken(snapshot: ClusterSnapshot | None, error: str | None) -> None:
        raise RuntimeError("boom")

    subs = [
        refresher.subscribe(broken, 0.05),
        refresher.subscribe(lambda s, e: seen.append(s), 0.05),
    ]
    try:
        wait_until(lambda: len(seen) >= 3)
    finally:
        for sub in subs:
            refresher.unsubscribe(sub)
    assert all(s is not None for s in seen)


@pytest.mark.parametrize("interval_s", [0.05, 0.2])
def test_interval_is_the_shortest_any_subscriber_asked_for(interval_s: float) -> None:
    refresher = SharedRefresher(FakeRay().factory)
    slow = refresher.subscribe(lambda s, e: None, 5.0)
    fast = refresher.subscribe(lambda s, e: None, interval_s)
    assert refresher.refresh_interval_s == interval_s
    refresher.unsubscribe(fast)
    assert refresher.refresh_interval_s == 5.0
    refresher.unsubscribe(slow)


def iog_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("iog-"))


@pytest.fixture
def kernel_refresher(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SharedRefresher, FakeRay]]:
    """The kernel's shared refresher (what widgets get by default), on a fake Ray."""
    fake = FakeRay()
    shared = SharedRefresher(fake.factory)
    monkeypatch.setattr(refresher_module, "_singleton", shared)
    yield shared, fake
    shared.stop()


def test_one_history_length_for_the_server_and_the_widgets() -> None:
    monitor = ClusterMonitor(RayConnection(address="127.0.0.1:1"))
    trait = IogJupyterConfig.class_traits()["history_length"]
    lengths = {
        SharedRefresher().state.history.maxlen,
        refresher_module.get_refresher().state.history.maxlen,
        monitor.history.maxlen,
        trait.default_value,
    }
    assert lengths == {HISTORY_LENGTH}


def test_two_kinds_of_widget_share_one_thread_and_the_last_close_stops_it(
    kernel_refresher: tuple[SharedRefresher, FakeRay], tmp_path
) -> None:
    shared, fake = kernel_refresher
    backend = select_backend(None, "local", state_dir=str(tmp_path))
    lists = [0]
    real_list = backend.list

    def counting_list(*args, **kwargs):
        lists[0] += 1
        return real_list(*args, **kwargs)

    backend.list = counting_list  # type: ignore[method-assign]
    cluster = ClusterWidget(refresh_interval_s=0.05)
    jobs = JobsWidget(backend, refresh_interval_s=0.05, working_dir_roots=[str(tmp_path)])
    try:
        assert cluster.refresher is shared and shared.num_subscribers == 2
        wait_until(lambda: cluster.snapshot is not None and lists[0] >= 3 and shared.calls >= 3)
        assert "No jobs." in jobs.table.value
        # The kernel's refresher and the thread making its Ray calls: none owned by a widget.
        assert iog_threads() == sorted([THREAD_NAME, CALL_THREAD_NAME])
        assert jobs.threads == shared.threads and len(shared.threads) == 2
        thread = shared.thread
        assert thread is not None
        cluster.close()
        assert thread.is_alive()  # the jobs widget still refreshes
        calls, listed = shared.calls, lists[0]
        wait_until(lambda: lists[0] >= listed + 3)
        assert shared.calls == calls  # no cluster subscriber left: Ray is not asked
    finally:
        cluster.close()
        jobs.close()
        backend.close()
    thread.join(5)
    assert not thread.is_alive() and not shared.running and iog_threads() == []
    assert fake.closed == 1 and jobs.threads == []


def test_ticks_alone_never_poll_the_cluster() -> None:
    fake = FakeRay()
    refresher = SharedRefresher(fake.factory)
    ticks: list[float] = []
    sub = refresher.subscribe_tick(lambda: ticks.append(time.monotonic()), 0.05)
    try:
        wait_until(lambda: len(ticks) >= 5)
    finally:
        refresher.unsubscribe(sub)
    assert refresher.calls == 0 and fake.call_times == []
    assert refresher.state.snapshot is None and refresher.history == []
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert min(gaps) >= 0.04


def test_each_subscriber_keeps_its_own_interval_on_the_one_thread() -> None:
    refresher = SharedRefresher(FakeRay().factory)
    fast: list[float] = []
    slow: list[float] = []
    interval = {"s": 0.1}
    subs = [
        refresher.subscribe_tick(lambda: fast.append(time.monotonic()), lambda: interval["s"]),
        refresher.subscribe_tick(lambda: slow.append(time.monotonic()), 0.5),
        refresher.subscribe(lambda s, e: None, 0.25),
    ]
    try:
        time.sleep(1.05)
        counts = (len(fast), len(slow), refresher.calls)
        interval["s"] = 10.0  # read before each wait: the fast one slows down
        time.sleep(0.3)
        after = len(fast)
        time.sleep(0.5)
    finally:
        for sub in subs:
            refresher.unsubscribe(sub)
    assert 6 <= counts[0] <= 12 and 2 <= counts[1] <= 3 and 3 <= counts[2] <= 6
    assert len(fast) == after


def test_raising_subscribers_do_not_stop_the_others() -> None:
    refresher = SharedRefresher(FakeRay().factory)
    snapshots: list[ClusterSnapshot | None] = []
    ticks = [0]

    def broken_cluster(snapshot: ClusterSnapshot | None, error: str | None) -> None:
        raise RuntimeError("boom")

    def broken_tick() -> None:
        raise KeyError("boom")

    def broken_interval() -> float:
        raise ValueError("boom")

    subs = [
        refresher.subscribe(broken_cluster, 0.05),
        refresher.subscribe_tick(broken_tick, 0.05),
        refresher.subscribe_tick(lambda: None, broken_interval),
        refresher.subscribe(lambda s, e: snapshots.append(s), 0.05),
        refresher.subscribe_tick(lambda: ticks.__setitem__(0, ticks[0] + 1), 0.05),
    ]
    thread = refresher.thread
    try:
        wait_until(lambda: len(snapshots) >= 5 and ticks[0] >= 5)
        assert refresher.num_subscribers == 5  # the broken ones stay subscribed
        assert refresher.thread is thread and refresher.running
    finally:
        for sub in subs:
            refresher.unsubscribe(sub)
    assert all(s is not None for s in snapshots)
    assert thread is not None and not thread.is_alive()


def test_unsubscribe_waits_for_a_refresh_in_progress() -> None:
    refresher = SharedRefresher(FakeRay().factory)
    entered, done = threading.Event(), threading.Event()
    calls = [0]

    def slow() -> None:
        calls[0] += 1
        entered.set()
        time.sleep(0.3)
        done.set()

    keep = refresher.subscribe_tick(lambda: None, 0.05)
    sub = refresher.subscribe_tick(slow, 0.05)
    try:
        assert entered.wait(5)
        refresher.unsubscribe(sub)
        assert done.is_set()  # a widget's close() may release what its refresh uses
        seen = calls[0]
        time.sleep(0.2)
        assert calls[0] == seen
    finally:
        refresher.unsubscribe(keep)


def test_a_subscriber_may_unsubscribe_itself_from_its_callback() -> None:
    refresher = SharedRefresher(FakeRay().factory)
    subs: list = []
    left = threading.Event()

    def leave() -> None:
        refresher.unsubscribe(subs[0])  # the last one: stops its own thread, no deadlock
        left.set()

    subs.append(refresher.subscribe_tick(leave, 0.05))
    assert left.wait(5)
    thread = refresher.thread
    assert thread is None or not thread.is_alive()
    assert refresher.num_subscribers == 0


DRIVER_SCRIPT = """
import sys, threading
import ray
from iog_jupyter.core.cluster import get_cluster_snapshot
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.widgets.refresher import SharedRefresher
from tests.fixtures import NO_RAY

ray.init(log_to_driver=False)
errors, got = [], threading.Event()
down = RayConnection(address=NO_RAY)
refresher = SharedRefresher(lambda: lambda: get_cluster_snapshot(down))
refresher.subscribe(lambda snapshot, error: (errors.append(error), got.set()), 0.2)
got.wait(30)
print("ERROR:", errors[0])
"""


@pytest.mark.ray
def test_a_notebook_that_is_a_ray_driver_is_told_what_an_outage_does(ray_head) -> None:
    import subprocess
    import sys

    from tests.fixtures import ray_env

    done = subprocess.run(
        [sys.executable, "-c", DRIVER_SCRIPT],
        env=ray_env(ray_head),
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = [x for x in done.stdout.splitlines() if x.startswith("ERROR:")]
    assert line, done.stdout[-2000:] + done.stderr[-2000:]
    assert "127.0.0.1:1" in line[0] and refresher_module.DRIVER_NOTE.strip() in line[0]
