"""REST handler for usage accounting: ``GET usage`` (who held the GPUs, for how long)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import IogAPIHandler


class UsageHandler(IogAPIHandler):
    """``GET usage?since=&until=&group_by=``: held GPU-, CPU- and memory-seconds per group."""

    services = ("monitor", "sessions")  # the sessions loop takes the samples

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Return the usage report for the window (from the stored samples, no Ray call)."""
        query = self.query()
        report = await self.run_blocking(
            self.iog.usage.report, query.since, query.until, query.group_by, needs_ray=False
        )
        self.write_json(report.model_dump_json())
