"""Every iog route, REST verb and websocket refuses requests without Jupyter credentials, and
such a request changes nothing (the server's jobs stay as they were).

No Ray head: a refused request never gets past Jupyter's authentication, so the server runs on
the local jobs backend, pointed at an address where no Ray answers.
"""

from __future__ import annotations

import json
import re

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketHandler, websocket_connect

from iog_jupyter.handlers.dashboard import DashboardGrantHandler
from tests.fixtures import NO_RAY, server_config

from ..routes import iog_routes

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
#: A body the jobs route would accept from a logged-in user: refused, it creates nothing.
SUBMIT = b'{"entrypoint": "true"}'
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def jp_server_config(tmp_path):
    """iog_jupyter without Ray: the local jobs backend, with its own state dir."""
    return server_config(
        jobs_backend="local", jobs_state_dir=tmp_path / "iog_state", ray_address=NO_RAY
    )


def _concrete(pattern: str) -> str:
    """Fill each regex group of a route with a harmless value."""
    path = re.sub(r"\(\?P<\w+>[^)]*\)|\([^)]*\)", "x", pattern)
    return path.replace("\\.", ".").lstrip("^")


def _verbs(handler: type) -> list[str]:
    return [v for v in VERBS if v != "HEAD" and v.lower() in vars_of(handler)]


def vars_of(handler: type) -> set[str]:
    names: set[str] = set()
    for cls in handler.__mro__:
        if cls.__module__.startswith("iog_jupyter"):
            names.update(vars(cls))
    return names


async def _job_total(jp_fetch) -> int:
    reply = await jp_fetch("iog", "api", "v1", "jobs", params={"limit": "1"})
    return json.loads(reply.body)["total"]


def test_routes_are_found(jp_serverapp):
    routes = iog_routes(jp_serverapp)
    assert len(routes) >= 5


async def test_every_rest_verb_refuses_anonymous(
    jp_serverapp, jp_http_port, http_server_client, jp_fetch
):
    client = AsyncHTTPClient()
    before = await _job_total(jp_fetch)
    checked = 0
    for pattern, handler in iog_routes(jp_serverapp):
        if issubclass(handler, WebSocketHandler):
            continue
        for verb in _verbs(handler):
            url = f"http://127.0.0.1:{jp_http_port}{_concrete(pattern)}"
            body = SUBMIT if verb in ("POST", "PUT", "PATCH") else None
            request = HTTPRequest(
                url, method=verb, body=body, headers=JSON, allow_nonstandard_methods=True
            )
            with pytest.raises(HTTPClientError) as info:
                await client.fetch(request)
            assert info.value.code in (401, 403), (verb, pattern, info.value.code)
            checked += 1
    assert checked >= 4
    assert await _job_total(jp_fetch) == before


async def test_every_rest_verb_refuses_a_wrong_token(
    jp_serverapp, jp_http_port, http_server_client, jp_fetch
):
    client = AsyncHTTPClient()
    before = await _job_total(jp_fetch)
    for pattern, handler in iog_routes(jp_serverapp):
        if issubclass(handler, WebSocketHandler):
            continue
        for verb in _verbs(handler):
            url = f"http://127.0.0.1:{jp_http_port}{_concrete(pattern)}"
            request = HTTPRequest(
                url,
                method=verb,
                headers={"Authorization": "token not-the-token", **JSON},
                body=SUBMIT if verb in ("POST", "PUT", "PATCH") else None,
            )
            with pytest.raises(HTTPClientError) as info:
                await client.fetch(request)
            assert info.value.code in (401, 403)
    assert await _job_total(jp_fetch) == before


async def test_every_websocket_refuses_anonymous(jp_serverapp, jp_http_port, http_server_client):
    sockets = [p for p, h in iog_routes(jp_serverapp) if issubclass(h, WebSocketHandler)]
    assert sockets, "expected at least the cluster/subscribe websocket"
    for pattern in sockets:
        url = f"ws://127.0.0.1:{jp_http_port}{_concrete(pattern)}"
        with pytest.raises(HTTPClientError) as info:
            await websocket_connect(url)
        assert info.value.code in (401, 403)


def test_every_handler_verb_is_decorated(jp_serverapp):
    """jupyter_server's own check finds no iog verb without @web.authenticated/@ws_authenticated."""
    for pattern, handler in iog_routes(jp_serverapp):
        assert jp_serverapp.web_app._check_handler_auth(pattern, handler) == [], pattern
        for verb in _verbs(handler):
            method = getattr(handler, verb.lower())
            if handler is DashboardGrantHandler:
                # The one exception: a signed, expiring view grant in the URL stands in for the
                # login (the sandboxed dashboard page sends no Jupyter credentials); a request
                # without a valid grant is 403 (test_dashboard_grants.py).
                continue
            # Nothing of ours is allow-listed for anonymous access.
            assert getattr(method, "__allow_unauthenticated", False) is False, (handler, verb)
