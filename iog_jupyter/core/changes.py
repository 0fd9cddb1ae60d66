"""Change feed for the lists that UIs show: jobs, sessions, detached actors.

A :class:`ChangeFeed` asks each *watched* topic for a cheap fingerprint of its first page every
``interval_s`` and tells the topic's subscribers when the fingerprint changed. Topics nobody
subscribes to are not polled, and with no subscribers at all the loop does not run. Clients
re-fetch their own page (their own filter, cursor and permissions) on a change, so the feed
never sends list contents and needs no per-user view.

A fingerprint source that fails (Ray unreachable) yields ``("unavailable", reason)``: going down
and coming back are changes too, so the UIs show the disconnected state and recover without
polling fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

from .errors import IogError
from .tasks import cancel_and_wait

log = logging.getLogger(__name__)

#: A source: an awaitable returning a hashable fingerprint of a topic's first page.
Source = Callable[[], Awaitable[Hashable]]
#: A subscriber's callback, called with the topic that changed.
Listener = Callable[[str], None]


class ChangeFeed:
    """Poll fingerprints of the watched topics (``sources``, by topic name) every ``interval_s``.

    Subscribers of a topic are told when its fingerprint changed.
    """

    def __init__(self, sources: dict[str, Source], interval_s: float) -> None:
        self.sources = dict(sources)
        self.interval_s = interval_s
        self._listeners: dict[object, tuple[frozenset[str], Listener]] = {}
        self._fingerprints: dict[str, Hashable] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._baselines: dict[str, asyncio.Future[Hashable]] = {}

    @property
    def subscribers(self) -> int:
        """How many subscriptions are open."""
        return len(self._listeners)

    def watched(self) -> frozenset[str]:
        """The topics somebody subscribes to."""
        return frozenset().union(*(topics for topics, _ in self._listeners.values()))

    def subscribe(self, topics: Iterable[str], listener: Listener) -> Callable[[], None]:
        """Call ``listener(topic)`` whenever one of ``topics`` changes; returns the unsubscriber.

        Starts the polling loop if it is not running (needs a running event loop).

        Raises:
            ValueError: A topic this feed does not know.
        """
        wanted = frozenset(topics)
        unknown = wanted - set(self.sources)
        if unknown:
            raise ValueError(f"Unknown topic {sorted(unknown)[0]!r}.")
        key = object()
        self._listeners[key] = (wanted, listener)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())
        # A topic nobody watched yet gets its first fingerprint (recorded, not compared) now;
        # subscribers to topics already watched cost no extra round.
        if wanted - set(self._fingerprints):
            self.wake()

        def unsubscribe() -> None:
            self._listeners.pop(key, None)
            for topic in set(self._fingerprints) - self.watched():
                self._fingerprints.pop(topic, None)

        return unsubscribe

    async def baseline(self, topics: Iterable[str]) -> None:
        """Fingerprint each of ``topics`` not fingerprinted yet, now.

        A subscriber that re-fetches its lists after this returns misses nothing: a change made
        before the baseline is in what it fetches, one made after it is reported.
        """
        for topic in sorted(set(topics)):
            if topic in self._fingerprints:
                continue
            # Subscribers arriving together share one fingerprint per topic.
            task = self._baselines.get(topic)
            if task is None:
                task = asyncio.ensure_future(self._fingerprint(topic))
                self._baselines[topic] = task
            try:
                fingerprint = await asyncio.shield(task)
            finally:
                if self._baselines.get(topic) is task and task.done():
                    del self._baselines[topic]
            self._fingerprints.setdefault(topic, fingerprint)

    def wake(self) -> None:
        """Run the next round now (after a change made through this server, say)."""
        self._wake.set()

    async def check_once(self) -> list[str]:
        """Take one fingerprint of each watched topic; notify and return the topics that changed.

        A topic seen for the first time is recorded, not reported.
        """
        changed: list[str] = []
        for topic in sorted(self.watched()):
            fingerprint = await self._fingerprint(topic)
            if self._fingerprints.get(topic, fingerprint) != fingerprint:
                changed.append(topic)
            self._fingerprints[topic] = fingerprint
        for topic in changed:
            for topics, listener in list(self._listeners.values()):
                if topic in topics:
                    try:
                        listener(topic)
                    except Exception:  # one broken subscriber must not stop the others
                        log.exception("iog_jupyter: a change listener failed")
        return changed

    async def stop(self) -> None:
        """Stop the loop; subscriptions are dropped."""
        self._listeners.clear()
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _fingerprint(self, topic: str) -> Hashable:
        try:
            return await self.sources[topic]()
        except IogError as error:
            return ("unavailable", error.reason)
        except Exception as error:  # a source bug must not end the feed
            log.warning("iog_jupyter: change source %r failed: %s", topic, type(error).__name__)
            return ("unavailable", type(error).__name__)

    async def _loop(self) -> None:
        while self._listeners:
            await self.check_once()
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval_s)
        self._fingerprints.clear()


def jobs_fingerprint(page: Any) -> Hashable:
    """What a jobs page shows that can change: ids, statuses, messages, end times, the total."""
    return (
        page.total,
        tuple((j.submission_id, j.status, j.message, j.end_time_ms) for j in page.jobs),
    )


def sessions_fingerprint(records: Iterable[Any]) -> Hashable:
    """What the sessions list shows that can change, idle seconds left out (they always do)."""
    return tuple(
        sorted(
            (
                s.session_id,
                s.execution_state,
                s.actors,
                s.detached_actors,
                s.running_tasks,
                tuple(sorted(s.resources.items())),
                str(s.policy.state),
            )
            for s in records
        )
    )


def actors_fingerprint(page: Any) -> Hashable:
    """What the actors list shows that can change: names, states, expiries, the total.

    A filtered page (the feed asks for detached actors) has no total (None): whether a next page
    exists stands in for it, so the page's cost stays that of one page.
    """
    return (
        page.total,
        page.next_cursor is not None,
        tuple((a.namespace, a.name, a.state, a.expires_ms, a.owner) for a in page.actors),
    )
