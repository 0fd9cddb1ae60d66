"""``WS jobs/{submission_id}/logs/tail?offset=``: a job's log, live, from a byte offset.

Messages (JSON):

- ``{"type": "log", "offset": o, "next_offset": n, "text": "..."}`` covers the log's bytes
  ``[o, n)``; consecutive messages are contiguous, so a client that reconnects with
  ``?offset=<last next_offset>`` continues with no loss and no duplicates.
- ``{"type": "status", "status": "SUCCEEDED", "exit_code": 0, "message": "..."}`` once the job
  has ended and every byte of its log was sent; the server then closes the socket.
- ``{"type": "error", "message": "..."}`` when the job disappears (deleted) while tailing.

The job service's ``LogFollower`` does the following: where the backend has the log as a file on
this machine it reads it every ``log_tail_poll_interval_s``, so a printed line reaches the client
in tens of milliseconds; otherwise it polls the backend's log pages. Each tail reads at most
``log_tail_chunk_bytes`` ahead of what its client has taken: it awaits each write before reading
on, so a stalled client stalls only its own tail and never grows server memory.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from tornado import web, websocket

from ..core.errors import NotFoundError
from ..core.jobs.base import LogPage
from ..core.jobs.service import LogFollower
from ..core.wire import ErrorMessage, JobStatusMessage, LogMessage, WireModel
from .base import IogWebSocketHandler, request_username


class JobLogsWebSocketHandler(IogWebSocketHandler):
    """``WS jobs/{submission_id}/logs/tail?offset=``: the log from ``offset``, then the status."""

    auth_description = "jobs"

    #: Open tails per user, across all jobs (capped by ``log_tail_max_clients_per_user``).
    open_tails: Counter[str] = Counter()

    _task: asyncio.Task[None] | None = None
    _counted_user: str | None = None
    _start_offset = 0
    _follower: LogFollower

    async def pre_get(self) -> None:
        """Authorize ``read`` on ``iog:jobs``, check the id, offset and the job, before the upgrade.

        Raises:
            tornado.web.HTTPError: 403 not authorized, 400 bad id or offset, 404 no such job,
                429 too many open tails, 503 backend unreachable.
        """
        await self.authorize("read")
        submission_id = self.path_kwargs["submission_id"]
        self._start_offset = self.query().offset
        jobs = await self.iog.get_job_service()
        self._follower = LogFollower(jobs, submission_id, self._start_offset)
        await self.run_blocking(jobs.get, submission_id, needs_ray=jobs.backend.name == "ray")
        name = request_username(self)
        if self.open_tails[name] >= self.iog.log_tail_max_clients_per_user:
            raise web.HTTPError(
                429,
                f"Too many open log tails ({self.iog.log_tail_max_clients_per_user}); close some "
                "(IogJupyterApp.log_tail_max_clients_per_user).",
            )
        self.open_tails[name] += 1
        self._counted_user = name

    def open(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Start following the log."""
        super().open(*args, **kwargs)
        self._task = asyncio.ensure_future(self._follow(kwargs["submission_id"]))

    async def _send(self, message: WireModel) -> None:
        """Write one message and wait until the socket took it (the flow control)."""
        await self.write_message(message.model_dump_json())

    async def _follow(self, submission_id: str) -> None:
        try:
            await self._follow_until_end()
        except websocket.WebSocketClosedError:
            return
        except asyncio.CancelledError:
            raise
        except NotFoundError as error:
            await self._finish(ErrorMessage(message=error.message))
        except Exception:  # a tail must end cleanly whatever broke; the log says what
            self.log.exception("iog_jupyter: log tail of %s failed", submission_id)
            await self._finish(ErrorMessage(message="The log tail failed on the server."))

    async def _finish(self, message: WireModel) -> None:
        try:
            await self._send(message)
        except websocket.WebSocketClosedError:
            return
        self.close(1000)

    async def _follow_until_end(self) -> None:
        loop, follower = asyncio.get_running_loop(), self._follower
        pool = self.iog.calls.executor("logs")
        # No deadline: a round that waits on Ray ends when Ray's own call times out.
        while (got := await loop.run_in_executor(pool, follower.step)) is not None:
            if isinstance(got, LogPage):
                await self._send(
                    LogMessage(offset=got.offset, next_offset=got.next_offset, text=got.text)
                )
            else:
                await asyncio.sleep(got)
        record = follower.record
        assert record is not None
        await self._finish(
            JobStatusMessage(
                status=record.status, exit_code=record.exit_code, message=record.message
            )
        )

    def on_close(self) -> None:
        """Stop following and free this user's tail slot."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
        self._release_slot()

    def on_refused(self) -> None:
        """A refused or abandoned upgrade frees its tail slot."""
        self._release_slot()

    def _release_slot(self) -> None:
        if self._counted_user is not None:
            self.open_tails[self._counted_user] -= 1
            if self.open_tails[self._counted_user] <= 0:
                del self.open_tails[self._counted_user]
            self._counted_user = None
