"""Handler tests for jobs and packages: both backends, validation, caps, audit, redaction."""

from __future__ import annotations

import asyncio
import getpass
import io
import json
import os
import stat
import time
import uuid
import zipfile
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from tests.fixtures import server_config

pytestmark = pytest.mark.ray

BODY_CAP = 16 * 1024
PACKAGE_CAP = 64 * 1024
EXPANDED_CAP = 256 * 1024


@pytest.fixture
def jobs_backend(request: pytest.FixtureRequest) -> str:
    """Which backend the server is forced to (``indirect`` parametrization; Ray by default)."""
    return getattr(request, "param", "ray")


@pytest.fixture
def jp_server_config(ray_head, tmp_path, jobs_backend):
    """iog_jupyter with small caps and its own state dir (audit log, packages, local jobs)."""
    return server_config(
        refresh_interval_s=0.5,
        jobs_backend=jobs_backend,
        request_timeout_s=60.0,
        jobs_state_dir=tmp_path / "iog_state",
        jobs_stop_grace_s=2.0,
        max_request_body_bytes=BODY_CAP,
        package_max_bytes=PACKAGE_CAP,
        package_max_entries=20,
        package_max_expanded_bytes=EXPANDED_CAP,
    )


def new_id(prefix: str = "t") -> str:
    """A fresh submission id (the Ray head is shared by the whole run)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def api(jp_fetch, *parts: str, method: str = "GET", body: Any = None, **params: str):
    """Call the API; returns (status, decoded JSON body, reply)."""
    kwargs: dict[str, Any] = {"method": method, "params": params or None}
    if body is not None:
        kwargs["body"] = body if isinstance(body, (bytes, str)) else json.dumps(body)
        kwargs["headers"] = {"Content-Type": "application/json"}
    elif method in ("POST", "PUT"):
        kwargs["body"] = b""
    try:
        reply = await jp_fetch("iog", "api", "v1", *parts, **kwargs)
    except HTTPClientError as error:
        reply = error.response
        assert reply is not None, error
    data = json.loads(reply.body) if reply.body else None
    return reply.code, data, reply


async def submit(jp_fetch, entrypoint: str, **fields: Any) -> str:
    """Submit a job and return its id (asserting 201)."""
    body = {"entrypoint": entrypoint, "submission_id": new_id(), **fields}
    code, data, reply = await api(jp_fetch, "jobs", method="POST", body=body)
    assert code == 201, data
    assert data == {"submission_id": body["submission_id"]}
    assert reply.headers["Location"].endswith(f"/iog/api/v1/jobs/{body['submission_id']}")
    return body["submission_id"]


async def wait_status(jp_fetch, submission_id: str, wanted: set[str], timeout_s: float = 60):
    """Poll GET jobs/{id} until its status is in ``wanted``."""
    deadline = time.monotonic() + timeout_s
    while True:
        code, job, _ = await api(jp_fetch, "jobs", submission_id)
        assert code == 200, job
        if job["status"] in wanted:
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.2)


async def total_jobs(jp_fetch) -> int:
    """How many jobs the backend holds."""
    code, page, _ = await api(jp_fetch, "jobs", limit="1")
    assert code == 200, page
    return page["total"]


def _read_audit(path: str) -> list[dict[str, Any]]:
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture
def audit_path(jp_serverapp, tmp_path) -> str:
    """Where this server's audit log is."""
    return str(tmp_path / "iog_state" / "audit.log")


def ray_token(ray_head) -> str:
    """The head's Ray token (to check it never leaves the server)."""
    with open(ray_head.token_path) as handle:
        return handle.read().strip()


def make_zip(entries: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    """A zip of ``entries``; names in ``links`` become symbolic links."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            mode = (stat.S_IFLNK | 0o777) if name in links else (stat.S_IFREG | 0o644)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


# --- lifecycle, both backends ----------------------------------------------------------------


@pytest.mark.parametrize("jobs_backend", ["ray", "local"], indirect=True)
async def test_job_lifecycle(jp_fetch, jp_serverapp, ray_head, jobs_backend, audit_path):
    secret = "s3cr3t-" + uuid.uuid4().hex
    submission_id = await submit(
        jp_fetch,
        "python -c \"import os; print('hello-iog', len(os.environ['IOG_SECRET']))\"",
        runtime_env={"env_vars": {"IOG_SECRET": secret}},
        metadata={"team": "a"},
    )
    job = await wait_status(jp_fetch, submission_id, {"SUCCEEDED", "FAILED"})
    assert job["status"] == "SUCCEEDED", job
    assert job["exit_code"] in (0, None)
    assert job["backend"] == jobs_backend
    # Set by the server: on Jupyter's own token login (one user), the server's OS account.
    assert job["owner"] == getpass.getuser()
    assert job["metadata"]["team"] == "a"
    assert job["runtime_env"]["env_vars"]["IOG_SECRET"] != secret

    # The status route names the backend in use.
    code, status, _ = await api(jp_fetch, "status")
    assert status["jobs_backend"] == jobs_backend

    # A byte-offset log page, then the rest from next_offset.
    code, page, _ = await api(jp_fetch, "jobs", submission_id, "logs", limit_bytes="4")
    assert code == 200
    assert page["offset"] == 0 and page["next_offset"] == 4 and len(page["text"]) == 4
    code, rest, _ = await api(
        jp_fetch, "jobs", submission_id, "logs", offset=str(page["next_offset"])
    )
    full = page["text"] + rest["text"]
    assert f"hello-iog {len(secret)}" in full
    assert rest["eof"] is True

    # The list shows it; nothing anywhere shows the env value or the Ray token.
    code, listing, _ = await api(jp_fetch, "jobs", status="SUCCEEDED", limit="200")
    assert submission_id in [j["submission_id"] for j in listing["jobs"]]
    for text in (json.dumps(job), json.dumps(listing), json.dumps(status), full):
        assert secret not in text
        assert ray_token(ray_head) not in text

    # Stop is idempotent on an ended job; delete removes it for good.
    code, stopped, _ = await api(jp_fetch, "jobs", submission_id, "stop", method="POST")
    assert code == 200 and stopped == {"submission_id": submission_id, "stopped": False}
    code, deleted, _ = await api(jp_fetch, "jobs", submission_id, method="DELETE")
    assert code == 200 and deleted["deleted"] is True
    code, gone, _ = await api(jp_fetch, "jobs", submission_id)
    assert code == 404 and gone["reason"] == "not_found"
    assert gone["message"] == (
        f"No job has the id {submission_id!r}. `iog jobs list` (or GET jobs) shows the jobs."
    )
    code, again, _ = await api(jp_fetch, "jobs", submission_id, method="DELETE")
    assert code == 404

    records = _read_audit(audit_path)
    mine = [(r["action"], r["outcome"]) for r in records if r["target"] == submission_id]
    assert mine == [
        ("job.submit", "allowed"),
        ("job.stop", "allowed"),
        ("job.delete", "allowed"),
        ("job.delete", "refused"),
    ]
    assert all(r["user"] and r["remote_ip"] for r in records)
    assert secret not in open(audit_path).read()


@pytest.mark.parametrize("jobs_backend", ["ray", "local"], indirect=True)
async def test_delete_running_is_409_then_stop(jp_fetch, jobs_backend, audit_path):
    submission_id = await submit(jp_fetch, 'python -c "import time; time.sleep(60)"')
    await wait_status(jp_fetch, submission_id, {"RUNNING"})
    code, conflict, _ = await api(jp_fetch, "jobs", submission_id, method="DELETE")
    assert code == 409, conflict
    assert "stop" in conflict["message"].lower()
    code, job, _ = await api(jp_fetch, "jobs", submission_id)
    assert code == 200 and job["status"] == "RUNNING"

    code, stopped, _ = await api(jp_fetch, "jobs", submission_id, "stop", method="POST")
    assert code == 200 and stopped["stopped"] is True
    await wait_status(jp_fetch, submission_id, {"STOPPED", "FAILED"})
    code, stopped, _ = await api(jp_fetch, "jobs", submission_id, "stop", method="POST")
    assert code == 200 and stopped["stopped"] is False
    code, _, _ = await api(jp_fetch, "jobs", submission_id, method="DELETE")
    assert code == 200
    code, listing, _ = await api(jp_fetch, "jobs", limit="200")
    assert submission_id not in [j["submission_id"] for j in listing["jobs"]]
    outcomes = [
        (r["action"], r["outcome"]) for r in _read_audit(audit_path) if r["target"] == submission_id
    ]
    assert ("job.delete", "refused") in outcomes and ("job.delete", "allowed") in outcomes


@pytest.mark.parametrize("jobs_backend", ["local"], indirect=True)
async def test_list_filters_and_pages(jp_fetch, jobs_backend):
    ids = [await submit(jp_fetch, "echo listed") for _ in range(3)]
    for submission_id in ids:
        await wait_status(jp_fetch, submission_id, {"SUCCEEDED"})
    seen: list[str] = []
    cursor = None
    for _ in range(50):
        params = {"limit": "2", "status": "SUCCEEDED,FAILED"}
        if cursor:
            params["cursor"] = cursor
        code, page, _ = await api(jp_fetch, "jobs", **params)
        assert code == 200, page
        assert len(page["jobs"]) <= 2
        assert {j["status"] for j in page["jobs"]} <= {"SUCCEEDED", "FAILED"}
        seen += [j["submission_id"] for j in page["jobs"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen))
    assert [s for s in seen if s in ids] == list(reversed(ids))  # newest first
    code, running, _ = await api(jp_fetch, "jobs", status="RUNNING")
    assert not set(ids) & {j["submission_id"] for j in running["jobs"]}


@pytest.mark.parametrize(
    "params",
    [
        {"status": "DONE"},
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "ten"},
        {"stauts": "RUNNING"},
        {"cursor": "x" * 600},
    ],
)
async def test_list_bad_query_is_400(jp_fetch, params):
    code, body, _ = await api(jp_fetch, "jobs", **params)
    assert code == 400, body
    assert body["message"] and "Traceback" not in body["message"]


# --- refusals: 4xx, a message, and nothing created --------------------------------------------

BAD_SUBMITS: list[tuple[Any, str]] = [
    ("not json", "JSON"),
    ([1, 2], "object"),
    ({}, "entrypoint"),
    ({"entrypoint": "echo", "submission_id": "a/b"}, "submission_id"),
    ({"entrypoint": "echo", "submission_id": "-lead"}, "submission_id"),
    ({"entrypoint": "echo", "owner": "mallory"}, "Unknown field"),
    ({"entrypoint": "echo", "runtime_env": {"container": {"image": "x"}}}, "container"),
    ({"entrypoint": "echo", "runtime_env": {"image_uri": "x"}}, "image_uri"),
    ({"entrypoint": "echo", "runtime_env": {"py_executable": "x"}}, "py_executable"),
    ({"entrypoint": "echo", "runtime_env": {"working_dir": "https://e.com/x.zip"}}, "https"),
    ({"entrypoint": "echo", "runtime_env": {"working_dir": "file:///etc"}}, "file"),
    ({"entrypoint": "echo", "runtime_env": {"working_dir": "gcs://_ray_pkg_x.zip"}}, "gcs"),
    ({"entrypoint": "echo", "runtime_env": {"working_dir": "/etc"}}, "outside"),
    ({"entrypoint": "echo", "runtime_env": {"env_vars": {"A": 1}}}, "env_vars"),
    ({"entrypoint": "echo", "metadata": {"iog.owner": "mallory"}}, "iog."),
    ({"entrypoint": "echo", "entrypoint_num_gpus": -1}, "entrypoint_num_gpus"),
]


async def test_bad_submits_are_400_and_create_nothing(jp_fetch, audit_path):
    before = await total_jobs(jp_fetch)
    for body, hint in BAD_SUBMITS:
        code, reply, _ = await api(jp_fetch, "jobs", method="POST", body=body)
        assert code == 400, (body, reply)
        assert hint.lower() in reply["message"].lower(), (hint, reply["message"])
        assert "Traceback" not in reply["message"] and "site-packages" not in reply["message"]
    assert await total_jobs(jp_fetch) == before
    refused = [r for r in _read_audit(audit_path) if r["action"] == "job.submit"]
    assert len(refused) == len(BAD_SUBMITS)
    assert {r["outcome"] for r in refused} == {"refused"}
    assert all(r["detail"].startswith("400 ") for r in refused)


async def test_duplicate_id_is_409(jp_fetch):
    submission_id = await submit(jp_fetch, "echo once")
    before = await total_jobs(jp_fetch)
    code, reply, _ = await api(
        jp_fetch, "jobs", method="POST", body={"entrypoint": "echo", "submission_id": submission_id}
    )
    assert code == 409, reply
    assert await total_jobs(jp_fetch) == before
    await wait_status(jp_fetch, submission_id, {"SUCCEEDED", "FAILED"})
    await api(jp_fetch, "jobs", submission_id, method="DELETE")


@pytest.mark.parametrize(
    "parts",
    [("jobs", "-bad"), ("jobs", "bad!id"), ("jobs", "x" * 65), ("jobs", "-bad", "logs")],
)
async def test_bad_id_in_path_is_400(jp_fetch, parts):
    code, reply, _ = await api(jp_fetch, *parts)
    assert code == 400, reply
    assert "submission id" in reply["message"]


async def test_bad_id_stop_and_delete_are_400_and_audited(jp_fetch, audit_path):
    code, _, _ = await api(jp_fetch, "jobs", "-bad", "stop", method="POST")
    assert code == 400
    code, _, _ = await api(jp_fetch, "jobs", "-bad", method="DELETE")
    assert code == 400
    code, _, _ = await api(jp_fetch, "jobs", "no-such-job-xyz", "stop", method="POST")
    assert code == 404
    records = [(r["action"], r["outcome"]) for r in _read_audit(audit_path)]
    assert records == [
        ("job.stop", "refused"),
        ("job.delete", "refused"),
        ("job.stop", "refused"),
    ]


async def test_log_page_bad_query_is_400(jp_fetch):
    for params in ({"offset": "-1"}, {"limit_bytes": "0"}, {"limit_bytes": str(2 * 1024**2)}):
        code, reply, _ = await api(jp_fetch, "jobs", "some-job", "logs", **params)
        assert code == 400, (params, reply)


# --- body caps ---------------------------------------------------------------------------------


async def test_json_body_over_cap_is_413(jp_fetch, audit_path):
    before = await total_jobs(jp_fetch)
    body = {"entrypoint": "echo " + "x" * BODY_CAP}
    code, reply, _ = await api(jp_fetch, "jobs", method="POST", body=body)
    assert code == 413, reply
    assert "max_request_body_bytes" in reply["message"]
    assert await total_jobs(jp_fetch) == before
    assert [(r["action"], r["outcome"]) for r in _read_audit(audit_path)] == [
        ("job.submit", "refused")
    ]


async def _raw_chunked_post(port: int, path: str, headers: dict[str, str], total: int) -> bytes:
    """POST ``total`` bytes chunked (no Content-Length); return the status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    chunk = b"\0" * 8192
    sent = 0
    try:
        while sent < total:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            sent += len(chunk)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    except (ConnectionError, OSError):
        pass  # the server answered and closed: read what it said
    line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return line


async def test_chunked_bodies_over_cap_are_413(
    jp_fetch, jp_serverapp, jp_http_port, jp_base_url, jp_auth_header, http_server_client, tmp_path
):
    await total_jobs(jp_fetch)
    base = jp_base_url.rstrip("/") + "/iog/api/v1/"
    line = await _raw_chunked_post(
        jp_http_port, base + "packages", jp_auth_header, 50 * PACKAGE_CAP
    )
    assert b" 413 " in line, line
    line = await _raw_chunked_post(jp_http_port, base + "jobs", jp_auth_header, 50 * BODY_CAP)
    assert b" 413 " in line, line
    uploads = tmp_path / "iog_state" / "uploads"
    assert not uploads.exists() or not list(uploads.iterdir())


# --- packages ------------------------------------------------------------------------------------


async def post_zip(jp_fetch, data: bytes):
    """POST a zip to packages."""
    try:
        reply = await jp_fetch(
            "iog",
            "api",
            "v1",
            "packages",
            method="POST",
            body=data,
            headers={"Content-Type": "application/zip"},
        )
    except HTTPClientError as error:
        reply = error.response
    return reply.code, json.loads(reply.body)


@pytest.mark.parametrize("jobs_backend", ["ray", "local"], indirect=True)
async def test_uploaded_package_is_the_working_dir(jp_fetch, jobs_backend, audit_path):
    marker = uuid.uuid4().hex
    code, reply = await post_zip(
        jp_fetch, make_zip({"data.txt": marker.encode(), "pkg/__init__.py": b""})
    )
    assert code == 201, reply
    assert reply["uri"].startswith("iog-package://")
    submission_id = await submit(
        jp_fetch,
        "python -c \"print('got', open('data.txt').read())\"",
        runtime_env={"working_dir": reply["uri"]},
    )
    job = await wait_status(jp_fetch, submission_id, {"SUCCEEDED", "FAILED"})
    code, page, _ = await api(jp_fetch, "jobs", submission_id, "logs")
    assert job["status"] == "SUCCEEDED", (job, page)
    assert f"got {marker}" in page["text"]
    outcomes = [(r["action"], r["outcome"], r["target"]) for r in _read_audit(audit_path)]
    assert outcomes[0] == ("package.upload", "allowed", reply["uri"])


@pytest.mark.parametrize("jobs_backend", ["local"], indirect=True)
async def test_an_upload_makes_the_change_feed_look_at_once(jp_fetch, jp_serverapp, jobs_backend):
    """An upload is a change made through the server: its base's on_finish wakes the feed."""
    (app,) = jp_serverapp.extension_manager.extension_apps["iog_jupyter"]
    jobs = await app.get_job_service()
    app.changes.interval_s = 3600.0  # only a wake makes the feed look again
    heard = asyncio.Event()
    unsubscribe = app.changes.subscribe(["jobs"], lambda topic: heard.set())
    try:
        await app.changes.baseline(["jobs"])
        await asyncio.sleep(1.0)  # the subscriber's first round is over
        # A job submitted past the HTTP API, which alone wakes nothing.
        body = {"entrypoint": "true", "submission_id": new_id()}
        await asyncio.to_thread(jobs.submit, body)
        await asyncio.sleep(0.5)
        assert not heard.is_set()
        code, reply = await post_zip(jp_fetch, make_zip({"data.txt": b"x"}))
        assert code == 201, reply
        await asyncio.wait_for(heard.wait(), 10.0)
    finally:
        unsubscribe()


BAD_ZIPS: list[tuple[bytes, str]] = [
    (make_zip({"../evil.txt": b"x"}), "../evil.txt"),
    (make_zip({"/etc/evil": b"x"}), "/etc/evil"),
    (make_zip({"ok.txt": b"x", "link": b"/etc/passwd"}, links=("link",)), "link"),
    (make_zip({"bomb.bin": b"\0" * (EXPANDED_CAP + 1)}), "expands"),
    (make_zip({f"f{i}.txt": b"x" for i in range(21)}), "entries"),
    (b"PK\x03\x04 not really a zip", "zip"),
]


async def test_bad_zips_are_400(jp_fetch, audit_path, tmp_path):
    for data, hint in BAD_ZIPS:
        assert len(data) < PACKAGE_CAP
        code, reply = await post_zip(jp_fetch, data)
        assert code == 400, (hint, reply)
        assert hint in reply["message"], (hint, reply["message"])
    code, reply = await post_zip(jp_fetch, b"")
    assert code == 400
    stored = [p for p in (tmp_path / "iog_state" / "packages").iterdir()]
    assert not [p for p in stored if not p.name.startswith(".")]
    outcomes = [(r["action"], r["outcome"]) for r in _read_audit(audit_path)]
    assert outcomes == [("package.upload", "refused")] * (len(BAD_ZIPS) + 1)


async def test_package_over_cap_is_413(jp_fetch, audit_path):
    code, reply = await post_zip(jp_fetch, os.urandom(PACKAGE_CAP + 1))
    assert code == 413, reply
    assert "package_max_bytes" in reply["message"]
    assert [(r["action"], r["outcome"]) for r in _read_audit(audit_path)] == [
        ("package.upload", "refused")
    ]
