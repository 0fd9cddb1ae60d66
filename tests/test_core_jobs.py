"""Both jobs backends against the real Ray head: one contract, one suite."""

from __future__ import annotations

import shlex
import sys
import time

import pytest

from iog_jupyter.core import _ray_compat
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.errors import (
    ConflictError,
    NotFoundError,
    RayUnavailableError,
    ValidationError,
)
from iog_jupyter.core.jobs import (
    LocalProcessBackend,
    RayJobsBackend,
    select_backend,
    validate_submission,
)

pytestmark = pytest.mark.ray

# Prints a 2-byte and a 4-byte character so 7-byte pages split them.
SCRIPT = "python -c \"print('h\\u00e9llo ' * 3); print('\\U0001F600 done')\"; echo \"x=$SECRET\""


@pytest.fixture(scope="module")
def conn(ray_head):
    connection = RayConnection()
    yield connection
    connection.close()


@pytest.fixture(scope="module", params=["ray", "local"])
def backend(request, conn, tmp_path_factory):
    if request.param == "ray":
        b = RayJobsBackend(conn, settle_s=4.0)
    else:
        b = LocalProcessBackend(str(tmp_path_factory.mktemp("jobs")), conn, stop_grace_s=2)
    yield b
    b.close()


def _submit(backend, entrypoint, sid=None, **extra):
    body = {"entrypoint": entrypoint, **extra}
    if sid:
        body["submission_id"] = sid
    return backend.submit(validate_submission(body, "alice", ["/tmp"], None))


def _wait(backend, sid, statuses, timeout_s=60.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        job = backend.get(sid)
        if job.status in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"{sid} still {job.status}")


@pytest.fixture(scope="module")
def finished(backend):
    sid = f"done-{backend.name}-{int(time.time())}"
    _submit(backend, SCRIPT, sid, runtime_env={"env_vars": {"SECRET": "hunter2"}})
    return _wait(backend, sid, {"SUCCEEDED", "FAILED"})


def test_lifecycle_record(backend, finished):
    assert finished.status == "SUCCEEDED", finished.message
    assert finished.exit_code == 0
    assert finished.owner == "alice" and finished.backend == backend.name
    data = finished.model_dump(mode="json")
    assert "hunter2" not in repr(data)
    assert data["runtime_env"]["env_vars"] == {"SECRET": "<redacted>"}
    assert data["end_time"].endswith("Z")


def test_logs_in_small_pages_reassemble(backend, finished):
    whole = backend.read_logs(finished.submission_id)
    assert whole.eof and "done" in whole.text and "x=hunter2" in whole.text
    texts, offset = [], 0
    for _ in range(10_000):
        page = backend.read_logs(finished.submission_id, offset=offset, limit_bytes=7)
        assert page.offset == offset and page.next_offset - offset <= 7
        texts.append(page.text)
        offset = page.next_offset
        if page.eof:
            break
    assert "".join(texts) == whole.text
    assert "\ufffd" not in "".join(texts)
    assert offset == len(whole.text.encode())
    with pytest.raises(ValidationError):
        backend.read_logs(finished.submission_id, offset=-1)


def test_duplicate_and_unknown_ids(backend, finished):
    with pytest.raises(ConflictError):
        _submit(backend, "true", finished.submission_id)
    for call in (backend.get, backend.stop, backend.delete, backend.read_logs):
        with pytest.raises(NotFoundError):
            call("no-such-job-xyz")


def test_running_stop_delete(backend, finished):
    sid = f"sleep-{backend.name}-{int(time.time())}"
    _submit(backend, "sleep 30", sid)
    _wait(backend, sid, {"RUNNING"})
    page = backend.list(statuses=frozenset({"RUNNING"}))
    assert [j.submission_id for j in page.jobs] == [sid]
    # Newest first, one per page, the cursor walks the whole list without repeats.
    seen, cursor = [], None
    while True:
        page = backend.list(limit=1, cursor=cursor)
        seen += [j.submission_id for j in page.jobs]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen[0] == sid and finished.submission_id in seen and len(seen) == len(set(seen))
    with pytest.raises(ConflictError, match="stop it"):
        backend.delete(sid)
    assert backend.stop(sid) is True
    job = _wait(backend, sid, {"STOPPED", "FAILED"}, timeout_s=30)
    assert backend.stop(sid) is False
    # Deleted right after it stopped: Ray 2.60 may write it back ~1.5 s later; it must stay gone.
    backend.delete(sid)
    time.sleep(4)
    with pytest.raises(NotFoundError):
        backend.get(sid)
    assert sid not in [j.submission_id for j in backend.list(limit=500).jobs]
    assert job.end_time_ms


def test_runtime_env_the_local_backend_cannot_honour(backend):
    if backend.name != "local":
        pytest.skip("the Ray backend installs pip packages itself")
    with pytest.raises(ValidationError) as refused:
        _submit(backend, "true", runtime_env={"pip": ["numpy"]})
    assert str(refused.value) == (
        "runtime_env.pip is not supported by the local backend (Ray's Jobs API is off on this "
        "cluster); only env_vars, working_dir and excludes are."
    )


def test_pending_reason_names_the_missing_gpu(conn):
    backend = RayJobsBackend(conn)
    sid = f"gpu-{int(time.time())}"
    # The test head has 2 logical GPUs: 3 can never be placed.
    _submit(backend, "python -c 'print(1)'", sid, entrypoint_num_gpus=3)
    job = backend.get(sid)
    assert job.status == "PENDING"
    assert job.pending_reason.startswith("infeasible") and "GPU" in job.pending_reason
    assert backend.stop(sid) is True
    # Ray's own stop_job never reaches an unplaced supervisor (the job would stay PENDING for
    # Ray's 15-minute start timeout); iog's stop ends it now, and its supervisor actor too.
    stopped = _wait(backend, sid, {"STOPPED", "FAILED"}, timeout_s=15)
    assert stopped.status == "STOPPED" and "before it started" in stopped.message
    assert backend.stop(sid) is False
    time.sleep(2)  # Ray's job monitor has looked at it again: it stays STOPPED
    assert backend.get(sid).status == "STOPPED"
    from ray.dashboard.modules.job.common import JOB_ACTOR_NAME_TEMPLATE

    name = JOB_ACTOR_NAME_TEMPLATE.format(job_id=sid)
    assert _ray_compat.named_actor(conn.address, name, "SUPERVISOR_ACTOR_RAY_NAMESPACE", 5) is None
    backend.delete(sid)


def test_deleted_jobs_stay_deleted_for_another_server(conn):
    first = RayJobsBackend(conn, settle_s=0.0)
    sid = f"tomb-{int(time.time())}"
    _submit(first, "true", sid)
    _wait(first, sid, {"SUCCEEDED", "FAILED"})
    first.delete(sid)
    # A second server (or this one after a restart) reads the tombstone from Ray's KV store.
    second = RayJobsBackend(conn)
    with pytest.raises(NotFoundError):
        second.get(sid)
    assert sid not in [j.submission_id for j in second.list(limit=500).jobs]
    # Submitting the id again lifts the tombstone, for every server.
    _submit(second, "true", sid)
    assert RayJobsBackend(conn).get(sid).submission_id == sid


def test_local_jobs_survive_a_server_restart(conn, tmp_path):
    first = LocalProcessBackend(str(tmp_path), conn)
    _submit(first, "sleep 2; echo done", "survivor")
    first.close()
    second = LocalProcessBackend(str(tmp_path), conn)
    job = _wait(second, "survivor", {"SUCCEEDED", "FAILED"})
    assert job.status == "SUCCEEDED" and job.exit_code == 0
    assert "done" in second.read_logs("survivor").text
    second.close()


def test_select_backend(conn, tmp_path):
    assert select_backend(conn, "auto", state_dir=str(tmp_path)).name == "ray"
    assert select_backend(conn, "local", state_dir=str(tmp_path)).name == "local"
    # A running Ray whose job API does not answer (switched off): the local backend.
    no_jobs_api = RayConnection(address=conn.address, dashboard_url="http://127.0.0.1:9")
    assert select_backend(no_jobs_api, "auto", state_dir=str(tmp_path)).name == "local"
    no_jobs_api.close()
    # Ray down: nothing is chosen from the failure, and the error says how to run without Ray.
    closed = RayConnection(address="127.0.0.1:9", dashboard_url="http://127.0.0.1:9")
    with pytest.raises(RayUnavailableError, match="jobs_backend='local'"):
        select_backend(closed, "auto", state_dir=str(tmp_path))
    assert select_backend(closed, "local", state_dir=str(tmp_path)).name == "local"
    with pytest.raises(ValidationError):
        select_backend(conn, "other")


# -- runtime_env excludes: both backends leave the same files out of a job's working_dir --------

LIST_CWD = "python -c \"import os; print('cwd:', sorted(os.listdir('.')))\""


def test_excludes_leave_files_out_of_the_working_dir(backend, tmp_path):
    work = tmp_path / "work"
    for path in ("data/big.bin", "keep.py", "logs/x.log"):
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(path)
    sid = f"excl-{backend.name}-{int(time.time())}"
    excludes = ["data/", "*.log"]
    _submit(backend, LIST_CWD, sid, runtime_env={"working_dir": str(work), "excludes": excludes})
    job = _wait(backend, sid, {"SUCCEEDED", "FAILED"})
    assert job.status == "SUCCEEDED", job.message
    assert "cwd: ['keep.py']" in backend.read_logs(sid).text
    assert job.runtime_env["excludes"] == excludes


def test_excludes_shrink_a_working_dir_under_the_size_cap(backend, tmp_path):
    if backend.name != "local":
        pytest.skip("the cap on a copied working_dir is the local backend's")
    for i in range(20_001):
        (tmp_path / f"{i}.part").touch()
    (tmp_path / "keep.py").touch()
    env = {"working_dir": str(tmp_path)}
    with pytest.raises(ValidationError, match="too large.*runtime_env.excludes"):
        _submit(backend, "true", runtime_env=env)
    sid = _submit(backend, LIST_CWD, runtime_env={**env, "excludes": ["*.part"]})
    assert _wait(backend, sid, {"SUCCEEDED", "FAILED"}).status == "SUCCEEDED"
    assert "cwd: ['keep.py']" in backend.read_logs(sid).text


def test_bad_excludes_are_refused(backend, tmp_path):
    env = {"working_dir": str(tmp_path)}
    with pytest.raises(ValidationError, match="excludes must be a list of strings"):
        _submit(backend, "true", runtime_env={**env, "excludes": "*.log"})
    for bad in (["!"], ["\\"], ["[z-a]"]):  # Ray's own matcher raises IndexError / re.error
        with pytest.raises(ValidationError, match="excludes has a pattern that is not valid"):
            _submit(backend, "true", runtime_env={**env, "excludes": bad})


#: A job's own Ray driver (plain ``ray.init``: no iog code in the job).
DRIVER = f"{shlex.quote(sys.executable)} -c " + shlex.quote(
    "import ray, time; ray.init(); print('driver', 'up', flush=True); time.sleep(60)"
)


def test_a_jobs_ray_driver_is_that_jobs_session_on_both_backends(backend, conn):
    from iog_jupyter.core.sessions.drivers import list_sessions

    sid = f"driver-{backend.name}-{int(time.time())}"
    _submit(backend, DRIVER, sid, metadata={"name": "nightly <b>"})
    try:
        end = time.monotonic() + 90
        while "driver up" not in backend.read_logs(sid).text and time.monotonic() < end:
            time.sleep(0.3)
        mine = [s for s in list_sessions(conn) if s.submission_id == sid]
        # The session is the job's, owned by who submitted it (not the server's OS user).
        label = f"job nightly <b> ({sid})"  # its name: widgets and the Lab escape it
        assert [(s.kind, s.owner, s.label) for s in mine] == [("job", "alice", label)], (
            backend.read_logs(sid).text[-3000:],
            [(s.kind, s.submission_id, s.owner) for s in list_sessions(conn)],
        )
    finally:
        backend.stop(sid)
        _wait(backend, sid, {"STOPPED", "FAILED"}, timeout_s=30)
