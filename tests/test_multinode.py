"""Two worker nodes joined to a real head: per-node views, a pool spanning nodes, pool jobs, and a
worker killed with SIGKILL reaching the websocket feed (slow).

The workers join once for the module: each is one more raylet on this machine (a stand-in for a
worker machine), both in pool ``batch`` through the custom resource ``pool:batch``. They join a
multi-node head of this module's own, not the session's: measured on Ray 2.40, once a job's
supervisor has run on a worker node that then left, later job supervisors on that head can fail
to load their class ("Expected str or bytes, got <class 'NoneType'>"), which would fail jobs of
every later test module.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from iog_jupyter.core import _ray_compat
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.local_head import (
    LocalHead,
    processes_under,
    start_head,
    stop_head,
    stop_processes,
)
from tests.fixtures import api, head_traits, server_config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from harness import processes_of_node, start_worker_node  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.slow]

POOL = "batch"
JOB_NODE = Path(__file__).parent / "drivers" / "job_node.py"
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
#: This module's refresh interval (its jp_server_config).
REFRESH_INTERVAL_S = 0.5


@dataclass
class Worker:
    """One joined worker node: its node id and the processes its ``ray start`` added."""

    node_id: str
    pids: list[int] = field(default_factory=list)


class NodeTable:
    """Ray's own GCS node table, read the way ``ray.init`` reads it (not through iog)."""

    def __init__(self, address: str) -> None:
        conn = RayConnection()
        conn.prepare_ray_client()  # Ray's clients pick up the token from here
        conn.close()
        _ray_compat.import_ray()
        from ray._raylet import GcsClient
        from ray.core.generated.gcs_pb2 import GcsNodeInfo

        self._client = GcsClient(address=address)
        self._alive = GcsNodeInfo.GcsNodeState.ALIVE

    def alive(self) -> dict[str, bool]:
        """Every node id the GCS knows, with whether it is ALIVE."""
        infos = self._client.get_all_node_info(timeout=10)
        return {info.node_id.hex(): info.state == self._alive for info in infos.values()}


def _descendants(pids: list[int]) -> list[int]:
    """``pids`` and every process below them now (a raylet's workers, a job's entrypoint)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        children.setdefault(int(stat.rpartition(")")[2].split()[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo.extend(children.get(pid, []))
    return found


def _wait(predicate: Any, timeout_s: float, what: str, step_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(step_s)


def _join(head: LocalHead, table: NodeTable) -> Worker:
    known = set(table.alive())
    before = set(processes_under(head.temp_dir))
    start_worker_node(head, 1, json.dumps({f"pool:{POOL}": 1}), None)
    new = _wait(
        lambda: [n for n, alive in table.alive().items() if alive and n not in known],
        30,
        "the worker registers",
    )
    assert len(new) == 1, new
    pids = sorted(set(processes_under(head.temp_dir)) - before)
    # This node's raylet is among what its `ray start` added.
    raylets = processes_of_node(head.temp_dir, new[0])
    assert raylets and set(raylets) <= set(pids), (raylets, pids)
    return Worker(new[0], pids)


@pytest.fixture(scope="module")
def cluster_head(ray_head: LocalHead) -> Iterator[LocalHead]:
    """This module's multi-node head: 2 CPUs, 2 logical GPUs, the session head's token.

    Ray's clients hold one token per process, so it shares the session head's.
    """
    temp_dir = tempfile.mkdtemp(prefix="iogm", dir="/tmp")
    head = start_head(temp_dir, ray_head.token_path, num_cpus=2, num_gpus=2, single_node=False)
    try:
        yield head
    finally:
        stop_head(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture
def jp_server_config(cluster_head: LocalHead) -> dict:
    """Point this module's Jupyter servers at the module's head; poll every 0.5 s."""
    return server_config(refresh_interval_s=REFRESH_INTERVAL_S, **head_traits(cluster_head))


@pytest.fixture(scope="module")
def node_table(cluster_head: LocalHead) -> NodeTable:
    """Ray's GCS node table of the module's head."""
    return NodeTable(cluster_head.address)


@pytest.fixture(scope="module")
def workers(cluster_head: LocalHead, node_table: NodeTable) -> Iterator[list[Worker]]:
    """Two workers in pool ``batch`` (1 CPU each), joined once for the module, stopped after."""
    joined: list[Worker] = []
    try:
        for _ in range(2):
            joined.append(_join(cluster_head, node_table))
        yield joined
    finally:
        for worker in joined:
            stop_processes(_descendants(worker.pids))
        ids = {w.node_id for w in joined}
        _wait(
            lambda: not any(alive for n, alive in node_table.alive().items() if n in ids),
            60,
            "the workers leave",
        )


async def _cluster_with(jp_fetch, node_ids: set[str], timeout_s: float = 20) -> dict:
    """``GET cluster`` once every node of ``node_ids`` is in it and not DEAD."""
    deadline = time.monotonic() + timeout_s
    while True:
        status, data = await api(jp_fetch, "cluster")
        assert status == 200, data
        alive = {n["node_id"] for n in data["nodes"] if n["state"] != "DEAD"}
        if node_ids <= alive:
            return data
        assert time.monotonic() < deadline, f"nodes {node_ids - alive} not in GET cluster"
        await asyncio.sleep(0.3)


async def _job(jp_fetch, submission_id: str, until: set[str], timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        status, job = await api(jp_fetch, "jobs", submission_id)
        assert status == 200, job
        if job["status"] in until:
            return job
        assert time.monotonic() < deadline, f"job {submission_id} still {job['status']}"
        await asyncio.sleep(0.3)


async def _job_node(jp_fetch, submission_id: str, timeout_s: float = 60) -> str:
    """The node id the job's entrypoint printed (tests/drivers/job_node.py)."""
    deadline = time.monotonic() + timeout_s
    while True:
        status, page = await api(jp_fetch, "jobs", submission_id, "logs")
        assert status == 200, page
        for line in page["text"].splitlines():
            if line.startswith("NODE "):
                return line.split()[1]
        assert time.monotonic() < deadline, f"job {submission_id} printed no node: {page}"
        await asyncio.sleep(0.3)


async def _submit_to_pool(jp_fetch, submission_id: str, sleep_s: float) -> None:
    body = {
        "entrypoint": f"{sys.executable} {JOB_NODE} {sleep_s:g}",
        "submission_id": submission_id,
        "pool": POOL,
    }
    status, data = await api(jp_fetch, "jobs", method="POST", body=body)
    assert status == 201, data


async def _forget(jp_fetch, submission_id: str) -> None:
    """Stop the job if it still runs, then delete it (the head is shared by the whole run)."""
    status, data = await api(jp_fetch, "jobs", submission_id, "stop", method="POST")
    assert status == 200, data
    await _job(jp_fetch, submission_id, TERMINAL, timeout_s=60)
    status, data = await api(jp_fetch, "jobs", submission_id, method="DELETE")
    assert status in (200, 204), data


def _ray_job_client(head: LocalHead) -> Any:
    conn = RayConnection()
    try:
        return _ray_compat.job_client(head.dashboard_url, conn.auth_headers())
    finally:
        conn.close()


async def test_each_node_is_listed_with_its_own_resources_and_the_pool_spans_both_workers(
    jp_fetch, workers
):
    worker_ids = {w.node_id for w in workers}
    data = await _cluster_with(jp_fetch, worker_ids)
    alive = [n for n in data["nodes"] if n["state"] != "DEAD"]
    by_id = {n["node_id"]: n for n in alive}
    heads = [n for n in alive if n["is_head"]]
    assert len(heads) == 1 and heads[0]["node_id"] not in worker_ids
    assert data["nodes"][0]["is_head"]  # the head comes first
    head = heads[0]
    assert head["resources_total"]["CPU"] == 2.0 and head["resources_total"]["GPU"] == 2.0
    assert head["pool"] == "default" and "pool:batch" not in head["resources_total"]
    for node_id in worker_ids:
        node = by_id[node_id]
        assert not node["is_head"] and node["pool"] == POOL
        assert node["resources_total"]["CPU"] == 1.0
        assert node["resources_total"]["pool:batch"] == 1.0
        for name, total in node["resources_total"].items():
            assert 0.0 <= node["resources_available"][name] <= total, name
    # The cluster's totals are the sum of its live nodes'.
    for name in ("CPU", "GPU", "memory", "pool:batch"):
        assert data["totals"][name] == pytest.approx(
            sum(n["resources_total"].get(name, 0.0) for n in alive)
        ), name
    # One pool, two nodes: its totals add up both workers.
    pools = {p["name"]: p for p in data["pools"]}
    batch = pools[POOL]
    assert batch["num_nodes"] == 2 and set(batch["node_ids"]) == worker_ids
    assert batch["totals"]["CPU"] == 2.0 and batch["totals"]["pool:batch"] == 2.0
    assert pools[head["pool"]]["node_ids"] == [head["node_id"]]


async def test_a_job_for_a_pool_runs_on_a_node_of_that_pool(jp_fetch, cluster_head, workers):
    worker_ids = {w.node_id for w in workers}
    await _cluster_with(jp_fetch, worker_ids)
    sid = f"mn-pool-{os.getpid()}-{int(time.time())}"
    await _submit_to_pool(jp_fetch, sid, 0)
    try:
        job = await _job(jp_fetch, sid, TERMINAL)
        assert job["status"] == "SUCCEEDED", job
        assert job["pool"] == POOL
        ran_on = await _job_node(jp_fetch, sid)
        assert ran_on in worker_ids
        # Ray's own record of where the entrypoint ran agrees.
        info = await asyncio.to_thread(_ray_job_client(cluster_head).get_job_info, sid)
        assert info.driver_node_id == ran_on
    finally:
        await _forget(jp_fetch, sid)


class DeathWatch:
    """Polls Ray's GCS node table in a thread; records when ``node_id`` stops being ALIVE.

    ``dead_at`` is when the first reading that showed it dead came back; ``alive_until`` when
    the last reading that still showed it alive came back (Ray marked it dead in between).
    """

    def __init__(self, table: NodeTable, node_id: str, step_s: float = 0.02) -> None:
        self.table = table
        self.node_id = node_id
        self.step_s = step_s
        self.dead_at: float | None = None
        self.alive_until: float | None = None
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gcs-death-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                alive = self.table.alive().get(self.node_id)
            except Exception as err:  # noqa: BLE001 - a slow GCS reply: read again
                self.errors.append(f"{type(err).__name__}: {err}")
                continue
            if alive is False:
                self.dead_at = time.monotonic()
                return
            self.alive_until = time.monotonic()
            time.sleep(self.step_s)

    def wait(self, timeout_s: float) -> None:
        """Wait until the death is recorded (or ``timeout_s``), then stop watching."""
        self._thread.join(timeout_s)
        self._stop.set()
        self._thread.join(15)


async def test_a_killed_worker_is_dead_in_the_feed_and_its_job_ends_as_ray_says(
    jp_fetch, jp_ws_fetch, cluster_head, node_table, workers
):
    worker_ids = {w.node_id for w in workers}
    before = await _cluster_with(jp_fetch, worker_ids)
    sid = f"mn-kill-{os.getpid()}-{int(time.time())}"
    await _submit_to_pool(jp_fetch, sid, 600)
    try:
        await _job(jp_fetch, sid, {"RUNNING"} | TERMINAL)
        ran_on = await _job_node(jp_fetch, sid)
        victim = next(w for w in workers if w.node_id == ran_on)
        assert (await _job(jp_fetch, sid, {"RUNNING"} | TERMINAL))["status"] == "RUNNING"

        ws = await jp_ws_fetch("iog", "api", "v1", "cluster", "subscribe")
        watch: DeathWatch | None = None
        try:
            first = {"type": None}
            while first["type"] != "snapshot":
                first = json.loads(await asyncio.wait_for(ws.read_message(), 15))
            states = {n["node_id"]: n["state"] for n in first["data"]["nodes"]}
            assert states[victim.node_id] != "DEAD"

            # The machine dies: SIGKILL exactly its raylet, its agents and everything below them.
            doomed = _descendants(victim.pids)
            victim.pids = []  # gone for good: the fixture must not signal these pids (reused) again
            watch = DeathWatch(node_table, victim.node_id)
            killed_at = time.monotonic()
            for pid in doomed:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            dead_snapshot = None
            shown_at = None
            deadline = killed_at + 90
            while dead_snapshot is None:
                raw = await asyncio.wait_for(
                    ws.read_message(), max(0.1, deadline - time.monotonic())
                )
                received = time.monotonic()
                assert raw is not None, "websocket closed"
                message = json.loads(raw)
                if message["type"] != "snapshot":
                    continue
                node = next(
                    (n for n in message["data"]["nodes"] if n["node_id"] == victim.node_id), None
                )
                if node is not None and node["state"] == "DEAD":
                    dead_snapshot, shown_at = message["data"], received
        finally:
            ws.close()
            if watch is not None:
                watch.wait(30)  # the feed may show it a moment before this thread's next reading
        assert watch is not None
        assert watch.dead_at is not None and watch.alive_until is not None, watch.errors
        latency_s = shown_at - watch.dead_at
        print(
            f"\nSIGKILL -> Ray marks the node dead: {watch.dead_at - killed_at:.2f} s; "
            f"Ray dead -> websocket shows DEAD: {latency_s:.3f} s "
            f"(at most {shown_at - watch.alive_until:.3f} s)"
        )
        # Counted from the last moment Ray still said ALIVE: never flattering.
        assert shown_at - watch.alive_until <= REFRESH_INTERVAL_S + 1.0
        # The dead worker no longer counts: one CPU less, the pool down to the other worker.
        assert dead_snapshot["totals"]["CPU"] == before["totals"]["CPU"] - 1.0
        batch = next(p for p in dead_snapshot["pools"] if p["name"] == POOL)
        assert batch["num_nodes"] == 1 and victim.node_id not in batch["node_ids"]

        # The job that ran there ends; the server says what Ray's own client says.
        job = await _job(jp_fetch, sid, TERMINAL, timeout_s=90)
        client = _ray_job_client(cluster_head)
        ray_status = await asyncio.to_thread(client.get_job_status, sid)
        ray_info = await asyncio.to_thread(client.get_job_info, sid)
        assert job["status"] == str(getattr(ray_status, "value", ray_status))
        assert ray_status.is_terminal()
        assert job["status"] == "FAILED", job
        assert job["message"] == ray_info.message
        print(f"job after the kill: {job['status']}: {job['message'].splitlines()[0]}")
    finally:
        await _forget(jp_fetch, sid)
