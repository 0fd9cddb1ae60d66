"""REST and websocket handlers for the cluster: status, snapshot, history, live feed, doctor."""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web, websocket

from .._version import __version__
from ..core.errors import IogError, RayUnavailableError
from ..core.security.doctor import JupyterFacts, run_doctor
from ..core.wire import ClusterHistory, Status, iso_from_ms
from .base import IogAPIHandler, IogWebSocketHandler


class StatusHandler(IogAPIHandler):
    """``GET status``: version, Ray connection state, jobs backend, last error."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Report whether Ray is reachable and how iog reaches it (never the token)."""
        self.query()
        monitor = await self.polled_monitor()
        jobs_backend = self.iog.jobs_backend_name
        if jobs_backend is None and (monitor.connected or self.iog.jobs_backend == "local"):
            try:  # choosing probes Ray's job API once; cheap while Ray answers
                jobs_backend = (await self.iog.get_job_service()).backend.name
            except IogError as error:
                self.log.info("iog_jupyter: no jobs backend yet: %s", error.message)
        status = Status(
            version=__version__,
            ray=self.iog.connection.describe(connected=bool(monitor.connected)),
            jobs_backend=jobs_backend,
            jobs_backend_change=self.iog.jobs_backend_change,
            last_error=monitor.last_error,
            last_update=iso_from_ms(monitor.last_update_ms),
            refresh_interval_s=monitor.refresh_interval_s,
            subscribers=monitor.num_subscribers,
            user=self.username,
        )
        self.write_json(status)


class ClusterHandler(IogAPIHandler):
    """``GET cluster``: the latest snapshot, served from the monitor's cache."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Return the current snapshot, or 503 with where iog looked and how to start Ray."""
        self.query()
        monitor = await self.polled_monitor()
        if not monitor.connected or monitor.snapshot_json is None:
            raise RayUnavailableError(
                monitor.last_error or monitor.connection.unavailable("no answer yet").message
            )
        self.write_json(monitor.snapshot_json)


class ClusterHistoryHandler(IogAPIHandler):
    """``GET cluster/history?since_ms=``: totals and available per poll, from a ring buffer."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Return history points newer than ``since_ms`` (all kept points by default)."""
        since_ms = self.query().since_ms
        monitor = self.iog.monitor
        history = ClusterHistory(
            refresh_interval_s=monitor.refresh_interval_s,
            history_length=monitor.history.maxlen or 0,
            points=monitor.history_since(since_ms),
        )
        self.write_json(history)


class ClusterSubscribeHandler(IogWebSocketHandler):
    """``WS cluster/subscribe[?deltas=1]``: the snapshot on connect, then one message per change.

    The messages (``snapshot``, ``status``, and with ``?deltas=1`` ``delta``) and the client's
    ``refresh`` and ``resync`` are described by the route (``routes.ROUTES``) and ``core.wire``.
    A slow client never makes the server queue more than one data message and one status for
    it: a newer snapshot replaces a queued one, and a delta arriving while another data message
    is queued replaces it with the whole current snapshot (a delta must never be skipped).
    """

    _writing = False
    _deltas = False
    _queued: dict[str, str]

    async def pre_get(self) -> None:
        """Check the query (``deltas``) and authorize ``read`` on the cluster."""
        await super().pre_get()
        self._deltas = bool(self.query().deltas)

    async def open(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Send what is known now (after a first poll, if none ran yet) and subscribe."""
        super().open(*args, **kwargs)
        self._queued = {}
        monitor = await self.polled_monitor()
        self._send_current(bool(monitor.connected))
        # Nothing is awaited between the message above and this: no change can fall between.
        self._unsubscribe = monitor.subscribe(self._on_update, deltas=self._deltas)

    def _send_current(self, connected: bool = True) -> None:
        """The whole snapshot when there is one (and Ray answers), else the status."""
        monitor = self.iog.monitor
        if connected and monitor.snapshot_json is not None:
            self._send(monitor.snapshot_message())
        else:
            self._send(monitor.status_message(), "status")

    def _on_update(self, kind: str, message: str) -> None:
        if kind == "delta" and self._writing and "data" in self._queued:
            # Two data messages would wait: the current snapshot stands for both.
            message = self.iog.monitor.snapshot_message()
        self._send(message, "status" if kind == "status" else "data")

    def _send(self, message: str, slot: str = "data") -> None:
        """Write ``message`` now, or queue it in its slot (``data`` or ``status``)."""
        if self.ws_connection is None or self.ws_connection.is_closing():
            return
        if self._writing:
            self._queued.pop(slot, None)
            self._queued[slot] = message
            return
        self._writing = True
        try:
            future = self.write_message(message)
        except websocket.WebSocketClosedError:
            self._writing = False
            return
        future.add_done_callback(self._written)

    def _written(self, future: Any) -> None:
        self._writing = False
        if future.exception() is not None or not self._queued:
            return
        slot = next(iter(self._queued))
        self._send(self._queued.pop(slot), slot)

    def on_message(self, message: str | bytes) -> None:
        """``{"type": "refresh"}``: poll now; ``{"type": "resync"}``: send the whole snapshot."""
        try:
            data = json.loads(message)
        except (ValueError, TypeError):
            return
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "refresh":
            self.iog.monitor.wake()
        elif kind == "resync":
            self._send_current()


class DoctorHandler(IogAPIHandler):
    """``GET doctor``: the checks of ``core.security.doctor`` for this server and its Ray head.

    Answers ``{status, checks: [{id, status, message, fix}]}`` (read-only).
    """

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Run every check; fixes are never applied through the REST API (``iog doctor --fix``)."""
        self.query()
        facts = JupyterFacts.from_serverapp(self.serverapp, self.iog.jobs_backend_name)
        facts.jobs_backend_change = self.iog.jobs_backend_change
        report = await self.run_blocking(run_doctor, self.iog.connection, facts, needs_ray=False)
        self.write_json(report)
