"""Choose the jobs backend: Ray's job manager when its API answers on loopback, else local."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import requests

from ..cluster import PoolConfig
from ..connection import RayConnection
from ..errors import RayUnavailableError, ValidationError
from ..wire import ClusterSnapshot
from .base import JobBackend
from .journal import JobJournal

log = logging.getLogger(__name__)

CHOICES = ("auto", "ray", "local")


def default_state_dir() -> str:
    """``<Jupyter data dir>/iog_jupyter/jobs``: where the local backend keeps its state."""
    from jupyter_core.paths import jupyter_data_dir

    return os.path.join(jupyter_data_dir(), "iog_jupyter", "jobs")


def ray_jobs_api_answers(conn: RayConnection) -> bool:
    """Whether Ray's Jobs API answers on the dashboard with our token.

    ``GET /api/version`` and ``GET /api/jobs/`` must both return 200 within the connection's
    timeouts. The answer is only taken from a healthy Ray: when the GCS itself does not answer
    there is nothing to choose from, and the error says so.

    Raises:
        RayUnavailableError: The GCS does not answer (Ray is down or elsewhere).
    """
    conn.probe()
    try:
        base = conn.dashboard_url
    except RayUnavailableError as err:
        log.info("Ray's job API is not reachable: %s", err.message)
        return False
    timeouts = (conn.connect_timeout_s, conn.request_timeout_s)
    try:
        with requests.Session() as http:
            for path in ("/api/version", "/api/jobs/"):
                reply = http.get(base + path, headers=conn.auth_headers(), timeout=timeouts)
                if reply.status_code != 200:
                    log.info("Ray's job API answered %s for %s", reply.status_code, path)
                    return False
    except requests.RequestException as err:
        log.info("Ray's job API did not answer: %s", type(err).__name__)
        return False
    return True


def select_backend(
    conn: RayConnection | None,
    preferred: str = "auto",
    state_dir: str | None = None,
    stop_grace_s: float = 10.0,
    pool_config: PoolConfig | None = None,
    snapshot_source: Callable[[], ClusterSnapshot | None] | None = None,
) -> JobBackend:
    """Build the jobs backend to use: a ``RayJobsBackend`` or a ``LocalProcessBackend``.

    Args:
        conn: The connection to the head node; None forces the local backend's bare mode.
        preferred: ``"ray"`` or ``"local"`` to force one; ``"auto"`` picks Ray when its job API
            answers on loopback with the token (:func:`ray_jobs_api_answers`), local when a
            running Ray has it switched off, and never from a failure: while Ray is down
            ``"auto"`` chooses nothing.
        state_dir: The local backend's directory; :func:`default_state_dir` when None.
        stop_grace_s: The local backend's TERM → KILL grace period.
        pool_config: How pools are named (the server's traits), for the Ray backend.
        snapshot_source: The server monitor's latest snapshot, for the Ray backend.

    Raises:
        ValidationError: ``preferred`` is not one of ``auto``, ``ray``, ``local``, or ``ray``
            was forced without a connection.
        RayUnavailableError: ``auto`` while Ray does not answer.
    """
    from .local_backend import LocalProcessBackend
    from .ray_backend import RayJobsBackend

    if preferred not in CHOICES:
        raise ValidationError(f"jobs backend {preferred!r} is not one of {', '.join(CHOICES)}.")
    if preferred == "auto" and conn is not None:
        try:
            preferred = "ray" if ray_jobs_api_answers(conn) else "local"
        except RayUnavailableError as err:
            raise RayUnavailableError(
                f"{err.message} iog chooses where jobs run from Ray's answer, so jobs wait for "
                "Ray; set IogJupyterApp.jobs_backend='local' to run them on this machine "
                "without Ray."
            ) from None
    if preferred == "ray":
        if conn is None:
            raise ValidationError("The Ray jobs backend needs a Ray connection.")
        journal = JobJournal(os.path.join(state_dir or default_state_dir(), "ray_jobs.sqlite"))
        return RayJobsBackend(
            conn, pool_config=pool_config, snapshot_source=snapshot_source, journal=journal
        )
    return LocalProcessBackend(state_dir or default_state_dir(), conn, stop_grace_s=stop_grace_s)
