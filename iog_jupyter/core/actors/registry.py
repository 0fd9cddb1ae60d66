"""The server's side of detached actors: the registry bound to a connection, and the TTL reaper.

:class:`ActorRegistry` is what handlers and the CLI call (validation first, then a GCS probe,
Ray's errors mapped to :class:`~.errors.RayUnavailableError`). :class:`ActorReaper` runs one
reaper pass every ``interval_s`` in the ``reaper`` lane of :mod:`..calls`, off the event loop,
and hands what it killed to a callback (the app writes the audit records).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..calls import Lanes
from ..connection import RayConnection
from ..errors import IogError
from ..tasks import cancel_and_wait
from ..wire import DEFAULT_LIMIT, ActorPage, ActorRecord
from .gcs import Key, ReapedActor, kill_actor, list_actors, listed_names, reap_actors
from .records import check_list_args, check_target

log = logging.getLogger(__name__)


@dataclass(eq=False)
class NameCache:
    """The sorted listed names of each namespace filter, as :func:`.gcs.listed_names` reads them.

    Ray's ``ListNamedActors`` answers every name at once, so its cost grows with the named
    actors. The server's lists read it once, then again in the background when the copy is
    older than ``ttl_s`` (the page being served uses the copy it has): a page costs the same at
    20 and at 10,000 named actors. Each page still asks Ray for its actors' live state, so a
    dead or killed actor never shows; a new one shows once a re-read has seen it. At most
    ``max_entries`` namespace filters are kept (the least recently used go).
    """

    read: Callable[[str | None], list[Key]]
    ttl_s: float = 0.5
    max_entries: int = 64
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _entries: OrderedDict[str | None, tuple[float, list[Key]]] = field(
        default_factory=OrderedDict, init=False
    )
    _reading: set[str | None] = field(default_factory=set, init=False)

    def get(self, namespace: str | None) -> list[Key]:
        """The names for ``namespace`` (None: every unprotected one), sorted.

        Raises:
            RayUnavailableError: The first read of this filter failed.
        """
        with self._lock:
            entry = self._entries.get(namespace)
            if entry is not None:
                self._entries.move_to_end(namespace)
                stale = time.monotonic() - entry[0] >= self.ttl_s
                if stale and namespace not in self._reading:
                    self._reading.add(namespace)
                    threading.Thread(
                        target=self._refresh, args=(namespace,), daemon=True, name="iog-names"
                    ).start()
                return entry[1]
        return self._refresh(namespace, background=False)

    def forget(self, key: Key) -> None:
        """Drop one name at once (an actor this server just killed)."""
        with self._lock:
            for namespace, (when, keys) in list(self._entries.items()):
                if key in keys:
                    self._entries[namespace] = (when, [k for k in keys if k != key])

    def _refresh(self, namespace: str | None, background: bool = True) -> list[Key]:
        started = time.monotonic()
        try:
            keys = self.read(namespace)
        except IogError as err:
            if not background:
                raise
            log.debug("Re-reading actor names failed: %s", err.message)
            return []
        finally:
            with self._lock:
                self._reading.discard(namespace)
        with self._lock:
            self._entries[namespace] = (started, keys)
            self._entries.move_to_end(namespace)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return keys


class ActorRegistry:
    """The detached-actor registry bound to one Ray connection.

    Nobody may kill actors in ``protected_namespaces``, on top of the system ones (Ray's job
    supervisors, iog's own, names starting ``_ray_internal``).

    Example:
        >>> registry = ActorRegistry(RayConnection(), ["serve"])  # doctest: +SKIP
        >>> registry.list(detached=True).actors  # doctest: +SKIP
    """

    def __init__(
        self,
        conn: RayConnection,
        protected_namespaces: Iterable[str] = (),
        cache_names: bool = False,
    ) -> None:
        self.conn = conn
        self.protected = frozenset(protected_namespaces)
        #: The server's cached name lists (``cache_names``); None reads Ray on every list.
        self.names: NameCache | None = None
        if cache_names:
            self.names = NameCache(
                lambda namespace: self.conn.gcs_call(
                    listed_names, self.conn.request_timeout_s, namespace, self.protected
                )
            )

    def list(
        self,
        *,
        detached: bool | None = None,
        namespace: str | None = None,
        states: frozenset[str] | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        prefix: str | None = None,
    ) -> ActorPage:
        """One page of named actors (see :func:`.gcs.list_actors`).

        Raises:
            ValidationError: A bad state, limit, namespace or cursor (before Ray is asked).
            RayUnavailableError: The GCS did not answer.
        """
        check_list_args(states, limit, namespace, cursor)
        cache = self.names
        return self.conn.gcs_call(
            list_actors,
            self.conn.request_timeout_s,
            detached=detached,
            namespace=namespace,
            states=states,
            limit=limit,
            cursor=cursor,
            prefix=prefix,
            protected=self.protected,
            names=None if cache is None else lambda: cache.get(namespace),
        )

    def kill(self, namespace: str, name: str) -> ActorRecord:
        """Kill one actor (see :func:`.gcs.kill_actor`); refused ones before Ray is asked.

        Raises:
            ValidationError: A malformed name or namespace.
            ForbiddenError: A protected actor.
            NotFoundError: No live actor has this name there.
            RayUnavailableError: The GCS did not answer.
        """
        check_target(namespace, name, self.protected)
        record = self.conn.gcs_call(
            kill_actor, namespace, name, self.conn.request_timeout_s, self.protected
        )
        if self.names is not None:
            self.names.forget((namespace, name))
        return record

    def reap(self, now: int | None = None) -> list[ReapedActor]:
        """One reaper pass (see :func:`.gcs.reap_actors`)."""
        return self.conn.gcs_call(reap_actors, self.conn.request_timeout_s, now, self.protected)


@dataclass(eq=False)
class ActorReaper:
    """Reap expired detached actors every ``interval_s`` (0: never) on the running event loop.

    Each pass runs in the ``reaper`` lane of ``calls``, never on the loop, within ``timeout_s``
    (refused at once while Ray is known to be down); ``on_reaped`` is called on the loop with
    each non-empty pass's results (audit them there).
    """

    registry: ActorRegistry
    interval_s: float
    calls: Lanes
    on_reaped: Callable[[list[ReapedActor]], None]
    timeout_s: float = 30.0
    last_error: str | None = field(default=None, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    def start(self) -> None:
        """Start reaping on the running loop (idempotent; a no-op when ``interval_s`` is 0)."""
        if self.interval_s > 0 and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def reap_once(self) -> list[ReapedActor]:
        """One pass now: kill expired actors, drop stale records; report them to ``on_reaped``.

        Raises:
            IogError: Ray was unreachable or the pass ran past ``timeout_s``.
        """
        reaped = await self.calls.run("reaper", self.registry.reap, timeout_s=self.timeout_s)
        if reaped:
            self.on_reaped(reaped)
        return reaped

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.reap_once()
                self.last_error = None
            except IogError as err:
                if err.message != self.last_error:
                    log.warning("iog_jupyter: actor reaper: %s", err.message)
                self.last_error = err.message

    async def stop(self) -> None:
        """Stop the loop; a pass stuck inside Ray is abandoned after 2 s."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
