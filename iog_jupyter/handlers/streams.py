"""``WS jobs/{submission_id}/logs/tail?offset=``: a job's log, live, from a byte offset.

``log`` messages cover contiguous byte ranges ``[offset, next_offset)``, so a client that
reconnects with ``?offset=<last next_offset>`` loses and repeats nothing; once the job has ended
and every byte was sent, a ``status`` message, then the close (an ``error`` message instead when
the job is deleted meanwhile).

The job service's ``LogFollower`` reads a log that is a file on this machine every
``log_tail_poll_interval_s`` (a printed line reaches the client in tens of milliseconds), else
polls the backend's log pages. Each write is awaited before reading on, so a tail reads at most
``log_tail_chunk_bytes`` ahead of its client: a stalled client stalls only its own tail.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    _follower: LogFollower

    async def pre_get(self) -> None:
        """Authorize ``read`` on ``iog:jobs``, check the id, offset and the job, before the upgrade.

        Raises:
            tornado.web.HTTPError: 403 not authorized, 400 bad id or offset, 404 no such job,
                429 too many open tails, 503 backend unreachable.
        """
        await self.authorize("read")
        submission_id = self.path_kwargs["submission_id"]
        offset = self.query().offset
        jobs = await self.iog.get_job_service()
        self._follower = LogFollower(jobs, submission_id, offset)
        await self.run_blocking(jobs.get, submission_id)
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

    async def _follow(self, submission_id: str) -> None:
        """Send the log from the offset, then the job's status (or an error), and close."""
        try:
            loop, follower = asyncio.get_running_loop(), self._follower
            pool = self.iog.calls.executor("logs")
            # No deadline: a round that waits on Ray ends when Ray's own call times out.
            while (got := await loop.run_in_executor(pool, follower.step)) is not None:
                if isinstance(got, LogPage):
                    page = LogMessage(offset=got.offset, next_offset=got.next_offset, text=got.text)
                    # Awaited until the socket took it: the flow control (module docstring).
                    await self.write_message(page.model_dump_json())
                else:
                    await asyncio.sleep(got)
            record = follower.record
            assert record is not None
            last: WireModel = JobStatusMessage(
                status=record.status, exit_code=record.exit_code, message=record.message
            )
        except websocket.WebSocketClosedError:
            return
        except NotFoundError as error:
            last = ErrorMessage(message=error.message)
        except Exception:  # a tail must end cleanly whatever broke; the log says what
            self.log.exception("iog_jupyter: log tail of %s failed", submission_id)
            last = ErrorMessage(message="The log tail failed on the server.")
        with contextlib.suppress(websocket.WebSocketClosedError):
            await self.write_message(last.model_dump_json())
            self.close(1000)

    def on_close(self) -> None:
        """Stop following and free this user's tail slot."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
        self.on_refused()

    def on_refused(self) -> None:
        """Free this user's tail slot (a refused or abandoned upgrade, or a closed tail)."""
        if self._counted_user is not None:
            self.open_tails[self._counted_user] -= 1
            if self.open_tails[self._counted_user] <= 0:
                del self.open_tails[self._counted_user]
            self._counted_user = None
