"""Logical GPUs through every view: the test head advertises 2 (``ray start --num-gpus=2``).

Cluster totals and per-node resources, a job that holds one GPU (REST, job record, widget),
a job asking for more GPUs than exist (PENDING, with why), sessions holding GPUs (REST, widget),
and the idle policy releasing a notebook's GPU holders only.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from iog_jupyter.core.cluster import get_cluster_snapshot
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.widgets import ClusterWidget
from iog_jupyter.widgets.figures import HISTORY_LINES, RESOURCE_PANELS
from iog_jupyter.widgets.refresher import SharedRefresher
from iog_jupyter.widgets.sessions import RaySessions, SessionsWidget
from iog_jupyter.widgets.tables import totals_summary
from tests.fixtures import REPO, api, ray_env

# The sessions tests' server fixtures: the same server, idle policy set per test.
from tests.test_handlers_sessions import (  # noqa: F401 - pytest fixtures
    idle_policy,
    jp_server_config,
    run,
    start_notebook,
)

pytestmark = pytest.mark.ray

JOB_NODE = REPO / "tests" / "drivers" / "job_node.py"
#: What the session fixture's head advertises.
HEAD_GPUS = 2.0
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
GPU_DRIVER = """
import sys, ray, iog_jupyter.core.sessions.connect as d
d.connect(namespace="gpu-test", log_to_driver=False)
@ray.remote(num_gpus=1, num_cpus=0)
class GpuHolder:
    def gpu_ids(self):
        return ray.get_gpu_ids()
holder = GpuHolder.remote()
print("READY", ray.get_runtime_context().get_job_id(), ray.get(holder.gpu_ids.remote()), flush=True)
sys.stdin.readline()
"""
NOTEBOOK_HOLD = """
import ray, iog_jupyter.core.sessions.connect as d
info = d.connect(log_to_driver=False)
@ray.remote
class Holder:
    def ping(self):
        return "pong"
gpu = Holder.options(num_gpus=1, num_cpus=0).remote()
cpu = Holder.options(num_cpus=0.1).remote()
print("pings", ray.get([gpu.ping.remote(), cpu.ping.remote()]))
"""
GPU_POLICY = {
    "idle_warn_after_s": 2.0,
    "idle_release_after_s": 5.0,
    "idle_release_resources": ["GPU"],
    "idle_check_interval_s": 0.5,
}


async def until(fetch: Any, predicate: Any, timeout_s: float, what: str) -> Any:
    """Await ``fetch()`` until ``predicate`` holds for its value; return that value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await fetch()
        if predicate(value):
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s; last {value}"
        await asyncio.sleep(0.3)


def _cluster(jp_fetch):
    async def fetch() -> dict:
        status, data = await api(jp_fetch, "cluster")
        assert status == 200, data
        return data

    return fetch


def _job(jp_fetch, submission_id: str):
    async def fetch() -> dict:
        status, data = await api(jp_fetch, "jobs", submission_id)
        assert status == 200, data
        return data

    return fetch


def _head(data: dict) -> dict:
    return next(n for n in data["nodes"] if n["is_head"] and n["state"] != "DEAD")


async def _submit(jp_fetch, entrypoint: str, **fields: Any) -> str:
    sid = f"gpu-{uuid.uuid4().hex[:10]}"
    body = {"entrypoint": entrypoint, "submission_id": sid, **fields}
    status, data = await api(jp_fetch, "jobs", method="POST", body=body)
    assert status == 201, data
    return sid


async def _stop_and_delete(jp_fetch, submission_id: str) -> None:
    status, data = await api(jp_fetch, "jobs", submission_id, "stop", method="POST")
    assert status == 200, data
    await until(_job(jp_fetch, submission_id), lambda j: j["status"] in TERMINAL, 60, "stopped")
    status, data = await api(jp_fetch, "jobs", submission_id, method="DELETE")
    assert status in (200, 204), data


async def test_cluster_counts_the_heads_logical_gpus(jp_fetch):
    # Other tests may still be giving GPUs back: wait until both are free.
    data = await until(
        _cluster(jp_fetch), lambda d: d["available"]["GPU"] == HEAD_GPUS, 30, "2 free GPUs"
    )
    assert data["totals"]["GPU"] == HEAD_GPUS
    head = _head(data)
    assert head["resources_total"]["GPU"] == HEAD_GPUS
    assert head["resources_available"]["GPU"] == HEAD_GPUS
    alive = [n for n in data["nodes"] if n["state"] != "DEAD"]
    assert sum(n["resources_total"]["GPU"] for n in alive) == data["totals"]["GPU"]
    pool = next(p for p in data["pools"] if p["name"] == head["pool"])
    assert pool["totals"]["GPU"] == HEAD_GPUS
    # Core, which kernels use without the server, says the same.
    conn = RayConnection()
    try:
        snap = await asyncio.to_thread(get_cluster_snapshot, conn)
    finally:
        conn.close()
    assert snap.totals["GPU"] == HEAD_GPUS
    assert [n.resources_total["GPU"] for n in snap.nodes if n.is_head] == [HEAD_GPUS]
    assert totals_summary(snap)["GPU"] == "0 / 2"


async def test_a_job_holding_a_gpu_shows_in_the_cluster_the_job_and_the_widget(jp_fetch):
    await until(_cluster(jp_fetch), lambda d: d["available"]["GPU"] == HEAD_GPUS, 30, "free GPUs")
    sid = await _submit(jp_fetch, f"{sys.executable} {JOB_NODE} 600", entrypoint_num_gpus=1)
    widget = ClusterWidget(refresh_interval_s=0.5, refresher=SharedRefresher())
    try:
        job = await until(
            _job(jp_fetch, sid), lambda j: j["status"] != "PENDING", 120, "the GPU job starts"
        )
        assert job["status"] == "RUNNING", job
        assert job["entrypoint_num_gpus"] == 1
        data = await until(
            _cluster(jp_fetch), lambda d: d["available"]["GPU"] == 1.0, 30, "one GPU held"
        )
        assert data["totals"]["GPU"] == HEAD_GPUS
        assert _head(data)["resources_available"]["GPU"] == 1.0
        # Ray gave the entrypoint exactly one of the two GPUs.
        logs = await until(
            lambda: api(jp_fetch, "jobs", sid, "logs"),
            lambda r: "CUDA_VISIBLE_DEVICES=" in r[1]["text"],
            30,
            "the job's output",
        )
        visible = logs[1]["text"].split("CUDA_VISIBLE_DEVICES=")[1].split()[0]
        assert visible in ("0", "1"), logs[1]["text"]

        # The widget (core, no server) shows the held GPU in its header, bars and history.
        def widget_shows_one() -> bool:
            snap = widget.snapshot
            return snap is not None and snap.available.get("GPU") == 1.0

        await until(
            lambda: asyncio.to_thread(widget_shows_one), bool, 30, "the widget sees the GPU job"
        )
        assert "<b>GPU</b> 1 / 2" in widget.header.get_state()["value"]
        # The figure's GPU panel: the head's bar is 1 used + 1 free; the GPU history line 50 %.
        panel = [p[0] for p in RESOURCE_PANELS].index("GPU")
        used, free = widget.figure.data[2 * panel], widget.figure.data[2 * panel + 1]
        head_bar = next(i for i, label in enumerate(used.x[1]) if label.endswith("(head)"))
        assert (used.y[head_bar], free.y[head_bar]) == (1.0, 1.0)
        line = widget.figure.data[
            2 * len(RESOURCE_PANELS) + [h[0] for h in HISTORY_LINES].index("GPU")
        ]
        assert line.name == "GPU used %" and line.y[-1] == 50.0
    finally:
        widget.close()
        await _stop_and_delete(jp_fetch, sid)
    await until(_cluster(jp_fetch), lambda d: d["available"]["GPU"] == HEAD_GPUS, 30, "GPU back")


async def test_a_job_asking_for_more_gpus_than_exist_stays_pending_and_says_why(jp_fetch):
    sid = await _submit(jp_fetch, "python -c 'print(1)'", entrypoint_num_gpus=3)
    try:
        job = await until(
            _job(jp_fetch, sid), lambda j: j.get("pending_reason"), 30, "a pending reason"
        )
        assert job["status"] == "PENDING"
        assert job["pending_reason"].startswith("infeasible"), job["pending_reason"]
        assert "3 GPU" in job["pending_reason"], job["pending_reason"]
        # Ray's own demand for it is in the cluster view as infeasible, with the same words.
        data = await until(
            _cluster(jp_fetch),
            lambda d: any(x["bundle"].get("GPU") == 3.0 for x in d["infeasible_demands"]),
            30,
            "the infeasible demand",
        )
        demand = next(x for x in data["infeasible_demands"] if x["bundle"].get("GPU") == 3.0)
        assert demand["infeasible"] and "infeasible" in demand["reason"]
        assert "GPU" in demand["reason"]
        assert not any(x["bundle"].get("GPU") == 3.0 for x in data["pending_demands"])
        await asyncio.sleep(2)
        assert (await _job(jp_fetch, sid)())["status"] == "PENDING"
    finally:
        await _stop_and_delete(jp_fetch, sid)


@pytest.fixture
def gpu_driver(ray_head) -> Iterator[tuple[str, str]]:
    """A script driver holding one actor with ``num_gpus=1``; yields its job id and GPU ids."""
    proc = subprocess.Popen(
        [sys.executable, "-c", GPU_DRIVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=ray_env(ray_head),
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("READY "), f"the GPU driver did not start: {line!r}"
        _, job_id, gpu_ids = line.split(" ", 2)
        yield job_id, gpu_ids.strip()
    finally:
        proc.kill()
        proc.wait(timeout=30)


async def test_a_session_holding_a_gpu_shows_it_in_rest_and_the_widget(jp_fetch, gpu_driver):
    job_id, gpu_ids = gpu_driver
    assert gpu_ids in ("[0]", "[1]")  # Ray handed the actor one logical GPU

    async def sessions() -> dict:
        status, body = await api(jp_fetch, "sessions")
        assert status == 200, body
        return {s["session_id"]: s for s in body["sessions"]}

    found = await until(
        sessions,
        lambda s: job_id in s and s[job_id]["resources"]["GPU"] == 1.0,
        30,
        "the GPU held by the session",
    )
    record = found[job_id]
    assert record["kind"] == "script" and record["actors"] == 1
    assert record["resources"]["CPU"] == 0.0
    data = await until(_cluster(jp_fetch), lambda d: d["available"]["GPU"] == 1.0, 30, "1 free")
    assert data["totals"]["GPU"] == HEAD_GPUS

    widget = SessionsWidget(source=RaySessions(), autostart=False)
    try:
        await asyncio.to_thread(widget.refresh)
        row = next(s for s in widget.page if s["session_id"] == job_id)
        assert row["resources"]["GPU"] == 1.0
        assert "GPU 1" in widget.table.get_state()["value"]
    finally:
        widget.close()


@pytest.mark.parametrize("idle_policy", [GPU_POLICY], indirect=True)
async def test_the_idle_policy_releases_a_notebooks_gpu_holders_only(jp_fetch, jp_serverapp):
    kernel = await start_notebook(jp_fetch, "gpu.ipynb")
    assert "pings ['pong', 'pong']" in await run(jp_serverapp, kernel, NOTEBOOK_HOLD)

    async def mine() -> dict:
        status, body = await api(jp_fetch, "sessions")
        assert status == 200, body
        return next(s for s in body["sessions"] if s["kernel_id"] == kernel)

    record = await until(mine, lambda s: s["actors"] == 2, 30, "both actors")
    assert record["resources"]["GPU"] == 1.0
    await until(mine, lambda s: s["policy"]["state"] == "released", 60, "the idle release")
    # The GPU holder is gone (Ray records the kill a moment later); the CPU actor was left alone.
    released = await until(mine, lambda s: s["actors"] <= 1, 15, "Ray to record the kill")
    assert released["actors"] == 1, released
    assert released["resources"]["GPU"] == 0.0
    assert released["resources"]["CPU"] == pytest.approx(0.1)
    await until(_cluster(jp_fetch), lambda d: d["available"]["GPU"] == HEAD_GPUS, 30, "GPU back")
    assert "cpu pong" in await run(
        jp_serverapp, kernel, "print('cpu', ray.get(cpu.ping.remote(), timeout=30))"
    )
