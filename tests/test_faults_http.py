"""HTTP-level faults without Ray: honest keep-alive, websocket refusals as JSON, fast 503s.

The server runs the local jobs backend and points at an address where no Ray answers, so every
route that needs Ray must answer at once from what the cluster monitor knows.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import os
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.fixtures import NO_RAY, server_config


@pytest.fixture
def jp_server_config(tmp_path):
    # Jobs ran on Ray before this server started: the change must be visible.
    (tmp_path / "iog_state").mkdir()
    (tmp_path / "iog_state" / "jobs_backend").write_text("ray")
    return server_config(
        refresh_interval_s=0.5,
        jobs_backend="local",
        jobs_state_dir=tmp_path / "iog_state",
        ray_address=NO_RAY,
        log_tail_max_clients_per_user=1,
    )


def _connection(server_url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(server_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10), parts.path


def _token(jp_serverapp) -> str:
    return jp_serverapp.identity_provider.token


def _refused_then_next(server_url: str, token: str, rounds: int) -> tuple[int, list[str]]:
    """On one keep-alive connection: a refused (no token) jobs call, then a good call; repeat."""
    conn, base = _connection(server_url)
    refused = ("GET", "jobs"), ("POST", "jobs"), ("GET", "jobs/x1"), ("DELETE", "jobs/x1")
    resets = 0
    problems: list[str] = []
    for i in range(rounds):
        method, path = refused[i % len(refused)]
        try:
            body = b"{}" if method == "POST" else None
            conn.request(method, f"{base}iog/api/v1/{path}", body=body)
            first = conn.getresponse()
            first.read()
            if first.status != 403 or first.getheader("Content-Type") != "application/json":
                problems.append(f"{method} {path}: {first.status}")
            if first.getheader("Connection", "").lower() != "close":
                problems.append(f"{method} {path}: no Connection: close")
            conn.request(
                "GET", f"{base}iog/api/v1/status", headers={"Authorization": f"token {token}"}
            )
            second = conn.getresponse()
            second.read()
            if second.status != 200:
                problems.append(f"status after {method} {path}: {second.status}")
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected) as err:
            resets += 1
            problems.append(f"{method} {path}: {type(err).__name__}")
            conn.close()
    conn.close()
    return resets, problems


async def test_a_refused_request_never_leaves_a_silently_closed_connection(
    jp_serverapp, server_url
) -> None:
    token = _token(jp_serverapp)
    resets, problems = await asyncio.to_thread(_refused_then_next, server_url, token, 200)
    assert (resets, problems) == (0, [])

    # The same under load: four clients hammering the server while the sequence runs.
    stop = threading.Event()

    def hammer() -> int:
        conn, base = _connection(server_url)
        answered = 0
        while not stop.is_set():
            conn.request(
                "GET", f"{base}iog/api/v1/status", headers={"Authorization": f"token {token}"}
            )
            conn.getresponse().read()
            answered += 1
        conn.close()
        return answered

    loaders = [asyncio.ensure_future(asyncio.to_thread(hammer)) for _ in range(4)]
    try:
        resets, problems = await asyncio.to_thread(_refused_then_next, server_url, token, 200)
    finally:
        stop.set()
        answered = await asyncio.gather(*loaders)
    assert (resets, problems) == (0, [])
    assert min(answered) > 0


def _upgrade(server_url: str, path: str, token: str | None) -> tuple[int, str, dict]:
    """A websocket upgrade request; returns the refusal's status, Content-Type and body."""
    conn, base = _connection(server_url)
    headers = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
    }
    if token:
        headers["Authorization"] = f"token {token}"
    conn.request("GET", f"{base}iog/api/v1/{path}", headers=headers)
    reply = conn.getresponse()
    body = reply.read()
    conn.close()
    return reply.status, reply.getheader("Content-Type", ""), json.loads(body) if body else {}


async def test_websocket_refusals_are_the_same_json_as_rest(jp_serverapp, server_url) -> None:
    token = _token(jp_serverapp)
    cases = [
        ("jobs/iog_nope/logs/tail", token, 404, "not_found", "iog_nope"),
        ("jobs/bad%20id/logs/tail", token, 400, "bad_submission_id", "submission id"),
        ("jobs/iog_nope/logs/tail?offset=-1", token, 400, "invalid", "offset"),
        ("events/subscribe?topics=jobs,nope", token, 400, "invalid", "nope"),
        ("cluster/subscribe?bogus=1", token, 400, "invalid", "bogus"),
        ("cluster/subscribe", None, 403, "forbidden", ""),
    ]
    for path, auth, status, reason, named in cases:
        code, content_type, body = await asyncio.to_thread(_upgrade, server_url, path, auth)
        assert (code, content_type) == (status, "application/json"), (path, code, body)
        assert set(body) == {"message", "reason"} and body["reason"] == reason, (path, body)
        assert named.lower() in body["message"].lower(), (path, body)
        assert "<html" not in body["message"].lower()


async def test_the_stream_cap_refusal_is_json(jp_serverapp, server_url, jp_fetch, jp_ws_fetch):
    reply = await jp_fetch(
        "iog",
        "api",
        "v1",
        "jobs",
        method="POST",
        body=json.dumps({"entrypoint": "sleep 30"}),
        headers={"Content-Type": "application/json"},
    )
    job = json.loads(reply.body)["submission_id"]
    tail = await jp_ws_fetch("iog", "api", "v1", "jobs", job, "logs", "tail")
    try:
        path = f"jobs/{job}/logs/tail"
        code, content_type, body = await asyncio.to_thread(
            _upgrade, server_url, path, _token(jp_serverapp)
        )
        assert (code, content_type) == (429, "application/json"), body
        assert "log_tail_max_clients_per_user" in body["message"]
    finally:
        tail.close()
        await jp_fetch("iog", "api", "v1", "jobs", job, "stop", method="POST", body=b"")


async def test_routes_that_need_ray_answer_at_once_while_it_is_down(jp_fetch) -> None:
    deadline = time.monotonic() + 20
    while True:
        status = json.loads((await jp_fetch("iog", "api", "v1", "status")).body)
        if status["ray"]["connected"] is False or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert status["ray"]["connected"] is False
    for path in ("sessions", "actors", "cluster"):
        started = time.monotonic()
        with pytest.raises(Exception) as info:
            await jp_fetch("iog", "api", "v1", path)
        took = time.monotonic() - started
        assert info.value.code == 503, path
        body = json.loads(info.value.response.body)
        assert body["reason"] == "ray_unavailable", (path, body)
        assert NO_RAY in body["message"] and "iog up" in body["message"], (path, body)
        assert took < 2.0, (path, took)
    # The local jobs backend does not need Ray: jobs still answer.
    page = json.loads((await jp_fetch("iog", "api", "v1", "jobs")).body)
    assert page["jobs"] == []


async def test_a_change_of_jobs_backend_shows_in_status_and_doctor(jp_fetch, tmp_path) -> None:
    await jp_fetch("iog", "api", "v1", "jobs")  # the backend is chosen on the first job call
    status = json.loads((await jp_fetch("iog", "api", "v1", "status")).body)
    assert status["jobs_backend"] == "local"
    assert "'ray' backend before this server started" in status["jobs_backend_change"]
    doctor = json.loads((await jp_fetch("iog", "api", "v1", "doctor")).body)
    (check,) = [c for c in doctor["checks"] if c["id"] == "jobs_backend"]
    assert check["status"] == "warn" and "jobs_backend='ray'" in check["message"]
    assert (tmp_path / "iog_state" / "jobs_backend").read_text() == "local"


class TestAutoWhileRayIsDown:
    """``jobs_backend="auto"`` chooses nothing from a failure: jobs wait for Ray."""

    @pytest.fixture
    def jp_server_config(self, tmp_path):
        return server_config(
            refresh_interval_s=0.5, jobs_state_dir=tmp_path / "iog_state", ray_address=NO_RAY
        )

    async def test_jobs_answer_503_at_once_and_no_backend_is_chosen(self, jp_fetch, jp_serverapp):
        for _ in range(2):
            started = time.monotonic()
            with pytest.raises(Exception) as info:
                await jp_fetch("iog", "api", "v1", "jobs")
            assert time.monotonic() - started < 2.0
            assert info.value.code == 503
            body = json.loads(info.value.response.body)
            assert body["reason"] == "ray_unavailable" and "jobs_backend='local'" in body["message"]
        (app,) = jp_serverapp.extension_manager.extension_apps["iog_jupyter"]
        assert app.jobs_backend_name is None
