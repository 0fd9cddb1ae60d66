"""REST handlers for sessions: ``GET sessions``, ``POST sessions/{id}/release``, ``GET usage``."""

from __future__ import annotations

import logging
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..core.sessions.drivers import KernelInfo, check_session_id, refuse_internal
from ..core.wire import SessionList
from .base import IogAPIHandler

log = logging.getLogger(__name__)

MAX_RELEASE_BODY_BYTES = 4096


async def jupyter_kernels(serverapp: Any) -> list[KernelInfo]:
    """The server's kernels with pid, state, last activity and notebook path.

    The pid comes from each kernel's provisioner (local kernels); the path from the session
    manager. A kernel that goes away meanwhile is skipped.
    """
    km = serverapp.kernel_manager
    paths: dict[str, str] = {}
    try:
        for model in await serverapp.session_manager.list_sessions():
            kernel = model.get("kernel") or {}
            if kernel.get("id") and model.get("path"):
                paths[kernel["id"]] = str(model["path"])
    except (web.HTTPError, KeyError, OSError) as err:
        log.info("iog_jupyter: could not read Jupyter sessions: %s", type(err).__name__)
    kernels = []
    for model in km.list_kernels():
        kernel_id = model["id"]
        try:
            kernel = km.get_kernel(kernel_id)
        except KeyError:
            continue
        pid = getattr(getattr(kernel, "provisioner", None), "pid", None)
        last = getattr(kernel, "last_activity", None)
        kernels.append(
            KernelInfo(
                kernel_id=kernel_id,
                pid=int(pid) if isinstance(pid, int) else None,
                execution_state=str(model.get("execution_state") or "unknown"),
                last_activity_ms=int(last.timestamp() * 1000) if last else None,
                connections=int(model.get("connections") or 0),
                notebook_path=paths.get(kernel_id),
            )
        )
    return kernels


class SessionsHandler(IogAPIHandler):
    """``GET sessions``: every live Ray driver, attributed to its notebook where possible."""

    services = ("monitor", "sessions")  # the idle policy's loop, when configured

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Return ``{sessions, policy}``: what each session holds, idle time, policy state."""
        query = self.query()
        service = self.iog.sessions
        sessions = await service.list(internal=query.internal)
        self.write_json(SessionList(sessions=sessions, policy=service.policy))


class SessionReleaseHandler(IogAPIHandler):
    """``POST sessions/{session_id}/release``: release a session's non-detached actors, tasks."""

    services = SessionsHandler.services

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        """Kill the session's non-detached actors and cancel its running tasks. Audited.

        The session is named by its Ray job id or its kernel id. Only the session's owner (the
        user ``connect()`` recorded), or a user granted ``write`` on ``iog:admin``, may release
        it (403 ``not_owner``). Drivers that are not kernels of this server are refused (403)
        unless ``sessions_release_foreign`` is set.
        """
        with self.audited("session.release", session_id[:70]) as audit:
            self.query()
            if len(self.request.body or b"") > MAX_RELEASE_BODY_BYTES:
                raise web.HTTPError(413, "This route takes no request body.")
            check_session_id(session_id)
            service = self.iog.sessions
            record = await service.find(session_id)
            audit["target"] = (
                f"{record.session_id} {record.notebook_path or record.kernel_id or record.kind}"
                f" (owner {record.owner or 'unknown'})"
            )
            refuse_internal(record.session_id, record.namespace)
            await self.check_owner(record.owner, f"Session {record.session_id}")
            result = await service.release(record)
        self.write_json(result)


class UsageHandler(IogAPIHandler):
    """``GET usage?since=&until=&group_by=``: held GPU-, CPU- and memory-seconds per group."""

    services = SessionsHandler.services  # the sessions loop takes the samples

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Return the usage report for the window (from the stored samples, no Ray call)."""
        query = self.query()
        report = await self.run_blocking(
            self.iog.usage.report, query.since, query.until, query.group_by, needs_ray=False
        )
        self.write_json(report)
