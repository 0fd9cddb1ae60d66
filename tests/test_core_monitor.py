"""ClusterMonitor: one poller whatever the number of subscribers, change-only pushes, backoff."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iog_jupyter.core.cluster import get_cluster_snapshot
from iog_jupyter.core.connection import RayConnection
from iog_jupyter.core.local_head import free_port
from iog_jupyter.core.monitor import ClusterMonitor

DRIVER = Path(__file__).parent / "drivers" / "hold_resources.py"


async def test_backoff_grows_and_status_is_pushed_once(monkeypatch):
    conn = RayConnection(address=f"127.0.0.1:{free_port()}", connect_timeout_s=0.2)
    monitor = ClusterMonitor(conn, refresh_interval_s=0.1, max_backoff_s=0.8)
    messages: list[tuple[str, str]] = []
    monitor.subscribe(lambda kind, msg: messages.append((kind, msg)))
    delays = []
    for _ in range(5):
        assert await monitor.poll_once() is None
        delays.append(monitor.next_delay_s())
    assert delays == [0.2, 0.4, 0.8, 0.8, 0.8]
    assert [kind for kind, _ in messages] == ["status"]
    status = json.loads(messages[0][1])
    assert status["connected"] is False
    assert conn.address in status["message"]
    assert monitor.snapshot is None and monitor.ray_calls == 5
    await monitor.stop()


@pytest.mark.ray
async def test_ray_calls_do_not_grow_with_subscribers(ray_head):
    monitor = ClusterMonitor(RayConnection(), refresh_interval_s=0.2, include_usage=False)
    monitor.start()
    await monitor.poll_once()

    async def calls_in_window(seconds: float) -> int:
        start = monitor.ray_calls
        await asyncio.sleep(seconds)
        return monitor.ray_calls - start

    one = [monitor.subscribe(lambda kind, msg: None)]
    with_one = await calls_in_window(2.0)
    many = [monitor.subscribe(lambda kind, msg: None) for _ in range(49)]
    assert monitor.num_subscribers == 50
    with_fifty = await calls_in_window(2.0)
    for unsubscribe in one + many:
        unsubscribe()
    await monitor.stop()
    assert 5 <= with_one <= 12
    assert abs(with_fifty - with_one) <= 2


@pytest.mark.ray
async def test_pushes_only_changes_and_sees_demands(ray_head):
    monitor = ClusterMonitor(RayConnection(), refresh_interval_s=0.2, include_usage=False)
    snapshots: list[dict] = []
    monitor.subscribe(
        lambda kind, msg: snapshots.append(json.loads(msg)["data"]) if kind == "snapshot" else None
    )
    for _ in range(5):
        await monitor.poll_once()
    assert monitor.ray_calls == 5
    assert len(snapshots) == 1, "an idle cluster must not be re-pushed on every poll"
    assert len(monitor.history) == 5
    # Other tests may have left demands on the shared head (a stopped job that never started
    # stays PENDING in Ray); compare against what was there before the driver.
    baseline_infeasible = sum(d["count"] for d in snapshots[-1]["infeasible_demands"])

    driver = subprocess.Popen(
        [sys.executable, str(DRIVER), ray_head.address],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert driver.stdout.readline().strip() == "READY"
        deadline = time.monotonic() + 30
        data = None
        while time.monotonic() < deadline:
            await monitor.poll_once()
            data = snapshots[-1]
            total = sum(d["count"] for d in data["infeasible_demands"])
            if total > baseline_infeasible and data["pending_demands"]:
                break
            await asyncio.sleep(0.3)
        assert data is not None
        assert data["available"]["CPU"] == 0.0
        infeasible = data["infeasible_demands"]
        assert sum(d["count"] for d in infeasible) > baseline_infeasible
        gpu = [d for d in infeasible if d["bundle"].get("GPU") == 8.0]
        assert gpu and all(d["infeasible"] for d in gpu)
        assert "infeasible" in gpu[0]["reason"] and "GPU" in gpu[0]["reason"]
        pending = data["pending_demands"]
        assert any(d["bundle"] == {"CPU": 1.0} and not d["infeasible"] for d in pending)
        assert "waiting" in pending[0]["reason"]
    finally:
        driver.kill()
        driver.wait()
    # Once the driver is gone its resources come back, and that change is pushed too.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await monitor.poll_once()
        after = sum(d["count"] for d in snapshots[-1]["infeasible_demands"])
        if snapshots[-1]["available"]["CPU"] == 2.0 and after == baseline_infeasible:
            break
        await asyncio.sleep(0.3)
    assert snapshots[-1]["available"]["CPU"] == 2.0
    assert sum(d["count"] for d in snapshots[-1]["infeasible_demands"]) == baseline_infeasible
    await monitor.stop()


@pytest.mark.ray
def test_snapshot_usage_comes_from_the_dashboard(ray_head):
    snapshot = get_cluster_snapshot(RayConnection())
    head = next(n for n in snapshot.nodes if n.is_head)
    assert head.usage is not None
    assert head.usage.memory_total_bytes and head.usage.memory_total_bytes > 0
    assert head.usage.cpu_percent is not None
