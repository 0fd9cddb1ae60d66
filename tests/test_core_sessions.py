"""Sessions in core against the real Ray head: drivers, their actors and tasks, release."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from iog_jupyter.core import _ray_compat
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.errors import NotFoundError, ValidationError
from iog_jupyter.core.sessions.drivers import (
    KernelInfo,
    build_sessions,
    check_session_id,
    list_sessions,
    read_cluster,
    release_session,
)
from tests.fixtures import ray_env
from tests.fixtures import session_driver as driver

pytestmark = pytest.mark.ray


def _wait_for(predicate, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def _session(conn, job_id, kernels=()):
    return next((s for s in list_sessions(conn, kernels) if s.session_id == job_id), None)


@pytest.fixture
def conn(ray_head) -> Iterator[RayConnection]:
    connection = RayConnection()
    yield connection
    connection.close()


def test_two_drivers_are_listed_with_what_they_hold(ray_head, conn):
    with driver(ray_head, "a", "--actors", "2", "--detached") as (pa, job_a):
        with driver(ray_head, "b", "--plain", "--actors", "1", "--task") as (pb, job_b):
            a = _session(conn, job_a)
            b = _wait_for(lambda: (s := _session(conn, job_b)) and s.running_tasks and s)
            assert a is not None and b is not None
            # connect() put its metadata on the job; the plain ray.init() driver has none.
            assert a.owner and a.kind == "script" and a.namespace == "sessions-test"
            assert a.driver_pid == pa.pid and b.driver_pid == pb.pid
            assert b.owner is None and b.kind == "script"
            assert (a.actors, a.detached_actors, a.running_tasks) == (2, 1, 0)
            assert a.resources["CPU"] == pytest.approx(0.2)
            assert (b.actors, b.detached_actors, b.running_tasks) == (1, 0, 1)
            assert b.resources["CPU"] == pytest.approx(0.2)
            assert a.idle_s is None  # not a kernel of a Jupyter server
            assert a.model_dump(mode="json")["resources"]["GPU"] == 0


def test_a_driver_is_attributed_to_a_kernel_by_pid(ray_head, conn):
    with driver(ray_head, "c", "--plain", "--actors", "1") as (proc, job):
        now = int(time.time() * 1000)
        kernel = KernelInfo("k-1", proc.pid, "idle", now - 30_000, 1, "work/c.ipynb")
        other = KernelInfo("k-2", 1, "idle", now, 0, "other.ipynb")
        record = _session(conn, job, [kernel, other])
        assert record is not None
        assert record.kind == "notebook" and record.local_kernel
        assert record.attributed_by == ["pid"]
        assert (record.kernel_id, record.notebook_path) == ("k-1", "work/c.ipynb")
        assert 29 <= record.idle_s < 60
        busy = KernelInfo("k-1", proc.pid, "busy", now - 30_000)
        assert _session(conn, job, [busy]).idle_s == 0


def _live_tasks(conn, job_hex):
    job = bytes.fromhex(job_hex)
    return [t for t in _ray_compat.live_tasks(conn.address, 5) if bytes(t.job_id) == job]


def test_release_kills_one_sessions_non_detached_actors_and_cancels_its_tasks(ray_head, conn):
    with driver(ray_head, "d", "--actors", "2", "--detached", "--task", "--queued") as (_, job_d):
        with driver(ray_head, "e", "--actors", "1") as (_, job_e):
            _wait_for(lambda: _session(conn, job_d).running_tasks)
            assert _wait_for(lambda: len(_live_tasks(conn, job_d)) == 2)  # running + queued
            # Only GPU holders: these hold CPU, so nothing is released.
            none = release_session(conn, job_d, resources=["GPU"])
            assert none.killed_actors == [] and none.cancelled_tasks == 0
            assert none.kept_other_actors == 2 and none.kept_detached_actors == 1
            result = release_session(conn, job_d)
            assert len(result.killed_actors) == 2 and result.kept_detached_actors == 1
            # The running task and the queued one (it would take its resources later).
            assert result.cancelled_tasks == 2 and result.errors == []
            assert _wait_for(lambda: _live_tasks(conn, job_d) == [])
            d = _wait_for(lambda: (s := _session(conn, job_d)) and not s.running_tasks and s)
            e = _session(conn, job_e)
            assert (d.actors, d.detached_actors, d.running_tasks) == (0, 1, 0)
            assert e.actors == 1
            keeper = _ray_compat.named_actor(conn.address, "keep-d", "sessions-test", 5)
            assert _ray_compat.actor_state_name(keeper) == "ALIVE"
            _ray_compat.kill_actor(conn.address, keeper.actor_id, 5)


def test_release_refuses_bad_and_unknown_ids(ray_head, conn):
    for bad in ("", "zz", "01000000x", "../01000000", "0100000g"):
        with pytest.raises(ValidationError):
            release_session(conn, bad)
    with pytest.raises(NotFoundError):
        release_session(conn, "7fffff00")
    assert check_session_id("0A000000") == "0a000000"


def test_build_sessions_ignores_actors_and_tasks_of_other_jobs(ray_head, conn):
    with driver(ray_head, "f", "--actors", "1") as (_, job):
        drivers, actors, tasks = read_cluster(conn)
        mine = [d for d in drivers if d.job_id.hex() == job]
        sessions = build_sessions(mine, actors, tasks)
        assert [s.session_id for s in sessions] == [job]
        assert sessions[0].actors == 1


QUIET_PROBE = """
import iog_jupyter.core.sessions.connect as driver
from ray._private.ray_logging import global_worker_stdstream_dispatcher as dispatcher
info = driver.connect(namespace="sessions-test")
again = driver.connect()
assert again.job_id == info.job_id
noisy = "Error: No available node types can fulfill resource request {'GPU': 8.0}. Add suitable"
for _ in range(3):
    dispatcher.emit({"pid": "autoscaler", "ip": "x", "is_err": False, "lines": [noisy]})
dispatcher.emit({"pid": "autoscaler", "ip": "x", "is_err": False, "lines": ["Resized to 2 CPUs."]})
print("metadata", sorted(k for k in driver.driver_metadata()))
"""


def test_connect_is_idempotent_and_says_an_infeasible_request_once(ray_head):
    env = ray_env(ray_head, RAY_SCHEDULER_EVENTS="1")
    proc = subprocess.run(
        [sys.executable, "-c", QUIET_PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    both = proc.stdout + proc.stderr
    assert both.count("Ray cannot place a request for {'GPU': 8.0}") == 1
    assert "No available node types" not in both
    assert "metadata ['iog_client', 'iog_kind', 'iog_user']" in proc.stdout


def test_asking_whether_this_is_a_kernel_imports_no_kernel():
    """Outside a kernel, ``in_kernel()`` says no without importing ipykernel's kernel, whose
    import re-points ``comm`` so that widgets made before it could not be closed."""
    code = (
        "import sys, comm, ipykernel, ipywidgets\n"
        "from iog_jupyter.core.sessions.connect import in_kernel, kernel_id\n"
        "w = ipywidgets.HTML('x')\n"
        "before = comm.get_comm_manager\n"
        "assert in_kernel() is False and kernel_id() is None\n"
        "assert 'ipykernel.kernelapp' not in sys.modules and comm.get_comm_manager is before\n"
        "w.close()\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
