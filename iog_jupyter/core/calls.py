"""Blocking calls to Ray, run off the event loop in lanes: one bounded pool per kind of call.

A lane (``jobs``, ``sessions``, ``actors``, ``logs``, ...) has its own threads, so one slow kind
of call cannot hold the others: while Ray's job API hangs, ``GET sessions`` still answers from
its own pool. Deadlines are honest about queueing: a call that never got a thread before its
deadline is answered "busy, try again" (reason ``server_busy``), never blamed on Ray; a call
that ran out of time inside Ray says so. And a lane asked for a Ray call while the cluster
monitor knows Ray is down answers at once from what the monitor knows, instead of waiting out a
deadline per request.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from .errors import RayUnavailableError

T = TypeVar("T")


class Lanes:
    """The server's blocking-call pools of ``workers`` threads, created on first use, one per lane.

    ``timeout_s`` is the default deadline of one call, queueing included. ``ray_down`` says why
    Ray is known to be unreachable right now (the cluster monitor's view), or None; calls that
    need Ray are then refused with that sentence.
    """

    def __init__(
        self,
        workers: int,
        timeout_s: float,
        ray_down: Callable[[], str | None] | None = None,
    ) -> None:
        self.workers = workers
        self.timeout_s = timeout_s
        self.ray_down = ray_down
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    def executor(self, lane: str) -> ThreadPoolExecutor:
        """The pool of ``lane`` (for loops that manage their own deadlines)."""
        with self._lock:
            pool = self._pools.get(lane)
            if pool is None:
                pool = ThreadPoolExecutor(self.workers, thread_name_prefix=f"iog-{lane}")
                self._pools[lane] = pool
            return pool

    async def run(
        self,
        lane: str,
        fn: Callable[..., T],
        *args: object,
        timeout_s: float | None = None,
        needs_ray: bool = True,
    ) -> T:
        """Run ``fn(*args)`` on ``lane``'s pool under a deadline that counts queueing.

        ``timeout_s`` is a longer deadline for calls that may wait on Ray's own work (a submit);
        a call that ``needs_ray`` is refused while Ray is down.

        Raises:
            RayUnavailableError: Ray is known to be down (``ray_unavailable``, with the monitor's
                sentence), the call ran past its deadline inside Ray (``ray_unavailable``), or it
                waited its whole deadline for a thread (``server_busy``).
        """
        down = self.ray_down() if needs_ray and self.ray_down is not None else None
        if down:
            raise RayUnavailableError(down)
        started = threading.Event()

        def call() -> T:
            started.set()
            return fn(*args)

        deadline = timeout_s or self.timeout_s
        future = asyncio.get_running_loop().run_in_executor(self.executor(lane), call)
        try:
            return await asyncio.wait_for(future, timeout=deadline)
        except asyncio.TimeoutError:
            if not started.is_set():
                raise RayUnavailableError(
                    f"The server's {self.workers} threads for {lane} calls were all busy for "
                    f"{deadline:g} s, so this request never started; try again shortly.",
                    reason="server_busy",
                ) from None
            raise RayUnavailableError(f"Ray did not answer within {deadline:g} s.") from None

    def shutdown(self) -> None:
        """Stop every pool without waiting; queued calls are cancelled."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)
