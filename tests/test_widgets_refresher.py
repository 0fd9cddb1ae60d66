"""The shared refresher: one poll per interval, backoff while Ray is down, recovery, stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from iog_jupyter.core.errors import RayUnavailableError
from iog_jupyter.core.monitor import backoff_delay_s
from iog_jupyter.core.wire import ClusterSnapshot
from iog_jupyter.widgets.refresher import SharedRefresher


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
    assert refresher.failures == 0 and refresher.latest_error is None
    assert len(refresher.history) == len(seen) - 3


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
        names = [t.name for t in threading.enumerate() if t.name == "iog-cluster-refresher"]
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
