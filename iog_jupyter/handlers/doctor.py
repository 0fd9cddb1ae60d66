"""``GET doctor``: the checks of ``core.security.doctor`` for this server and its Ray head."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..core.security.doctor import JupyterFacts, run_doctor
from .base import IogAPIHandler


class DoctorHandler(IogAPIHandler):
    """``GET doctor``: ``{status, checks: [{id, status, message, fix}]}`` (read-only)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Run every check; fixes are never applied through the REST API (``iog doctor --fix``)."""
        self.query()
        facts = JupyterFacts.from_serverapp(self.serverapp, self.iog.jobs_backend_name)
        facts.jobs_backend_change = self.iog.jobs_backend_change
        report = await self.run_blocking(run_doctor, self.iog.connection, facts, needs_ray=False)
        self.write_json(report.model_dump_json())
