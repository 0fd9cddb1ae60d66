"""Hostile requests through a real server: each is refused with a 4xx, and nothing changes.

Verbs that change state are unreachable by GET; bodies must be JSON sent as JSON; ids, metadata,
``runtime_env`` and zips are checked before anything is created; env values never come back;
Ray's errors come back without tracebacks, paths or tokens; every refusal is audited (0600).
Cases already tested elsewhere are listed in ``tests/security/__init__.py``.
"""

from __future__ import annotations

import io
import json
import os
import stat
import uuid
import zipfile
from typing import Any

import pytest

from iog_jupyter.core.jobs.validation import PROTECTED_ENV, REFUSED_RUNTIME_ENV
from iog_jupyter.openapi import document as openapi_document
from tests.fixtures import server_config

from ..routes import concrete_path

pytestmark = pytest.mark.ray

MIB = 1024 * 1024
EXPANDED_CAP = 4 * MIB
JSON = {"Content-Type": "application/json"}
LEAKS = ("Traceback", "site-packages", 'File "')


def _config(tmp_path, **iog: Any) -> dict:
    traits = {
        "refresh_interval_s": 0.5,
        "jobs_backend": "local",
        "jobs_state_dir": tmp_path / "iog_state",
        # Default caps (1 MiB JSON, 10,000 zip entries) but a small expanded-size cap.
        "package_max_expanded_bytes": EXPANDED_CAP,
    }
    return server_config(**{**traits, **iog})


@pytest.fixture
def jp_server_config(ray_head, tmp_path):
    """The local jobs backend (cheap jobs) and the default body and entry caps."""
    return _config(tmp_path)


async def call(
    client, base: str, auth: dict, method: str, path: str, body: Any = None, headers=None
) -> tuple[int, dict[str, Any]]:
    """A raw request to ``{base}iog/api/v1/{path}`` (path already URL-encoded as sent)."""
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = b""
    reply = await client.fetch(
        f"{base}iog/api/v1/{path}",
        method=method,
        body=body,
        headers={**auth, **(headers or {})},
        raise_error=False,
        allow_nonstandard_methods=True,
    )
    data = json.loads(reply.body) if reply.body else {}
    if reply.code >= 400:
        assert set(data) == {"message", "reason"}, data
        assert not [w for w in LEAKS if w in data["message"]], data
    return reply.code, data


@pytest.fixture
def api(http_server_client, jp_base_url, jp_auth_header):
    """``await api(method, path, body=..., headers=...)`` -> (status, decoded body)."""

    async def api(method: str, path: str, body: Any = None, headers=None):
        return await call(
            http_server_client, jp_base_url, jp_auth_header, method, path, body, headers
        )

    return api


def audit_records(tmp_path) -> list[dict[str, Any]]:
    path = tmp_path / "iog_state" / "audit.log"
    if not path.exists():
        return []
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    return [json.loads(line) for line in path.read_text().splitlines()]


async def job_ids(api) -> list[str]:
    code, page = await api("GET", "jobs?limit=200")
    assert code == 200, page
    return [j["submission_id"] for j in page["jobs"]]


def stored_packages(tmp_path) -> list[str]:
    root = tmp_path / "iog_state" / "packages"
    return [p.name for p in root.iterdir() if not p.name.startswith(".")] if root.exists() else []


# --- verbs and bodies ------------------------------------------------------------------------


async def test_changes_are_not_reachable_by_get(api, tmp_path):
    """GET on every route whose only verbs change state: 405 (or 404), and nothing changes."""
    checked = {}
    for path, item in openapi_document()["paths"].items():
        if "get" in item or all(op.get("x-websocket") for op in item.values()):
            continue
        concrete = concrete_path(path)
        code, body = await api("GET", concrete)
        assert code in (404, 405), (concrete, code, body)
        checked[concrete] = code
    assert {"jobs/some-job/stop", "sessions/01000000/release", "packages"} <= set(checked)
    assert "actors/team/x" in checked
    assert checked["jobs/some-job/stop"] == checked["packages"] == 405
    assert await job_ids(api) == [] and audit_records(tmp_path) == []


FORM_BODIES = [
    ("application/x-www-form-urlencoded", "entrypoint=echo+hi&submission_id=form1"),
    ("application/x-www-form-urlencoded", '{"entrypoint": "echo hi", "submission_id": "form2"}'),
    ("text/plain", '{"entrypoint": "echo hi", "submission_id": "plain1"}'),
    ("text/plain;charset=UTF-8", "entrypoint=echo hi"),
    ("multipart/form-data; boundary=b", '--b\r\nContent-Disposition: form-data; name="x"\r\n'),
    (None, '{"entrypoint": "echo hi", "submission_id": "none1"}'),
]


async def test_form_and_text_bodies_are_refused_and_create_nothing(api, tmp_path):
    for content_type, body in FORM_BODIES:
        headers = {"Content-Type": content_type} if content_type else {}
        code, reply = await api("POST", "jobs", body, headers)
        assert code == 415, (content_type, body, reply)
        assert "application/json" in reply["message"]
    # A form-encoded body announced as JSON is not JSON: 400.
    code, reply = await api("POST", "jobs", "entrypoint=echo+hi", JSON)
    assert code == 400 and reply["reason"] == "bad_json", reply
    assert await job_ids(api) == []
    outcomes = [(r["action"], r["outcome"]) for r in audit_records(tmp_path)]
    assert outcomes == [("job.submit", "refused")] * (len(FORM_BODIES) + 1)


async def test_a_2_mib_json_body_is_413_and_creates_nothing(api, tmp_path):
    body = json.dumps({"entrypoint": "echo " + "x" * (2 * MIB), "submission_id": "big1"})
    code, reply = await api("POST", "jobs", body, JSON)
    assert code == 413 and "max_request_body_bytes" in reply["message"], reply
    assert await job_ids(api) == []
    assert [(r["action"], r["outcome"]) for r in audit_records(tmp_path)] == [
        ("job.submit", "refused")
    ]


# --- ids, metadata, runtime_env ----------------------------------------------------------------

HOSTILE_IDS = ["a/b", "..", "../etc", "x" * 300, "<b>x</b>", ""]


async def test_hostile_submission_ids_and_metadata_are_400(api, tmp_path):
    bodies: list[dict[str, Any]] = [
        {"entrypoint": "echo", "submission_id": bad} for bad in HOSTILE_IDS
    ]
    bodies += [
        {"entrypoint": "echo", "metadata": {"k" * 300: "v"}},
        {"entrypoint": "echo", "metadata": {"": "v"}},
        {"entrypoint": "echo", "metadata": {"k": "v" * 1025}},
        {"entrypoint": "echo", "metadata": {"k": ["not", "a", "string"]}},
        {"entrypoint": "echo", "metadata": "<b>not an object</b>"},
        {"entrypoint": "echo", "metadata": {"iog.owner": "mallory"}},
    ]
    for body in bodies:
        code, reply = await api("POST", "jobs", body, JSON)
        assert code == 400, (body, reply)
    # The same ids in the path, URL-encoded as a client must send them.
    encoded = ["a%2Fb", "..", "..%2Fetc", "x" * 300, "%3Cb%3Ex%3C%2Fb%3E", "%2e%2e"]
    for bad in encoded:
        for method, path in (("GET", f"jobs/{bad}"), ("POST", f"jobs/{bad}/stop")):
            code, reply = await api(method, path)
            assert code == 400 and reply["reason"] == "bad_submission_id", (path, reply)
        code, reply = await api("DELETE", f"jobs/{bad}")
        assert code == 400, (bad, reply)
    assert await job_ids(api) == []
    records = audit_records(tmp_path)
    assert records and {r["outcome"] for r in records} == {"refused"}
    assert not [r for r in records if "<b>" in r["target"] and len(r["target"]) > 70]


async def test_each_forbidden_runtime_env_key_is_400(api, tmp_path):
    forbidden: dict[str, Any] = {key: "x" for key in REFUSED_RUNTIME_ENV}
    forbidden |= {"nsight": "default", "java_jars": ["x.jar"], "mpi": {}, "image": "x"}
    envs = [{key: value} for key, value in forbidden.items()]
    envs += [{"env_vars": {name: "x"}} for name in sorted(PROTECTED_ENV)]
    envs += [
        {"pip": ["--index-url=http://evil.example/simple", "numpy"]},
        {"pip": ["git+https://evil.example/x.git"]},
        {"working_dir": "/etc"},
        {"working_dir": "https://evil.example/x.zip"},
        {"py_modules": ["/etc"]},
    ]
    for env in envs:
        code, reply = await api("POST", "jobs", {"entrypoint": "echo", "runtime_env": env}, JSON)
        assert code == 400, (env, reply)
        assert any(k in reply["message"] for k in ("runtime_env", "working_dir", "py_modules"))
    assert await job_ids(api) == []
    assert len(audit_records(tmp_path)) == len(envs)


# --- zips ----------------------------------------------------------------------------------------


def make_zip(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A zip of ``(name, unix mode, data)`` entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, mode, data in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def lying_zip(expanded: int) -> bytes:
    """One entry of ``expanded`` zero bytes whose headers claim it holds 10 bytes."""
    data = bytearray(make_zip([("bomb.bin", stat.S_IFREG | 0o644, b"\0" * expanded)]))
    real = expanded.to_bytes(4, "little")
    for offset in (22, -22 - 46 - 8 + 24):  # local header, central directory: uncompressed size
        start = offset if offset >= 0 else len(data) + offset
        assert bytes(data[start : start + 4]) == real
        data[start : start + 4] = (10).to_bytes(4, "little")
    return bytes(data)


FILE = stat.S_IFREG | 0o644
BAD_ZIPS: list[tuple[str, bytes, str]] = [
    ("traversal", make_zip([("../evil.py", FILE, b"x")]), "outside the package"),
    ("absolute", make_zip([("/abs/evil.py", FILE, b"x")]), "absolute path"),
    ("symlink", make_zip([("link", stat.S_IFLNK | 0o777, b"/etc/passwd")]), "symbolic link"),
    ("setuid", make_zip([("suid", FILE | stat.S_ISUID | 0o755, b"x")]), "setuid"),
    ("entries", make_zip([(f"f{i}", FILE, b"") for i in range(10_001)]), "at most 10000"),
    ("bomb", make_zip([("bomb.bin", FILE, b"\0" * (5 * MIB))]), "expands to"),
    # Python's zipfile reads no more than the declared size, then fails the CRC check.
    ("lying bomb", lying_zip(5 * MIB), "could not be read"),
]


async def test_hostile_zips_are_refused_and_nothing_is_kept(api, tmp_path):
    zip_type = {"Content-Type": "application/zip"}
    for name, data, hint in BAD_ZIPS:
        assert len(data) < 5 * MIB, name
        code, reply = await api("POST", "packages", data, zip_type)
        assert code in (400, 413), (name, reply)
        assert hint in reply["message"], (name, reply["message"])
    # The same 5 MiB expanded under the cap is fine: the refusals were the caps, not the size.
    code, reply = await api(
        "POST", "packages", make_zip([("ok.bin", FILE, b"\0" * (3 * MIB))]), zip_type
    )
    assert code == 201, reply
    assert stored_packages(tmp_path) == [reply["uri"].rsplit("/", 1)[1]]
    outcomes = [r["outcome"] for r in audit_records(tmp_path)]
    assert outcomes == ["refused"] * len(BAD_ZIPS) + ["allowed"]
    uploads = tmp_path / "iog_state" / "uploads"
    assert not uploads.exists() or not list(uploads.iterdir())


# --- what comes back -------------------------------------------------------------------------


async def test_env_values_are_redacted_in_every_view_and_the_audit_log(api, tmp_path):
    secret = "s3cr3t-" + uuid.uuid4().hex
    body = {
        "entrypoint": "true",
        "submission_id": "redact1",
        "runtime_env": {"env_vars": {"API_KEY": secret}},
    }
    code, reply = await api("POST", "jobs", body, JSON)
    assert code == 201, reply
    code, job = await api("GET", "jobs/redact1")
    assert code == 200 and job["runtime_env"]["env_vars"] == {"API_KEY": "<redacted>"}
    code, page = await api("GET", "jobs?limit=200")
    assert code == 200 and "redact1" in json.dumps(page)
    code, refused = await api("POST", "jobs", body, JSON)  # a duplicate: 409, audited
    assert code == 409, refused
    views = [json.dumps(job), json.dumps(page), json.dumps(refused)]
    audit = (tmp_path / "iog_state" / "audit.log").read_text()
    assert "redact1" in audit
    for text in [*views, audit]:
        assert secret not in text
    assert [(r["action"], r["outcome"]) for r in audit_records(tmp_path)] == [
        ("job.submit", "allowed"),
        ("job.submit", "refused"),
    ]
    assert all(r["user"] and r["remote_ip"] and r["time"] for r in audit_records(tmp_path))


RAY_500 = (
    "Request failed with status code 500: Traceback (most recent call last):\n"
    '  File "/opt/venv/lib/python3.11/site-packages/aiohttp/web_protocol.py", line 452, in _h\n'
    "    resp = await request_handler(request)\n"
    '  File "/opt/venv/lib/python3.11/site-packages/ray/dashboard/modules/job/job_head.py", '
    "line 301, in get_job_info\n"
    "    headers = {{'X-Ray-Authorization': 'Bearer {token}'}}\n"
    "ValueError: the job table in /tmp/ray/session_latest is unreadable\n"
)


class TestRayErrors:
    """Ray's failures reach clients as one line in words: no traceback, path or token."""

    @pytest.fixture
    def jp_server_config(self, ray_head, tmp_path):
        return _config(tmp_path, jobs_backend="ray")

    async def test_ray_errors_lose_their_traceback_paths_and_token(
        self, api, jp_serverapp, ray_head, monkeypatch
    ):
        from ray.job_submission import JobSubmissionClient

        from iog_jupyter.core import _ray_compat

        with open(ray_head.token_path) as handle:
            token = handle.read().strip()
        code, _ = await api("GET", "status")  # the backend and monitor are up
        assert code == 200

        def get_job_info(client: Any, submission_id: str) -> Any:
            if submission_id == "unexpected":  # not an error Ray's client is known to raise
                raise KeyError(f"/opt/venv/lib/python3.11/site-packages/ray/x.py {token}")
            raise RuntimeError(RAY_500.format(token=token))

        def gcs_down(*args: Any, **kwargs: Any) -> Any:
            # The shape of RaySystemError: a line of words, then Ray's traceback.
            raise ConnectionError(
                "System error: the GCS did not answer\ntraceback: "
                + RAY_500.format(token=token).split(": ", 1)[1]
            )

        monkeypatch.setattr(JobSubmissionClient, "get_job_info", get_job_info)
        bodies = []
        code, body = await api("GET", "jobs/some-job")
        assert code == 500 and "the job table in … is unreadable" in body["message"], body
        bodies.append(body)
        code, body = await api("GET", "jobs/some-job/logs")
        assert code == 500 and "the job table in … is unreadable" in body["message"], body
        bodies.append(body)
        code, body = await api("GET", "jobs/unexpected")
        assert code == 500 and body["reason"] == "internal", body
        bodies.append(body)
        # Then the GCS fails: the monitor's error, and every Ray route refused from it at once.
        monkeypatch.setattr(_ray_compat, "get_cluster_status", gcs_down)
        (app,) = jp_serverapp.extension_manager.extension_apps["iog_jupyter"]
        # poll_once shares a poll under way, which may have read the GCS before the patch.
        for _ in range(3):
            if await app.monitor.poll_once() is None:
                break
        code, body = await api("GET", "jobs/some-job")
        assert code == 503 and "the GCS did not answer" in body["message"], body
        bodies.append(body)
        for path in ("cluster", "status"):
            code, body = await api("GET", path)
            assert code in (200, 503), (path, body)
            bodies.append(body)
        text = json.dumps(bodies)
        assert "the GCS did not answer" in text  # the monitor's failure is reported...
        for leak in (*LEAKS, token, "/opt/venv"):
            assert leak not in text, leak  # ...in words only
