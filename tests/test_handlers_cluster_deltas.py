"""``WS cluster/subscribe?deltas=1`` on a real Jupyter server, with the cluster's source faked.

No Ray: the server's monitor polls a snapshot the test sets (``fetch_cluster_status`` and
``build_snapshot`` are replaced in ``core.monitor``), so every change is the test's own. The
snapshot is the generated FakeClusterStatus fixture (benchmarks/fake_cluster.py).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from iog_jupyter.core import monitor as monitor_module
from iog_jupyter.core.cluster import build_snapshot, usage_by_node_id
from iog_jupyter.core.cluster_delta import DeltaFollower, apply_delta
from iog_jupyter.core.wire import ClusterDeltaMessage, ClusterSnapshot
from tests.fixtures import NO_RAY, server_config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from fake_cluster import make_fake_cluster_status  # noqa: E402


class Source:
    """The cluster the server's monitor sees: whatever snapshot the test set last."""

    def __init__(self) -> None:
        fake = make_fake_cluster_status(num_nodes=40, num_actors=1000, seed=5)
        self.snapshot = build_snapshot(
            fake.status, usage_by_node_id(fake.summary_reply), timestamp_ms=1000
        )

    def start_actor(self, index: int, cpus: float = 2.0) -> ClusterSnapshot:
        """An actor holding ``cpus`` starts on node ``index``, seen one poll later."""
        new = self.snapshot.model_copy(deep=True)
        new.timestamp_ms += 2000
        node = new.nodes[index]
        node.state = "ACTIVE"
        node.resources_available["CPU"] -= cpus
        new.available["CPU"] -= cpus
        next(p for p in new.pools if p.name == node.pool).available["CPU"] -= cpus
        self.snapshot = new
        return new


@pytest.fixture
def source(monkeypatch) -> Source:
    source = Source()
    monkeypatch.setattr(monitor_module, "fetch_cluster_status", lambda conn: source)
    monkeypatch.setattr(
        monitor_module, "build_snapshot", lambda status, usage, config: status.snapshot
    )
    return source


@pytest.fixture
def jp_server_config(source: Source) -> dict:
    """No Ray anywhere; the fake source is in place before the server starts polling."""
    return server_config(ray_address=NO_RAY, refresh_interval_s=60.0, include_node_usage=False)


def _monitor(jp_serverapp) -> Any:
    (app,) = jp_serverapp.extension_manager.extension_apps["iog_jupyter"]
    return app.monitor


async def _read(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.read_message(), 10))


def _worker(snapshot: ClusterSnapshot) -> int:
    return next(i for i, n in enumerate(snapshot.nodes) if not n.is_head and n.state != "DEAD")


async def test_snapshot_then_deltas_then_resync(jp_ws_fetch, jp_serverapp, source):
    ws = await jp_ws_fetch("iog", "api", "v1", "cluster", "subscribe", params={"deltas": "1"})
    first = await _read(ws)
    assert first["type"] == "snapshot"
    seq = first["seq"]
    assert seq >= 1
    held = ClusterSnapshot.model_validate(first["data"])
    assert held.model_dump() == source.snapshot.model_dump()

    monitor = _monitor(jp_serverapp)
    for step in range(1, 3):
        changed = source.start_actor(_worker(source.snapshot))
        await monitor.poll_once()
        message = await _read(ws)
        assert message["type"] == "delta"
        assert message["seq"] == seq + step
        delta = ClusterDeltaMessage.model_validate(message)
        assert len(delta.nodes_changed) == 1 and not delta.nodes_added
        held = apply_delta(held, delta)
        assert held.model_dump() == changed.model_dump()

    # A client that lost track asks again: the whole snapshot, numbered with the last change.
    ws.write_message(json.dumps({"type": "resync"}))
    again = await _read(ws)
    assert again["type"] == "snapshot" and again["seq"] == seq + 2
    assert again["data"] == json.loads(source.snapshot.model_dump_json())

    # No change, no message: the next one is the next change's delta.
    await monitor.poll_once()
    source.start_actor(_worker(source.snapshot))
    await monitor.poll_once()
    last = await _read(ws)
    assert (last["type"], last["seq"]) == ("delta", seq + 3)
    assert monitor.deltas_sent >= 3
    ws.close()


async def test_a_burst_never_leaves_a_gap(jp_ws_fetch, jp_serverapp, source):
    """Changes faster than the socket drains: queued deltas fold into one whole snapshot."""
    ws = await jp_ws_fetch("iog", "api", "v1", "cluster", "subscribe", params={"deltas": "1"})
    follower = DeltaFollower()
    assert follower.receive(await _read(ws)) is None
    monitor = _monitor(jp_serverapp)
    for _ in range(20):  # no await in between: the handler is still writing the first one
        monitor.publish(source.start_actor(_worker(source.snapshot), 0.5))
    kinds = []
    while follower.seq != monitor.seq:
        message = await _read(ws)
        kinds.append(message["type"])
        assert follower.receive(message) is None, "no gap, no resync"
    assert follower.snapshot.model_dump() == source.snapshot.model_dump()
    assert "snapshot" in kinds and len(kinds) < 20
    ws.close()


async def test_without_deltas_every_change_is_a_whole_snapshot(jp_ws_fetch, jp_serverapp, source):
    ws = await jp_ws_fetch("iog", "api", "v1", "cluster", "subscribe")
    first = await _read(ws)
    assert first["type"] == "snapshot"
    changed = source.start_actor(_worker(source.snapshot))
    await _monitor(jp_serverapp).poll_once()
    message = await _read(ws)
    assert message["type"] == "snapshot" and message["seq"] == first["seq"] + 1
    assert message["data"] == json.loads(changed.model_dump_json())
    # resync works for them too (and refresh still polls).
    ws.write_message(json.dumps({"type": "resync"}))
    assert (await _read(ws))["seq"] == message["seq"]
    ws.close()


async def test_a_bad_deltas_value_is_400(jp_ws_fetch, source):
    with pytest.raises(HTTPClientError) as info:
        await jp_ws_fetch("iog", "api", "v1", "cluster", "subscribe", params={"deltas": "maybe"})
    assert info.value.code == 400
