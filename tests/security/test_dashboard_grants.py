"""The dashboard page runs sandboxed, on a short-lived view grant URL (handlers/dashboard.py)."""

from __future__ import annotations

import json
import time

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from iog_jupyter.handlers.dashboard import SANDBOX_HEADERS, mint_grant, read_grant

pytestmark = pytest.mark.ray


def test_grants_are_signed_and_expire():
    secret = b"s" * 32
    grant = mint_grant(secret, "alice", ttl_s=60, now=1000)
    assert read_grant(secret, grant, now=1030) == "alice"
    assert read_grant(secret, grant, now=1061) is None, "expired"
    assert read_grant(b"t" * 32, grant, now=1030) is None, "another server's secret"
    payload, signature = grant.split(".")
    forged = mint_grant(secret, "mallory", ttl_s=60, now=1000).split(".")[0] + "." + signature
    assert read_grant(secret, forged, now=1030) is None, "payload swapped under a signature"
    for junk in ("", ".", "abc", "a.b.c", payload, "!!!." + signature):
        assert read_grant(secret, junk, now=1030) is None


async def test_the_page_redirects_to_a_sandboxed_grant_url(
    jp_fetch, jp_http_port, jp_base_url, jp_serverapp, ray_head
):
    first = await jp_fetch("iog", "dashboard/", follow_redirects=False, raise_error=False)
    assert first.code == 302
    location = first.headers["Location"]
    prefix = f"{jp_base_url}iog/dashboard/v/"
    assert location.startswith(prefix) and location.endswith("/")
    token = jp_serverapp.identity_provider.token
    assert token not in location

    # The grant alone opens the page and its read APIs: no Jupyter credentials at all.
    client = AsyncHTTPClient()
    page = await client.fetch(f"http://127.0.0.1:{jp_http_port}{location}")
    assert page.code == 200 and b"<title>ray dashboard</title>" in page.body.lower()
    for name, value in SANDBOX_HEADERS.items():
        assert page.headers[name] == value
    assert "allow-same-origin" not in page.headers["Content-Security-Policy"]
    assert page.headers["Access-Control-Allow-Origin"] == "*"
    assert not page.headers.get_list("Set-Cookie")
    api = await client.fetch(f"http://127.0.0.1:{jp_http_port}{location}api/version")
    assert "ray_version" in json.loads(api.body)

    # Read-only on grant URLs too: dangerous GETs 403, other verbs 405, no websockets.
    for path, method in (("api/actors/kill", "GET"), ("api/jobs/", "POST")):
        with pytest.raises(HTTPClientError) as info:
            await client.fetch(
                f"http://127.0.0.1:{jp_http_port}{location}{path}",
                method=method,
                body=b"{}" if method == "POST" else None,
            )
        assert info.value.code == (403 if method == "GET" else 405)
    with pytest.raises(HTTPClientError) as info:
        await client.fetch(
            f"http://127.0.0.1:{jp_http_port}{location}api/version",
            headers={"Upgrade": "websocket", "Connection": "Upgrade"},
        )
    assert info.value.code in (400, 403)


async def test_forged_or_expired_grants_are_403(
    jp_http_port, jp_base_url, jp_serverapp, http_server_client, ray_head
):
    secret = _iog(jp_serverapp).dashboard_grant_secret
    expired = mint_grant(secret, "user", ttl_s=-1, now=time.time())
    foreign = mint_grant(b"x" * 32, "user", ttl_s=600)
    for grant in (expired, foreign):
        url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}iog/dashboard/v/{grant}/api/version"
        with pytest.raises(HTTPClientError) as info:
            await AsyncHTTPClient().fetch(url)
        assert info.value.code == 403
        assert b"open the dashboard again" in info.value.response.body


def _iog(serverapp):
    for manager in serverapp.extension_manager.extensions.values():
        for point in manager.extension_points.values():
            if point.app is not None and hasattr(point.app, "dashboard_grant_secret"):
                return point.app
    raise AssertionError("iog_jupyter is not loaded")
