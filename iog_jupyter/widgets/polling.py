"""One widget's periodic refresh on a daemon thread (the jobs, sessions and actors widgets)."""

from __future__ import annotations

import threading
from collections.abc import Callable


class RefreshThread:
    """Call ``refresh()`` every ``interval_s()`` seconds on a daemon thread until stopped.

    Args:
        name: The thread's name (``iog-jobs-refresh``).
        refresh: What to call each round; it must not raise.
        interval_s: The current interval (read each round, so a widget may change it).
    """

    def __init__(self, name: str, refresh: Callable[[], None], interval_s: Callable[[], float]):
        self.name = name
        self._refresh = refresh
        self._interval_s = interval_s
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread once; a no-op when already started or stopped (call under a lock)."""
        if self.thread is not None or self._stop.is_set():
            return
        self.thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._refresh()
            self._stop.wait(self._interval_s())

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop for good and wait for the round in progress (unless called from the thread)."""
        self._stop.set()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=timeout_s)

    def alive(self) -> list[threading.Thread]:
        """The thread, while it runs (for a widget's ``threads``)."""
        return [self.thread] if self.thread is not None and self.thread.is_alive() else []
