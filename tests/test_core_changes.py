"""The change feed: polls only watched topics, reports changes, never the first fingerprint."""

from __future__ import annotations

import asyncio

import pytest

from iog_jupyter.core.changes import ChangeFeed
from iog_jupyter.core.errors import RayUnavailableError


class Counter:
    """A source whose fingerprint is whatever ``value`` holds; counts its calls."""

    def __init__(self) -> None:
        self.value: object = 0
        self.calls = 0

    async def __call__(self) -> object:
        self.calls += 1
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


async def test_changes_reach_only_that_topics_subscribers():
    jobs, actors = Counter(), Counter()
    feed = ChangeFeed({"jobs": jobs, "actors": actors}, interval_s=60)
    seen_jobs: list[str] = []
    seen_all: list[str] = []
    stop_jobs = feed.subscribe(["jobs"], seen_jobs.append)
    assert await feed.check_once() == []
    assert actors.calls == 0, "an unwatched topic is not polled"
    stop_all = feed.subscribe(["jobs", "actors"], seen_all.append)
    await feed.check_once()
    jobs.value = 1
    assert await feed.check_once() == ["jobs"]
    assert seen_jobs == ["jobs"] and seen_all == ["jobs"]
    actors.value = 1
    await feed.check_once()
    assert seen_jobs == ["jobs"] and seen_all == ["jobs", "actors"]
    stop_all()
    stop_jobs()
    assert feed.subscribers == 0
    await feed.stop()


async def test_going_unavailable_and_back_are_changes():
    jobs = Counter()
    feed = ChangeFeed({"jobs": jobs}, interval_s=60)
    seen: list[str] = []
    feed.subscribe(["jobs"], seen.append)
    await feed.check_once()
    jobs.value = RayUnavailableError("down")
    assert await feed.check_once() == ["jobs"]
    assert await feed.check_once() == []
    jobs.value = 0
    assert await feed.check_once() == ["jobs"]
    await feed.stop()


async def test_wake_runs_a_round_at_once_and_the_loop_ends_without_subscribers():
    jobs = Counter()
    feed = ChangeFeed({"jobs": jobs}, interval_s=60)
    seen: list[str] = []
    stop = feed.subscribe(["jobs"], seen.append)
    for _ in range(50):
        if jobs.calls:
            break
        await asyncio.sleep(0.01)
    jobs.value = 1
    feed.wake()
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.01)
    assert seen == ["jobs"]
    stop()
    feed.wake()
    await asyncio.sleep(0.05)
    assert feed._task is not None and feed._task.done()


def test_unknown_topics_are_refused():
    feed = ChangeFeed({"jobs": Counter()}, interval_s=1)
    with pytest.raises(ValueError, match="secrets"):
        feed.subscribe(["secrets"], print)


async def test_a_change_right_after_the_baseline_is_reported():
    """The window the subscribe handshake closes: a change after the client's fetch is pushed."""
    jobs = Counter()
    feed = ChangeFeed({"jobs": jobs}, interval_s=60)
    seen: list[str] = []
    feed.subscribe(["jobs"], seen.append)
    await feed.baseline(["jobs"])  # the server does this before it sends `subscribed`
    assert jobs.calls >= 1
    jobs.value = 1  # a job ends before the feed's next round
    assert await feed.check_once() == ["jobs"] and seen == ["jobs"]
    calls = jobs.calls
    await feed.baseline(["jobs"])  # a second subscriber does not reset the baseline
    assert jobs.calls == calls
    await feed.stop()


async def test_subscribers_arriving_together_share_one_baseline():
    jobs = Counter()
    feed = ChangeFeed({"jobs": jobs}, interval_s=60)
    for _ in range(20):
        feed.subscribe(["jobs"], lambda topic: None)
    await asyncio.gather(*(feed.baseline(["jobs"]) for _ in range(20)))
    assert jobs.calls <= 2, "one baseline (and at most the loop's own first round)"
    await feed.stop()
