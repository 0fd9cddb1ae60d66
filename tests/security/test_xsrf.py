"""Browser credentials: a login cookie changes nothing without a matching XSRF token, and never
from a foreign Origin; a token in the Authorization header needs no XSRF token.

The cookie comes from Jupyter's own login page, as jupyter_server's ``tests/auth/test_login.py``
gets it: GET the page for its ``_xsrf`` cookie, then POST the token as the password.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.httputil import parse_cookie
from tornado.websocket import websocket_connect

from iog_jupyter.openapi import document as openapi_document
from tests.fixtures import server_config

from ..routes import concrete_path

pytestmark = pytest.mark.ray

FOREIGN = "https://evil.example"


@pytest.fixture
def jp_server_config(ray_head, tmp_path):
    """The local jobs backend: an accepted submission costs a `true` process, not a Ray job."""
    return server_config(
        refresh_interval_s=0.5, jobs_backend="local", jobs_state_dir=tmp_path / "iog_state"
    )


async def _xsrf_cookie(client, base_url: str) -> tuple[str, str]:
    """A fresh ``_xsrf`` cookie from the login page: (its Set-Cookie header, its value)."""
    page = await client.fetch(f"{base_url}login")
    header = page.headers["Set-Cookie"]
    return header.split(";", 1)[0], parse_cookie(header)["_xsrf"]


async def _log_in(jp_serverapp, http_server_client, jp_base_url) -> dict[str, str]:
    """A logged-in browser's cookies: ``cookie`` (login and _xsrf) and ``xsrf`` (the token)."""
    xsrf_pair, xsrf = await _xsrf_cookie(http_server_client, jp_base_url)
    reply = await http_server_client.fetch(
        f"{jp_base_url}login?next={jp_base_url}",
        method="POST",
        body=urlencode({"password": jp_serverapp.identity_provider.token, "_xsrf": xsrf}),
        headers={"Cookie": xsrf_pair},
        follow_redirects=False,
        raise_error=False,
    )
    assert reply.code == 302, reply.body[:300]
    login = [c.split(";", 1)[0] for c in reply.headers.get_list("Set-Cookie")]
    login = [c for c in login if c.startswith("username-")]
    assert login, reply.headers
    return {"cookie": f"{login[0]}; {xsrf_pair}", "xsrf": xsrf}


async def _call(client, base_url, method, path, headers, body=None) -> tuple[int, dict[str, Any]]:
    if method in ("POST", "PUT", "PATCH") and body is None:
        body = b""
    reply = await client.fetch(
        f"{base_url}iog/api/v1/{path}",
        method=method,
        headers=headers,
        body=body,
        raise_error=False,
        follow_redirects=False,
        allow_nonstandard_methods=True,
    )
    try:
        return reply.code, json.loads(reply.body or b"{}")
    except ValueError:
        return reply.code, {"raw": reply.body[:200].decode(errors="replace")}


def _changes() -> list[tuple[str, str]]:
    """Every documented REST verb that changes state, with harmless path values."""
    found = []
    for path, item in openapi_document()["paths"].items():
        for method, op in item.items():
            if method == "get" or op.get("x-websocket"):
                continue
            found.append((method.upper(), concrete_path(path)))
    return found


async def _job_ids(client, base_url, auth) -> list[str]:
    code, page = await _call(client, base_url, "GET", "jobs", auth)
    assert code == 200, page
    return [j["submission_id"] for j in page["jobs"]]


async def test_cookie_auth_needs_a_matching_xsrf_token_and_our_origin(
    jp_serverapp, http_server_client, jp_base_url, jp_auth_header, jp_http_port, tmp_path
):
    client, base = http_server_client, jp_base_url
    browser = await _log_in(jp_serverapp, client, base)
    json_type = {"Content-Type": "application/json"}
    body = json.dumps({"entrypoint": "true", "submission_id": "xsrf-ok"})

    # The cookie alone reads (a browser tab may show the cluster)...
    code, status = await _call(client, base, "GET", "status", {"Cookie": browser["cookie"]})
    assert code == 200 and "ray" in status

    # ...but changes nothing: every mutating route, without an XSRF token, is 403.
    changes = _changes()
    assert ("POST", "jobs") in changes and ("DELETE", "actors/team/x") in changes
    for method, path in changes:
        headers = {"Cookie": browser["cookie"], **json_type}
        code, reply = await _call(client, base, method, path, headers, body)
        assert code == 403, (method, path, code, reply)
    # A JSON object hidden in a text/plain form post (the classic JSON CSRF): 403 too.
    headers = {"Cookie": browser["cookie"], "Content-Type": "text/plain"}
    code, _ = await _call(client, base, "POST", "jobs", headers, body)
    assert code == 403
    # An XSRF token that does not match the cookie's: 403.
    _, other_xsrf = await _xsrf_cookie(client, base)
    assert other_xsrf != browser["xsrf"]
    headers = {"Cookie": browser["cookie"], "X-XSRFToken": other_xsrf, **json_type}
    code, _ = await _call(client, base, "POST", "jobs", headers, body)
    assert code == 403
    # The right token from a foreign page: refused (Jupyter answers 404 to foreign origins).
    headers = {"Cookie": browser["cookie"], "X-XSRFToken": browser["xsrf"], **json_type}
    code, _ = await _call(client, base, "POST", "jobs", {**headers, "Origin": FOREIGN}, body)
    assert code in (403, 404), code
    code, _ = await _call(
        client, base, "GET", "status", {"Cookie": browser["cookie"], "Origin": FOREIGN}
    )
    assert code in (403, 404), code
    url = f"ws://127.0.0.1:{jp_http_port}{base}iog/api/v1/cluster/subscribe"
    request = HTTPRequest(url, headers={"Cookie": browser["cookie"], "Origin": FOREIGN})
    with pytest.raises(HTTPClientError) as info:
        await websocket_connect(request)
    assert info.value.code in (403, 404)
    assert await _job_ids(client, base, jp_auth_header) == []
    assert not (tmp_path / "iog_state" / "audit.log").exists()  # refused before any handler

    # Cookie, matching token, our own origin: the browser's normal path works.
    origin = f"http://127.0.0.1:{jp_http_port}"
    code, reply = await _call(client, base, "POST", "jobs", {**headers, "Origin": origin}, body)
    assert code == 201, reply
    assert await _job_ids(client, base, jp_auth_header) == ["xsrf-ok"]


async def test_token_auth_needs_no_xsrf_token(
    http_server_client, jp_base_url, jp_auth_header, tmp_path
):
    headers = {**jp_auth_header, "Content-Type": "application/json"}
    body = json.dumps({"entrypoint": "true", "submission_id": "token-ok"})
    code, reply = await _call(http_server_client, jp_base_url, "POST", "jobs", headers, body)
    assert code == 201, reply
    assert "Cookie" not in headers and "X-XSRFToken" not in headers
    records = [json.loads(line) for line in (tmp_path / "iog_state" / "audit.log").open()]
    assert [(r["target"], r["outcome"]) for r in records] == [("token-ok", "allowed")]
