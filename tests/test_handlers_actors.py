"""``GET actors`` and ``DELETE actors/{namespace}/{name}`` on the real head; the TTL reaper."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from tornado.httpclient import HTTPClientError

from tests.fixtures import server_config

from .test_core_actors import run_driver

pytestmark = pytest.mark.ray


@pytest.fixture
def ray_address(request: pytest.FixtureRequest) -> str:
    """The server's ``ray_address`` (``indirect`` parametrization; the test head by default)."""
    return getattr(request, "param", "")


@pytest.fixture
def jp_server_config(ray_head, tmp_path, ray_address):
    """iog_jupyter with its own audit log and a fast reaper."""
    return server_config(
        refresh_interval_s=0.5,
        jobs_state_dir=tmp_path / "iog_state",
        actor_reap_interval_s=0.5,
        ray_address=ray_address,
    )


@pytest.fixture
def audit_path(tmp_path) -> str:
    return str(tmp_path / "iog_state" / "audit.log")


def read_audit(path: str) -> list[dict[str, Any]]:
    try:
        with open(path) as f:
            return [json.loads(line) for line in f]
    except FileNotFoundError:
        return []


async def api(jp_fetch, *parts: str, method: str = "GET", **params: str):
    """Call the API; (status, decoded JSON body)."""
    try:
        reply = await jp_fetch("iog", "api", "v1", *parts, method=method, params=params or None)
    except HTTPClientError as err:
        assert err.response is not None
        body = json.loads(err.response.body)
        assert set(body) == {"message", "reason"}
        assert "Traceback" not in body["message"] and "site-packages" not in body["message"]
        return err.code, body
    return reply.code, json.loads(reply.body)


async def names_in(jp_fetch, ns: str) -> set[str]:
    code, page = await api(jp_fetch, "actors", namespace=ns)
    assert code == 200
    return {a["name"] for a in page["actors"]}


async def wait_for(predicate: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
def made(ray_head) -> tuple[str, list[dict[str, Any]]]:
    """Actors in a fresh namespace (one driver process for the module)."""
    ns = f"ioth-{uuid.uuid4().hex[:8]}"
    results = run_driver(
        ray_head,
        [
            ["iog", "keep", ns, {"ttl_s": 3600}],
            ["iog", "doomed", ns, {}],
            ["iog", "a/b <x>", ns, {}],
            ["plain", "_ray_internal_y", ns, {}],
            ["plain", f"svc-{ns}", "serve", {}],
            ["plain", f"sup-{ns}", "SUPERVISOR_ACTOR_RAY_NAMESPACE", {}],
        ],
    )
    return ns, results


async def test_list_filters_and_pages(jp_fetch, made):
    ns, results = made
    code, page = await api(jp_fetch, "actors", namespace=ns, detached="true")
    assert code == 200
    by_name = {a["name"]: a for a in page["actors"]}
    assert set(by_name) >= {"keep", "a/b <x>", "_ray_internal_y"}
    keep = by_name["keep"]
    assert keep["actor_id"] == results[0]["actor_id"] and keep["state"] == "ALIVE"
    assert keep["ttl_s"] == 3600 and keep["expires"].endswith("Z") and keep["owner"]
    assert keep["managed"] is True and keep["protected"] is False
    assert by_name["_ray_internal_y"]["protected"] is True
    code, none = await api(jp_fetch, "actors", namespace=ns, detached="false")
    assert code == 200 and none["actors"] == [] and none["next_cursor"] is None
    assert none["total"] is None  # filtered: not counted (that would read every actor)
    code, counted = await api(jp_fetch, "actors", namespace=ns)
    assert code == 200 and counted["total"] == len(counted["actors"]) == 4
    # Filtered pages, one actor each, walked by cursor: exactly the unfiltered list's actors.
    walked, cursor = [], None
    while True:
        params = {"namespace": ns, "detached": "true", "limit": "1"}
        code, one = await api(
            jp_fetch, "actors", **params, **({"cursor": cursor} if cursor else {})
        )
        assert code == 200 and len(one["actors"]) == 1 and one["total"] is None
        walked += one["actors"]
        cursor = one["next_cursor"]
        if cursor is None:
            break
    assert [a["name"] for a in walked] == [a["name"] for a in counted["actors"]]
    code, alive = await api(jp_fetch, "actors", namespace=ns, state="alive,restarting")
    assert code == 200 and {a["state"] for a in alive["actors"]} == {"ALIVE"}
    # A name prefix: with and without a namespace, counted when unfiltered otherwise.
    code, kept = await api(jp_fetch, "actors", namespace=ns, prefix="kee")
    assert code == 200 and [a["name"] for a in kept["actors"]] == ["keep"] and kept["total"] == 1
    code, anywhere = await api(jp_fetch, "actors", prefix=f"svc-{ns}", limit="500")
    assert code == 200 and anywhere["actors"] == []  # `serve` is protected unless named
    code, slashed = await api(jp_fetch, "actors", prefix="a/b <", limit="500")
    assert code == 200 and (ns, "a/b <x>") in {
        (a["namespace"], a["name"]) for a in slashed["actors"]
    }
    assert all(a["name"].startswith("a/b <") for a in slashed["actors"])
    code, alive_keep = await api(jp_fetch, "actors", namespace=ns, prefix="k", state="ALIVE")
    assert code == 200 and [a["name"] for a in alive_keep["actors"]] == ["keep"]
    code, first = await api(jp_fetch, "actors", namespace=ns, limit="1")
    assert code == 200 and len(first["actors"]) == 1 and first["next_cursor"]
    code, second = await api(
        jp_fetch, "actors", namespace=ns, limit="1", cursor=first["next_cursor"]
    )
    assert code == 200 and second["actors"][0]["name"] > first["actors"][0]["name"]
    # Without a namespace, Ray's internal and protected actors are left out.
    code, everything = await api(jp_fetch, "actors", limit="500")
    keys = {(a["namespace"], a["name"]) for a in everything["actors"]}
    assert (ns, "keep") in keys and (ns, "_ray_internal_y") not in keys
    assert ("serve", f"svc-{ns}") not in keys
    assert ("SUPERVISOR_ACTOR_RAY_NAMESPACE", f"sup-{ns}") not in keys


@pytest.mark.parametrize(
    "params, word",
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "x" * 2000}, "cursor"),
        ({"state": "SLEEPING"}, "state"),
        ({"detached": "maybe"}, "detached"),
        ({"namespace": "x" * 300}, "namespace"),
        ({"nmespace": "x"}, "nmespace"),
    ],
)
async def test_bad_queries_are_400(jp_fetch, params, word):
    code, body = await api(jp_fetch, "actors", **params)
    assert code == 400, body
    assert word in body["message"]


async def test_refused_kills_are_403_audited_and_change_nothing(jp_fetch, made, audit_path):
    ns, _ = made
    refused = [
        (ns, "_ray_internal_y"),
        ("serve", f"svc-{ns}"),
        ("SUPERVISOR_ACTOR_RAY_NAMESPACE", f"sup-{ns}"),
        ("iog_jupyter", "anything"),
        ("_ray_internal_dashboard", "x"),
    ]
    for namespace, name in refused:
        code, body = await api(jp_fetch, "actors", namespace, name, method="DELETE")
        assert code == 403, (namespace, name, body)
        assert body["reason"] == "protected_actor" and "will not touch" in body["message"]
    code, body = await api(jp_fetch, "actors", ns, "never-made", method="DELETE")
    assert code == 404 and body["reason"] == "actor_not_found"
    assert "'never-made'" in body["message"] and "iog actors list --named" in body["message"]
    code, body = await api(jp_fetch, "actors", ns, "keep", method="DELETE", force="1")
    assert code == 400 and "force" in body["message"]
    assert {"keep", "_ray_internal_y"} <= await names_in(jp_fetch, ns)
    assert f"svc-{ns}" in await names_in(jp_fetch, "serve")
    assert f"sup-{ns}" in await names_in(jp_fetch, "SUPERVISOR_ACTOR_RAY_NAMESPACE")
    records = [r for r in read_audit(audit_path) if r["action"] == "actor.kill"]
    assert [r["outcome"] for r in records] == ["refused"] * (len(refused) + 2)
    assert records[0]["target"] == f"{ns}/_ray_internal_y" and records[0]["detail"].startswith(
        "403 protected_actor"
    )
    assert records[-2]["detail"].startswith("404") and records[-1]["detail"].startswith("400")


async def test_kill_removes_the_actor_and_is_audited(
    jp_fetch, made, audit_path, http_server_client, jp_base_url, jp_auth_header
):
    ns, results = made
    code, body = await api(jp_fetch, "actors", ns, "doomed", method="DELETE")
    assert code == 200 and body["killed"] is True and body["name"] == "doomed"
    assert body["actor"]["actor_id"] == results[1]["actor_id"]
    # A name with a slash and markup, URL-encoded as a client must (jp_fetch would split it).
    path = f"{jp_base_url}iog/api/v1/actors/{quote(ns, safe='')}/{quote('a/b <x>', safe='')}"
    reply = await http_server_client.fetch(path, method="DELETE", headers=jp_auth_header)
    body = json.loads(reply.body)
    assert reply.code == 200 and body["name"] == "a/b <x>"
    assert body["actor"]["actor_id"] == results[2]["actor_id"]

    async def gone() -> bool:
        return not ({"doomed", "a/b <x>"} & await names_in(jp_fetch, ns))

    await wait_for(gone)
    assert "keep" in await names_in(jp_fetch, ns)
    allowed = [
        r["target"]
        for r in read_audit(audit_path)
        if r["action"] == "actor.kill" and r["outcome"] == "allowed"
    ]
    assert allowed == [f"{ns}/doomed", f"{ns}/a/b <x>"]
    code, _ = await api(jp_fetch, "actors", ns, "doomed", method="DELETE")
    assert code == 404


async def test_reaper_kills_expired_actors_and_audits(jp_fetch, jp_serverapp, ray_head, audit_path):
    ns = f"iotr-{uuid.uuid4().hex[:8]}"
    results = await asyncio.get_running_loop().run_in_executor(
        None,
        run_driver,
        ray_head,
        [["iog", "brief", ns, {"ttl_s": 1}], ["iog", "lasting", ns, {"ttl_s": 3600}]],
    )

    # The server starts the reaper at start-up; the test server only with its first request.
    assert await names_in(jp_fetch, ns) == {"brief", "lasting"}

    async def reaped() -> bool:
        return any(
            r["action"] == "actor.reap" and r["target"] == f"{ns}/brief"
            for r in read_audit(audit_path)
        )

    await wait_for(reaped, timeout_s=30)
    record = next(r for r in read_audit(audit_path) if r["target"] == f"{ns}/brief")
    assert record["outcome"] == "allowed" and record["user"] == "iog_jupyter (reaper)"
    assert "TTL 1 s expired" in record["detail"]

    async def only_lasting() -> bool:
        return await names_in(jp_fetch, ns) == {"lasting"}

    await wait_for(only_lasting)
    assert results[0]["actor_id"] != results[1]["actor_id"]
    assert not any(r["target"] == f"{ns}/lasting" for r in read_audit(audit_path))
    code, _ = await api(jp_fetch, "actors", ns, "lasting", method="DELETE")
    assert code == 200


@pytest.mark.parametrize("ray_address", ["127.0.0.1:1"], indirect=True)
async def test_unreachable_ray_is_503_not_500(jp_fetch, audit_path):
    code, body = await api(jp_fetch, "actors")
    assert code == 503 and body["reason"] == "ray_unavailable"
    assert "127.0.0.1:1" in body["message"]
    code, body = await api(jp_fetch, "actors", "team", "x", method="DELETE")
    assert code == 503
    assert [r["outcome"] for r in read_audit(audit_path) if r["action"] == "actor.kill"] == [
        "failed"
    ]
