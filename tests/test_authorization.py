"""Every route asks Jupyter's Authorizer for the (action, resource) its OpenAPI entry documents,
and a read-only user can read everything and change nothing."""

from __future__ import annotations

import json
import re

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError

from iog_jupyter.handlers.openapi import openapi_document

pytestmark = pytest.mark.ray

CALLS: list[tuple[str, str, str, str]] = []


class RecordingAuthorizer(Authorizer):
    """Allows everything and records each question (method, path, action, resource)."""

    def is_authorized(self, handler, user, action, resource):
        CALLS.append((handler.request.method, handler.request.path, action, resource))
        return True


class ReadOnlyAuthorizer(Authorizer):
    """A user who may read every iog resource and change none."""

    def is_authorized(self, handler, user, action, resource):
        return action == "read"


def _operations():
    for path, item in openapi_document()["paths"].items():
        for method, op in item.items():
            if op.get("x-websocket"):
                continue
            concrete = re.sub(r"\{\w+\}", "x", path).lstrip("/")
            yield method.upper(), concrete, op["x-iog-auth"]


async def _call(jp_fetch, method, path):
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    try:
        reply = await jp_fetch(
            "iog",
            "api",
            "v1",
            *path.split("/"),
            method=method,
            body=body,
            allow_nonstandard_methods=True,
        )
        return reply.code
    except HTTPClientError as err:
        return err.code


def _config(tmp_path, authorizer):
    return {
        "ServerApp": {
            "jpserver_extensions": {"iog_jupyter": True},
            "allow_unauthenticated_access": False,
            "authorizer_class": authorizer,
        },
        "IogJupyterApp": {
            "refresh_interval_s": 0.5,
            "jobs_backend": "local",
            "jobs_state_dir": str(tmp_path / "iog_state"),
        },
    }


class TestDocumentedPairs:
    @pytest.fixture
    def jp_server_config(self, ray_head, tmp_path):
        return _config(tmp_path, RecordingAuthorizer)

    async def test_each_route_asks_for_its_documented_action_and_resource(self, jp_fetch):
        checked = 0
        for method, path, auth in _operations():
            CALLS.clear()
            await _call(jp_fetch, method, path)
            asked = {(a, r) for m, p, a, r in CALLS if m == method and p.endswith("/" + path)}
            assert (auth["action"], auth["resource"]) in asked, (method, path, CALLS)
            assert auth["action"] == ("read" if method == "GET" else "write"), (method, path)
            checked += 1
        assert checked >= 12


class TestReadOnlyUser:
    @pytest.fixture
    def jp_server_config(self, ray_head, tmp_path):
        return _config(tmp_path, ReadOnlyAuthorizer)

    async def test_reads_pass_and_every_change_is_403(self, jp_fetch):
        for method, path, _ in _operations():
            code = await _call(jp_fetch, method, path)
            if method == "GET":
                assert code != 403, (method, path)
            else:
                assert code == 403, (method, path, code)
        reply = await jp_fetch("iog", "api", "v1", "jobs")
        assert json.loads(reply.body)["jobs"] == []  # nothing was submitted
