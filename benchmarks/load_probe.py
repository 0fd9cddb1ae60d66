"""A benchmark-only Jupyter server extension: measures the server from inside, for load.py.

Enabled through a Jupyter config dir on ``JUPYTER_CONFIG_PATH`` holding
``jupyter_server_config.d/load_probe.json`` (``{"ServerApp": {"jpserver_extensions":
{"load_probe": true}}}``), with ``benchmarks/`` on ``PYTHONPATH``; load.py does both.
Its one handler, ``GET /iog-load-probe`` (Jupyter's token
auth), starts the probe on the first call and answers what it has seen:

- **event-loop lag**: a callback scheduled every 50 ms records how late it ran
  (``lags``: ``[monotonic time, seconds late]``, every sample since the probe started);
- **Ray calls**: the cluster monitor's polls (``ClusterMonitor.ray_calls``) and the change feed's
  fingerprint calls per topic (each source of ``IogJupyterApp.changes`` wrapped with a counter
  when the probe starts; the feed calls Ray once per watched topic per round);
- **memory**: this process's RSS now and its peak (``/proc/self/status``);
- **CPU and GC**: the process's CPU seconds (all threads) and every garbage collection's pause
  (``gc_pauses``: ``[monotonic time, generation, seconds]``), to tell a busy server from one the
  machine did not schedule;
- **websockets**: iog's open websockets and the most bytes any of them held unsent.

It changes nothing in iog_jupyter; it is never installed or shipped.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import time
import weakref
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web

PERIOD_S = 0.05


class Probe:
    def __init__(self, serverapp: Any) -> None:
        self.serverapp = serverapp
        self.lags: list[tuple[float, float]] = []
        self.feed_calls: dict[str, int] = {}
        self.sockets: weakref.WeakSet[Any] = weakref.WeakSet()
        self.max_unsent = 0
        self.started_at: float | None = None
        self.gc_pauses: list[tuple[float, int, float]] = []
        self._gc_began = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def iog(self) -> Any:
        return self.serverapp.web_app.settings["iog_jupyter"]

    def start(self) -> None:
        if self._task is not None:
            return
        self.started_at = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._measure_lag())
        changes = self.iog.changes
        for topic, source in list(changes.sources.items()):
            self.feed_calls[topic] = 0
            changes.sources[topic] = functools.partial(self._counted, topic, source)
        self._watch_sockets()
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        """Time every garbage collection (it stops the event loop while it runs)."""
        if phase == "start":
            self._gc_began = time.perf_counter()
        else:
            pause = time.perf_counter() - self._gc_began
            self.gc_pauses.append((time.monotonic(), info["generation"], pause))

    async def _counted(self, topic: str, source: Any) -> Any:
        self.feed_calls[topic] += 1
        return await source()

    def _watch_sockets(self) -> None:
        """Remember every iog websocket that opens (to read its ``max_unsent_bytes``)."""
        from iog_jupyter.handlers.base import IogWebSocketHandler

        original = IogWebSocketHandler.write_message
        probe = self

        def write_message(handler: Any, *args: Any, **kwargs: Any) -> Any:
            probe.sockets.add(handler)
            return original(handler, *args, **kwargs)

        IogWebSocketHandler.write_message = write_message  # type: ignore[method-assign]

    async def _measure_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + PERIOD_S
            await asyncio.sleep(PERIOD_S)
            self.lags.append((time.monotonic(), max(0.0, loop.time() - due)))

    def report(self) -> dict[str, Any]:
        rss = peak = 0
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) * 1024
        live = [s for s in self.sockets if s.ws_connection is not None]
        self.max_unsent = max(
            [self.max_unsent, *(getattr(s, "max_unsent_bytes", 0) for s in self.sockets)]
        )
        monitor = self.iog.monitor
        return {
            "now": time.monotonic(),
            "started_at": self.started_at,
            "lags": self.lags,
            "cpu_s": time.process_time(),
            "gc_pauses": self.gc_pauses,
            "ray_calls": monitor.ray_calls,
            "refresh_interval_s": self.iog.refresh_interval_s,
            "cluster_subscribers": monitor.num_subscribers,
            "feed_calls": dict(self.feed_calls),
            "feed_subscribers": self.iog.changes.subscribers,
            "rss_bytes": rss,
            "peak_rss_bytes": peak,
            "open_websockets": len(live),
            "max_unsent_bytes": self.max_unsent,
        }


class ProbeHandler(APIHandler):
    @web.authenticated
    def get(self) -> None:
        probe: Probe = self.settings["iog_load_probe"]
        probe.start()
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(probe.report()))


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "load_probe"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    web_app = serverapp.web_app
    web_app.settings["iog_load_probe"] = Probe(serverapp)
    base = web_app.settings["base_url"].rstrip("/")
    web_app.add_handlers(".*$", [(f"{base}/iog-load-probe", ProbeHandler)])
