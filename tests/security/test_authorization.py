"""Every route asks Jupyter's Authorizer for the (action, resource) its OpenAPI entry documents,
a read-only user can read everything and change nothing, and only a job's or a session's owner
(or an admin: write on ``iog:admin``) may change it."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from jupyter_core.utils import ensure_async
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import HTTPClientError

from iog_jupyter.openapi import document as openapi_document
from tests.fixtures import server_config, start_session_driver

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


def _config(tmp_path, authorizer, server: dict[str, Any] | None = None, **iog: Any) -> dict:
    return server_config(
        server={"authorizer_class": authorizer, **(server or {})},
        refresh_interval_s=0.5,
        jobs_backend="local",
        jobs_state_dir=tmp_path / "iog_state",
        **iog,
    )


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


class HeaderUserProvider(IdentityProvider):
    """Jupyter's token check, then the user named by X-Test-User (a JupyterHub stand-in)."""

    async def get_user(self, handler):
        user = await ensure_async(super().get_user(handler))
        if user is None:
            return None
        return User(username=handler.request.headers.get("X-Test-User", "nobody"))


class AdminOnlyAuthorizer(Authorizer):
    """Everyone may use iog; only "admin" holds write on iog:admin."""

    def is_authorized(self, handler, user, action, resource):
        return resource != "iog:admin" or user.username == "admin"


def _as_user(jp_fetch):
    """A caller of the API as the user named by X-Test-User; returns (status, decoded body)."""

    async def as_user(name, *parts, method="GET", body=None):
        try:
            reply = await jp_fetch(
                "iog",
                "api",
                "v1",
                *parts,
                method=method,
                headers={"X-Test-User": name, "Content-Type": "application/json"},
                body=None if body is None and method != "POST" else json.dumps(body or {}),
            )
            return reply.code, json.loads(reply.body)
        except HTTPClientError as err:
            return err.code, json.loads(err.response.body)

    return as_user


def _start_driver(ray_head, tag: str, *flags: str, user: str | None = None):
    """A script driver holding one actor (tests/drivers/session_driver.py), as ``user``."""
    return start_session_driver(ray_head, tag, "--actors", "1", *flags, JUPYTERHUB_USER=user)


class TestMultiUser:
    @pytest.fixture
    def jp_server_config(self, ray_head, tmp_path):
        return _config(
            tmp_path,
            AdminOnlyAuthorizer,
            server={"identity_provider_class": HeaderUserProvider},
            jobs_stop_grace_s=1.0,
            # Script drivers stand in for other users' kernels (no kernel start needed).
            sessions_release_foreign=True,
        )

    async def test_only_the_owner_or_an_admin_changes_a_job(self, jp_fetch):
        as_user = _as_user(jp_fetch)
        code, _ = await as_user(
            "alice",
            "jobs",
            method="POST",
            body={"entrypoint": "sleep 30", "submission_id": "alices"},
        )
        assert code == 201
        code, job = await as_user("bob", "jobs", "alices")
        assert code == 200 and job["owner"] == "alice"  # everyone may read
        code, err = await as_user("bob", "jobs", "alices", "stop", method="POST")
        assert code == 403 and err["reason"] == "not_owner" and "alice" in err["message"]
        code, job = await as_user("alice", "jobs", "alices")
        assert job["status"] in ("PENDING", "RUNNING")  # the refusal changed nothing
        code, reply = await as_user("admin", "jobs", "alices", "stop", method="POST")
        assert code == 200 and reply["stopped"] is True
        for _ in range(100):
            code, job = await as_user("alice", "jobs", "alices")
            if job["status"] in ("STOPPED", "FAILED"):
                break
            await asyncio.sleep(0.2)
        code, err = await as_user("bob", "jobs", "alices", method="DELETE")
        assert code == 403
        code, _ = await as_user("alice", "jobs", "alices", method="DELETE")
        assert code == 200

    async def test_only_the_owner_or_an_admin_releases_a_session(
        self, jp_fetch, ray_head, tmp_path
    ):
        as_user = _as_user(jp_fetch)
        alices = _start_driver(ray_head, "owned", user="alice")
        plain = _start_driver(ray_head, "unowned", "--plain")
        try:
            loop = asyncio.get_running_loop()
            ready = [await loop.run_in_executor(None, p.stdout.readline) for p in (alices, plain)]
            alice_job, plain_job = (line.split()[1] for line in ready)

            async def held(job: str) -> int:
                code, body = await as_user("admin", "sessions")
                assert code == 200, body
                return {s["session_id"]: s for s in body["sessions"]}[job]["actors"]

            # Another user's session: 403, and nothing was released.
            code, err = await as_user("bob", "sessions", alice_job, "release", method="POST")
            assert code == 403 and err["reason"] == "not_owner", err
            assert "alice" in err["message"] and "iog:admin" in err["message"]
            assert await held(alice_job) == 1
            # A driver without a recorded owner (plain ray.init) belongs to nobody: admin only.
            code, err = await as_user("alice", "sessions", plain_job, "release", method="POST")
            assert code == 403 and err["reason"] == "not_owner", err
            assert await held(plain_job) == 1
            # The owner may; so may an admin.
            code, reply = await as_user("alice", "sessions", alice_job, "release", method="POST")
            assert code == 200 and len(reply["killed_actors"]) == 1, reply
            code, reply = await as_user("admin", "sessions", plain_job, "release", method="POST")
            assert code == 200 and len(reply["killed_actors"]) == 1, reply
            assert await held(alice_job) == 0 and await held(plain_job) == 0
        finally:
            for proc in (alices, plain):
                proc.kill()
                proc.wait(timeout=30)
        with open(tmp_path / "iog_state" / "audit.log") as handle:
            records = [json.loads(line) for line in handle]
        releases = [(r["user"], r["outcome"]) for r in records if r["action"] == "session.release"]
        assert releases == [
            ("bob", "refused"),
            ("alice", "refused"),
            ("alice", "allowed"),
            ("admin", "allowed"),
        ]
        refused = [r for r in records if r["outcome"] == "refused"]
        assert all(r["detail"].startswith("403 not_owner") for r in refused)
        assert alice_job in refused[0]["target"] and "owner alice" in refused[0]["target"]
