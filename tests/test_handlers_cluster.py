"""Handler tests for status, cluster, history, subscribe and openapi against a real Ray head."""

from __future__ import annotations

import asyncio
import getpass
import json

import pytest
from tornado.httpclient import HTTPClientError

from .ray_versions import CAPS
from .routes import api_path, iog_routes

pytestmark = pytest.mark.ray


async def _get(jp_fetch, *parts, **params):
    reply = await jp_fetch("iog", "api", "v1", *parts, params=params or None)
    return json.loads(reply.body)


async def test_status_reports_connected_without_token(jp_fetch, ray_head):
    data = await _get(jp_fetch, "status")
    assert data["ray"]["connected"] is True
    assert data["ray"]["address"] == ray_head.address
    assert data["ray"]["auth_mode"] == ("token" if CAPS.token_auth else "none")
    # The installed Ray's version and what it can do, with a sentence for each lack.
    assert data["ray"]["version"] == CAPS.version
    caps = data["ray"]["capabilities"]
    assert caps["token_auth"] is CAPS.token_auth and caps["node_labels"] is CAPS.node_labels
    assert any("no token authentication" in n for n in caps["notes"]) is not CAPS.token_auth
    token = open(ray_head.token_path).read().strip()
    assert token not in json.dumps(data)
    # Who the request acts for: the owner jobs it submits get (the server's OS user here).
    assert data["user"] == getpass.getuser()


async def test_cluster_snapshot_has_head_resources(jp_fetch, ray_head):
    data = await _get(jp_fetch, "cluster")
    assert data["totals"]["CPU"] >= 2.0
    assert "GPU" in data["totals"]
    heads = [n for n in data["nodes"] if n["is_head"]]
    assert len(heads) == 1
    assert heads[0]["resources_total"]["CPU"] == 2.0
    assert heads[0]["state"] in ("ACTIVE", "IDLE")
    assert data["timestamp"].endswith("Z")
    assert [p["name"] for p in data["pools"]]


async def test_history_grows_and_filters(jp_fetch, ray_head):
    await _get(jp_fetch, "cluster")
    await asyncio.sleep(1.2)
    data = await _get(jp_fetch, "cluster", "history")
    points = data["points"]
    assert len(points) >= 2
    assert points == sorted(points, key=lambda p: p["timestamp_ms"])
    newer = await _get(jp_fetch, "cluster", "history", since_ms=str(points[-2]["timestamp_ms"]))
    assert [p["timestamp_ms"] for p in newer["points"]][:1] == [points[-1]["timestamp_ms"]]


@pytest.mark.parametrize(
    "params",
    [{"since_ms": "yesterday"}, {"since_ms": "-5"}, {"sinse_ms": "1"}],
)
async def test_history_bad_query_is_400(jp_fetch, ray_head, params):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("iog", "api", "v1", "cluster", "history", params=params)
    assert info.value.code == 400
    body = json.loads(info.value.response.body)
    assert "since_ms" in body["message"] or "sinse_ms" in body["message"]
    assert "Traceback" not in body["message"]


async def test_subscribe_sends_snapshot_then_changes_only(jp_ws_fetch, jp_serverapp, ray_head):
    ws = await jp_ws_fetch("iog", "api", "v1", "cluster", "subscribe")
    first = json.loads(await asyncio.wait_for(ws.read_message(), 10))
    assert first["type"] == "snapshot"
    assert first["data"]["totals"]["CPU"] >= 2.0
    ws.close()


async def test_openapi_lists_every_route(jp_fetch, jp_serverapp):
    doc = await _get(jp_fetch, "openapi.json")
    assert doc["openapi"].startswith("3.")
    documented = set(doc["paths"])
    registered = {api_path(p) for p, _ in iog_routes(jp_serverapp) if "/iog/api/v1/" in p}
    assert registered
    assert registered == documented
