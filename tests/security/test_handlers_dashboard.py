"""The read-only dashboard proxy against the real Ray dashboard (token auth on).

Whether a request reached Ray is read from the dashboard's own access log (``dashboard.log``):
a request that got through leaves its URL, with a marker in its query, there.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import time

import pytest
import requests
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httputil import HTTPHeaders
from tornado.websocket import websocket_connect

from iog_jupyter.handlers.dashboard import _drop_set_cookie, is_allowed
from tests.ray_versions import CAPS

pytestmark = pytest.mark.ray


def test_path_rules():
    for path in (
        "",
        "index.html",
        "static/js/main.abc.js",
        "api/version",
        "api/jobs/",
        "api/v0/actors",
        "nodes",
        "api/cluster_status",
    ):
        assert is_allowed(path), path
    for path in (
        "api/actors/kill",
        "worker/traceback",
        "worker/cpu_profile",
        "memory_profile",
        "api/authenticate",
        "task/traceback",
        "api/v0/tasks/../../api/actors/kill",
        "api/jobs/x/stop",
        "api/packages/gcs/x.zip",
        "../etc/passwd",
    ):
        assert not is_allowed(path), path


def test_ray_cookies_are_dropped():
    class Response:
        headers = HTTPHeaders()

    response = Response()
    response.headers.add("Set-Cookie", "ray-authentication-token=abc; Max-Age=2592000")
    response.headers.add("Set-Cookie", "other=1")
    response.headers.add("Content-Type", "text/html")
    _drop_set_cookie(response)
    assert "Set-Cookie" not in response.headers and response.headers["Content-Type"]


async def test_reads_pass_with_rays_token_added(jp_fetch, ray_head):
    # Ray itself refuses a caller without its token (where Ray has token auth)...
    direct = requests.get(ray_head.dashboard_url + "/api/version", timeout=10)
    assert direct.status_code in ((401, 403) if CAPS.token_auth else (200,))
    # ...the proxy adds it server-side: the browser only ever shows Jupyter credentials.
    reply = await jp_fetch("iog", "dashboard", "api", "version")
    data = json.loads(reply.body)
    assert "ray_version" in data
    # Jupyter may set its own cookies; none of Ray's comes through.
    assert not [c for c in reply.headers.get_list("Set-Cookie") if "ray" in c.lower()]
    bare = await jp_fetch("iog", "dashboard", follow_redirects=False, raise_error=False)
    assert bare.code == 302 and bare.headers["Location"].endswith("/iog/dashboard/")
    # The page itself is served on a sandboxed view grant URL (test_dashboard_grants.py).
    page = await jp_fetch("iog", "dashboard/", follow_redirects=False, raise_error=False)
    assert page.code == 302 and "/iog/dashboard/v/" in page.headers["Location"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_every_other_verb_is_405(jp_fetch, ray_head, method):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "iog",
            "dashboard",
            "api",
            "jobs",
            "",
            method=method,
            body=b"{}" if method != "DELETE" else None,
            allow_nonstandard_methods=True,
        )
    assert info.value.code == 405


@pytest.mark.parametrize(
    "parts",
    [
        ("api", "actors", "kill"),
        ("worker", "traceback"),
        ("worker", "cpu_profile"),
        ("api", "authenticate"),
        ("memory_profile",),
    ],
)
async def test_dangerous_gets_are_403(jp_fetch, ray_head, parts):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("iog", "dashboard", *parts, params={"actor_id": "00" * 16})
    assert info.value.code == 403


def _dashboard_log(ray_head) -> str:
    logs = glob.glob(os.path.join(ray_head.temp_dir, "session_latest", "logs", "dashboard*.log"))
    assert logs
    return "".join(open(p, errors="replace").read() for p in logs)


async def _logged_by_ray(ray_head, marker: str, timeout_s: float = 10.0) -> str:
    """The dashboard's log once ``marker`` is in it (Ray writes its access log lazily)."""
    deadline = time.monotonic() + timeout_s
    while marker not in (text := _dashboard_log(ray_head)):
        assert time.monotonic() < deadline, f"{marker} never reached Ray's dashboard log"
        await asyncio.sleep(0.1)
    return text


async def test_jupyter_token_never_reaches_ray(jp_fetch, jp_serverapp, ray_head):
    token = jp_serverapp.identity_provider.token
    marker = "iogmarker" + os.urandom(4).hex()
    await jp_fetch("iog", "dashboard", "api", "version", params={"token": token, "q": marker})
    text = await _logged_by_ray(ray_head, marker)  # the request did reach Ray...
    assert token not in text  # ...without Jupyter's token


async def test_refusals_never_reach_ray(
    jp_fetch, jp_http_port, jp_base_url, jp_auth_header, http_server_client, ray_head
):
    """Other verbs, dangerous GETs and websocket upgrades are refused in Jupyter, not by Ray."""
    markers: list[str] = []

    def marker() -> str:
        markers.append("iogrefused" + os.urandom(4).hex())
        return markers[-1]

    for method in ("POST", "PUT", "DELETE", "PATCH"):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch(
                "iog",
                "dashboard",
                "api",
                "version",
                method=method,
                params={"q": marker()},
                body=None if method == "DELETE" else b"{}",
                allow_nonstandard_methods=True,
            )
        assert info.value.code == 405, method
    for parts in (("api", "actors", "kill"), ("worker", "traceback"), ("api", "authenticate")):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("iog", "dashboard", *parts, params={"q": marker()})
        assert info.value.code == 403, parts
    # Websocket upgrades: anonymous or with a wrong token, refused before the upgrade...
    base = f"ws://127.0.0.1:{jp_http_port}{jp_base_url}iog/dashboard/"
    for headers in ({}, {"Authorization": "token not-the-token"}):
        request = HTTPRequest(f"{base}api/version?q={marker()}", headers=headers)
        with pytest.raises(HTTPClientError) as info:
            await websocket_connect(request)
        assert info.value.code == 403, headers
    # ...and a logged-in user's upgrade to a path the proxy does not forward is closed (1008).
    request = HTTPRequest(f"{base}api/actors/kill?q={marker()}", headers=jp_auth_header)
    ws = await websocket_connect(request)
    assert await asyncio.wait_for(ws.read_message(), 10) is None
    assert ws.close_code == 1008
    # An allowed read afterwards does reach Ray, so its log is being written.
    passed = "iogallowed" + os.urandom(4).hex()
    await jp_fetch("iog", "dashboard", "api", "version", params={"q": passed})
    text = await _logged_by_ray(ray_head, passed)
    assert [m for m in markers if m in text] == []


async def test_anonymous_and_wrong_token_reads_are_403(
    jp_http_port, jp_base_url, http_server_client, ray_head
):
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}iog/dashboard/api/version"
    for headers in ({}, {"Authorization": "token not-the-token"}):
        with pytest.raises(HTTPClientError) as info:
            await AsyncHTTPClient().fetch(url, headers=headers, follow_redirects=False)
        assert info.value.code == 403
