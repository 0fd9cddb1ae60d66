"""The Ray token never leaves the server: not in a response, a websocket message, a widget, a log,
the audit log, a job's output or an environment iog writes for kernels.

The token is read from the test head's file (``ray_head.token_path``, what
``RAY_AUTH_TOKEN_PATH`` names); every check looks for its value, and where a path is expected
(kernel environments) asserts the path is there and the value is not.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketHandler

from iog_jupyter.cli.jupyter_proc import jupyter_env
from iog_jupyter.core.actors.registry import ActorRegistry
from iog_jupyter.core.cluster import get_cluster_snapshot
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.jobs import select_backend, validate_submission
from iog_jupyter.core.local_head import LocalHead
from iog_jupyter.core.sessions import connect as driver
from iog_jupyter.widgets import ActorsWidget, ClusterWidget, JobsWidget, SessionsWidget
from iog_jupyter.widgets.sessions import ServerSessions
from tests.fixtures import server_config

from ..ray_versions import CAPS
from ..routes import api_path, iog_routes
from .test_auth import vars_of

pytestmark = pytest.mark.ray

#: A job that prints its whole environment, then exits.
PRINT_ENV = "python -c \"import os; print('ENV-BEGIN', sorted(os.environ.items()), 'ENV-END')\""


@pytest.fixture
def ray_token(ray_head) -> str:
    """The head's token, as Ray reads it from the file RAY_AUTH_TOKEN_PATH names."""
    assert os.environ["RAY_AUTH_TOKEN_PATH"] == ray_head.token_path
    with open(ray_head.token_path) as handle:
        token = handle.read().strip()
    assert len(token) >= 32
    return token


@pytest.fixture
def jp_server_config(ray_head, tmp_path):
    """Ray's jobs backend (the job's environment is Ray's), its own state dir and audit log."""
    return server_config(
        refresh_interval_s=0.5,
        jobs_backend="ray",
        request_timeout_s=60.0,
        jobs_state_dir=tmp_path / "iog_state",
    )


@pytest.fixture
def server_log(jp_serverapp) -> Iterator[list[str]]:
    """Every log line of the server, the extension, tornado and iog_jupyter, at DEBUG."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect(logging.DEBUG)
    loggers = [jp_serverapp.log, logging.getLogger()]
    loggers += [logging.getLogger(n) for n in ("iog_jupyter", "tornado", "ServerApp")]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        for lg, level in saved:
            lg.removeHandler(handler)
            lg.setLevel(level)


async def _get(jp_fetch, *parts: str, **params: str) -> tuple[int, bytes]:
    try:
        reply = await jp_fetch(*parts, params=params or None)
    except HTTPClientError as err:
        assert err.response is not None, err
        return err.code, err.response.body
    return reply.code, reply.body


async def _wait_ended(jp_fetch, submission_id: str, timeout_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        code, body = await _get(jp_fetch, "iog", "api", "v1", "jobs", submission_id)
        job = json.loads(body)
        assert code == 200, job
        if job["status"] in ("SUCCEEDED", "FAILED", "STOPPED"):
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.3)


def _widget_state(widget: Any) -> str:
    """``get_state()`` of a widget and all its descendants, as one JSON string."""
    states, stack = [], [widget]
    while stack:
        item = stack.pop()
        states.append(item.get_state())
        stack.extend(getattr(item, "children", ()))
    return json.dumps(states, default=str)


async def test_no_response_message_widget_or_log_carries_the_token(
    jp_fetch, jp_ws_fetch, jp_serverapp, jp_base_url, ray_head, ray_token, tmp_path, server_log
):
    # A job that prints its environment, through Ray's job manager.
    submission_id = "env-" + os.urandom(4).hex()
    reply = await jp_fetch(
        "iog",
        "api",
        "v1",
        "jobs",
        method="POST",
        body=json.dumps({"entrypoint": PRINT_ENV, "submission_id": submission_id}),
        headers={"Content-Type": "application/json"},
    )
    assert reply.code == 201
    job = await _wait_ended(jp_fetch, submission_id)
    assert job["status"] == "SUCCEEDED", job
    code, body = await _get(jp_fetch, "iog", "api", "v1", "jobs", submission_id, "logs")
    log_text = json.loads(body)["text"]
    # The job is a Ray client: it gets the token's path (from the head's environment), and
    # would show the value here if Ray or iog passed it on. A Ray without token auth gets none.
    if CAPS.token_auth:
        assert f"('RAY_AUTH_TOKEN_PATH', '{ray_head.token_path}')" in log_text, log_text[:2000]
    assert "ENV-BEGIN" in log_text and "ENV-END" in log_text
    assert ray_token not in log_text, "the Ray token reached a job's environment"

    # Every GET route the app registers, with real ids where the route takes one.
    values = {"submission_id": submission_id, "session_id": "01000000"}
    values |= {"namespace": "iog_jupyter", "name": "x"}
    bodies: dict[str, bytes] = {}
    for pattern, handler in iog_routes(jp_serverapp):
        if issubclass(handler, WebSocketHandler) or "get" not in vars_of(handler):
            continue
        if "/iog/api/v1/" not in pattern:
            continue  # the dashboard proxy: below
        path = api_path(pattern).format(**values).strip("/")
        code, body = await _get(jp_fetch, "iog", "api", "v1", *path.split("/"))
        assert code < 500, (path, code, body[:300])
        bodies[path] = body
    assert {"status", "cluster", "jobs", f"jobs/{submission_id}", "doctor"} <= set(bodies)
    assert f"jobs/{submission_id}/logs" in bodies and "openapi.json" in bodies
    # The dashboard proxy: Ray's own view of the job and of its logs.
    for parts in (("api", "version"), ("api", "jobs/"), ("api", "jobs", submission_id)):
        code, body = await _get(jp_fetch, "iog", "dashboard", *parts)
        assert code == 200, (parts, body[:300])
        bodies["dashboard/" + "/".join(parts)] = body
    assert submission_id.encode() in bodies[f"dashboard/api/jobs/{submission_id}"]
    for path, body in bodies.items():
        assert ray_token.encode() not in body, path

    # The first message of the cluster websocket.
    ws = await jp_ws_fetch("iog", "api", "v1", "cluster", "subscribe")
    first = await asyncio.wait_for(ws.read_message(), 20)
    ws.close()
    assert first and json.loads(first)["type"] == "snapshot"
    assert ray_token not in first

    # The widgets, built against this cluster and this server, with the job's log shown.
    loop = asyncio.get_running_loop()
    url = f"http://127.0.0.1:{jp_serverapp.port}{jp_base_url}"
    token = jp_serverapp.identity_provider.token
    text = await loop.run_in_executor(None, _all_widget_states, submission_id, url, token)
    assert submission_id in text and "ENV-BEGIN" in text
    assert ray_token not in text

    # The server's log (DEBUG and up) and the audit log, which names the job.
    assert server_log and ray_token not in "\n".join(server_log)
    audit = (tmp_path / "iog_state" / "audit.log").read_text()
    assert submission_id in audit and ray_token not in audit


def _all_widget_states(submission_id: str, url: str, jupyter_token: str) -> str:
    """Cluster, jobs, actors and sessions widgets' state (no kernel; blocking)."""
    conn = RayConnection()
    backend = select_backend(conn, "ray")
    sessions_source = ServerSessions(url, jupyter_token)
    built: list[Any] = []
    try:
        cluster = ClusterWidget(autostart=False)
        built.append(cluster)
        cluster.update(get_cluster_snapshot(conn))
        jobs = JobsWidget(backend, autostart=False, working_dir_roots=["/tmp"])
        built.append(jobs)
        jobs.refresh()
        jobs.job_select.value = submission_id  # follows the log until its end
        deadline = time.monotonic() + 30
        while "ENV-END" not in jobs.log_text:
            assert time.monotonic() < deadline, jobs.log_view.value[:500]
            time.sleep(0.1)
        actors = ActorsWidget(ActorRegistry(conn, ["serve"]), autostart=False)
        built.append(actors)
        actors.refresh()
        sessions = SessionsWidget(sessions_source, autostart=False)
        built.append(sessions)
        sessions.refresh()
        assert sessions.list_error is None, sessions.list_error
        return "".join(_widget_state(w) for w in built)
    finally:
        for widget in built:
            widget.close()
        sessions_source.close()
        backend.close()
        conn.close()


def test_local_jobs_do_not_inherit_the_token(ray_head, ray_token, tmp_path, monkeypatch):
    """The local backend strips the token's value (even from the server's own environment)."""
    monkeypatch.setenv("RAY_AUTH_TOKEN", ray_token)  # a server told the token by value
    conn = RayConnection()
    backend = select_backend(conn, "local", state_dir=str(tmp_path / "state"))
    try:
        submission = validate_submission({"entrypoint": PRINT_ENV}, "alice", [], None)
        sid = backend.submit(submission)
        deadline = time.monotonic() + 30
        while backend.get(sid).status not in ("SUCCEEDED", "FAILED"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        text = backend.read_logs(sid, 0, 1 << 20).text
    finally:
        backend.close()
        conn.close()
    assert "ENV-BEGIN" in text
    if CAPS.token_auth:
        assert ray_head.token_path in text  # the path, so it can be a driver
    else:  # a Ray without token auth: no token is claimed to the job
        assert "RAY_AUTH_TOKEN_PATH" not in text and "RAY_AUTH_MODE" not in text
    assert ray_token not in text


def test_kernel_environments_name_the_token_file_not_the_token(
    ray_head, ray_token, monkeypatch, tmp_path
):
    """What iog writes for kernels: ``iog up``'s Jupyter environment and ``connect()``'s."""
    # iog up: the Jupyter server's environment, which every kernel inherits.
    monkeypatch.setenv("RAY_AUTH_TOKEN", ray_token)
    monkeypatch.setenv("JUPYTER_TOKEN", "jupyter-" + ray_token[:8])
    head = LocalHead(
        temp_dir=ray_head.temp_dir,
        gcs_port=ray_head.gcs_port,
        dashboard_port=ray_head.dashboard_port,
        token_path=ray_head.token_path,
        single_node=False,
    )
    env = jupyter_env(head, str(tmp_path / "jupyter_token"))
    assert env["RAY_AUTH_TOKEN_PATH"] == ray_head.token_path
    assert "RAY_AUTH_TOKEN" not in env and "JUPYTER_TOKEN" not in env
    assert not [k for k, v in env.items() if ray_token in v], "token value in iog up's env"

    # connect() in a kernel: Ray's client settings go into os.environ, the token by path only.
    monkeypatch.delenv("RAY_AUTH_TOKEN")
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", ray_head.token_path)
    driver._prepare_environment(ray_head.address)
    assert os.environ["RAY_AUTH_MODE"] == "token"
    assert os.environ["RAY_AUTH_TOKEN_PATH"] == ray_head.token_path
    assert not [k for k, v in os.environ.items() if ray_token in v], "token value in the kernel"
